// The firewall in force, saved as data (firewall.json, root-only): what boot and `watch` load without reading the
// policy, and the "previous" side of fail-closed (plan/fail-closed.ts).
import { rename, rm } from 'node:fs/promises';
import { ConsolegateError, messageOf } from '../errors.js';
import type { FirewallModel } from '../plan/firewall-model.js';
import { modelText, sha256 } from '../plan/digest.js';
import { renderNft } from '../plan/nft.js';
import { restoreScript } from '../plan/nft-replace.js';
import type { Backend } from '../plan/plan.js';
import { statePaths } from '../paths.js';
import type { Exec } from '../system/exec.js';
import { readIfExists, writeAtomic, writeTemp } from '../system/fs.js';
import { loadChain } from './iptables.js';
import { nftLoad, nftReplace } from './nft.js';
import type { Step } from './step.js';

/** firewall.json: the rules in force and how they got there. */
export interface SavedFirewall {
  version: 1;
  backend: Backend;
  savedAt: string;
  /** `applied`: a successful apply; `fail-closed`: what a failed apply left (see `error`). */
  reason: 'applied' | 'fail-closed';
  error?: string;
  model: FirewallModel;
}

const SPEC = { mode: 0o600, uid: 0, gid: 0 };

/** Reads firewall.json, or null when nothing was saved (or it is unreadable: then nothing is known). */
export async function readSaved(stateDir: string): Promise<SavedFirewall | null> {
  const text = await readIfExists(statePaths(stateDir).firewall).catch(() => null);
  return text === null ? null : parseSaved(text);
}

/** What firewall.json says of itself, without its model (which is megabytes at 100,000 entitlements). */
export type SavedHead = Omit<SavedFirewall, 'model'>;

/** firewall.json's text parsed and checked as readSaved does it. */
function parseSaved(text: string): SavedFirewall | null {
  try {
    const saved = JSON.parse(text) as SavedFirewall;
    return saved.version === 1 && (saved.backend === 'nftables' || saved.backend === 'iptables') && Array.isArray(saved.model?.groups) ? saved : null;
  } catch {
    return null;
  }
}

// writeSaved puts `model` last, and a JSON string cannot hold the raw characters `,"model":` (its quotes would be
// escaped), so the first such run ends the head.
const MODEL_KEY = ',"model":';

/** The fields before the model in firewall.json's text, or null as readSaved would say. */
function headOf(text: string): SavedHead | null {
  const end = text.indexOf(MODEL_KEY);
  if (end < 0) return parseSaved(text);
  try {
    const head = JSON.parse(`${text.slice(0, end)}}`) as SavedHead;
    return head.version === 1 && (head.backend === 'nftables' || head.backend === 'iptables') ? head : null;
  } catch {
    return null;
  }
}

/** firewall.json's fields before the model, without parsing the model. */
export async function readSavedHead(stateDir: string): Promise<SavedHead | null> {
  const text = await readIfExists(statePaths(stateDir).firewall).catch(() => null);
  return text === null ? null : headOf(text);
}

/** True when firewall.json records a successful apply for `backend` of the model whose sha256 is `modelSha` (PlanDigest.model). */
export async function savedIsCurrent(stateDir: string, backend: Backend, modelSha: string): Promise<boolean> {
  const text = await readIfExists(statePaths(stateDir).firewall).catch(() => null);
  const at = text?.indexOf(MODEL_KEY) ?? -1;
  if (text === null || text === undefined || at < 0 || !text.endsWith('}\n')) return false;
  if (sha256(text.slice(at + MODEL_KEY.length, -2)) !== modelSha) return false;
  const head = headOf(text);
  return head !== null && head.reason === 'applied' && head.backend === backend;
}

/** firewall.json's text: the head, then the model last (headOf and savedIsCurrent rely on that). */
function savedText(saved: Omit<SavedFirewall, 'version' | 'savedAt'>): string {
  const { model, ...rest } = saved;
  const head: SavedHead = { version: 1, savedAt: new Date().toISOString(), ...rest };
  return `${JSON.stringify(head).slice(0, -1)}${MODEL_KEY}${modelText(model)}}\n`;
}

/** Writes firewall.json atomically (temp file, fsync, rename). */
export async function writeSaved(stateDir: string, saved: Omit<SavedFirewall, 'version' | 'savedAt'>): Promise<void> {
  await writeAtomic(statePaths(stateDir).firewall, savedText(saved), SPEC);
}

/** The transaction step that records a successful apply's model; rollback puts the previous file back. */
export function savedStep(stateDir: string, backend: Backend, model: FirewallModel): Step<string | null> {
  const file = statePaths(stateDir).firewall;
  // Megabytes at 100,000 entitlements: written (and fsynced) under a temp name while the firewall loads.
  let staged: string | null = null;
  const stage = () => writeTemp(file, savedText({ backend, reason: 'applied', model }), SPEC);
  return {
    name: 'saved firewall',
    snapshot: () => readIfExists(file),
    stage: async () => {
      staged = await stage();
    },
    discard: async () => {
      if (staged !== null) await rm(staged, { force: true });
    },
    apply: async () => {
      await rename(staged ?? (staged = await stage()), file);
    },
    rollback: async (previous) => {
      if (previous !== null) await writeAtomic(file, previous, SPEC);
    },
  };
}

/** Loads a model into the kernel for `backend`, in place; nft first tries without listing the live table. */
export async function loadModel(run: Exec, backend: Backend, model: FirewallModel): Promise<void> {
  if (backend === 'iptables') {
    await loadChain(run, 4, model);
    await loadChain(run, 6, model);
    return;
  }
  const table = renderNft(model);
  try {
    await nftLoad(run, restoreScript(table));
  } catch {
    // A live object declared differently (a foreign re-creation): read what is there and replace it exactly.
    await nftReplace(run, table);
  }
}

/** How `restoreSaved` went: nothing saved, or what was restored and the time (ms from the call) each stage finished. */
export type RestoreResult = { result: 'none' } | { result: 'restored'; saved: SavedFirewall; closedMs: number | null; ms: number };

/**
 * Loads the saved rules without reading the policy, NSS or DNS: the early boot unit and `watch` call this.
 * `closeFirst` (boot only): load the saved model without its grants before the whole model, so the protected ports
 * are closed within milliseconds even when the full load of 100,000 elements takes seconds. Never for `watch`:
 * with every owned packet judged, that first stage would reset the open consoles of entitled users.
 * Does not take the apply lock; the caller decides.
 */
export async function restoreSaved(run: Exec, stateDir: string, opts: { closeFirst: boolean } = { closeFirst: false }): Promise<RestoreResult> {
  const started = performance.now();
  const saved = await readSaved(stateDir);
  if (saved === null) return { result: 'none' };
  let closedMs: number | null = null;
  try {
    if (opts.closeFirst && saved.model.groups.length > 0) {
      await loadModel(run, saved.backend, { ...saved.model, groups: [] });
      closedMs = performance.now() - started;
    }
    await loadModel(run, saved.backend, saved.model);
  } catch (err) {
    throw new ConsolegateError('APPLY_FAILED', `restoring the saved ${saved.backend} rules from ${statePaths(stateDir).firewall}: ${messageOf(err)}`, { cause: err });
  }
  return { result: 'restored', saved, closedMs, ms: performance.now() - started };
}
