// `host plan|apply|status|remove --server NAME`: the policy applied on the hypervisor (docs/host.md).
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { acquireLock } from '../apply/lock.js';
import { ConsolegateError, messageOf } from '../errors.js';
import { virshReader, type DomainReader } from '../host/libvirt.js';
import { hostModel, vmsNeedingLibvirt, type Domains, type HostModel } from '../host/model.js';
import { hostScript, listHost, listingFingerprint, loadHost, removeHost, renderedFingerprint, type HostListing } from '../host/nft.js';
import { HOST_TABLES, renderDenyOnly, renderHost, type HostTables } from '../host/render.js';
import { hostStateFile, readHostState, writeHostState } from '../host/state.js';
import { loadPolicy } from '../policy/load.js';
import { checkId } from '../policy/names.js';
import type { Context, Outcome } from './context.js';

/** The host subcommands. */
export const HOST_ACTIONS = ['plan', 'apply', 'status', 'remove'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

/** What cli.ts passes besides the context. */
export interface HostOptions {
  action: string | undefined;
  server: string | undefined;
  /** The virsh program (CONSOLEGATE_VIRSH; tests point it at a recorded domain). */
  virsh?: string;
  /** Replaces virsh entirely (unit tests). */
  readDomain?: DomainReader;
}

/** Runs one host subcommand. */
export async function host(ctx: Context, opts: HostOptions): Promise<Outcome> {
  const action = opts.action as HostAction | undefined;
  if (action === undefined || !HOST_ACTIONS.includes(action)) {
    throw new ConsolegateError('USAGE', action === undefined ? `\`host\` needs one of ${HOST_ACTIONS.join(', ')}` : `unknown host command \`${action}\``);
  }
  if (action === 'remove') return removeAll(ctx);
  const server = opts.server;
  if (server === undefined || server === '') throw new ConsolegateError('USAGE', `\`host ${action}\` needs --server NAME (or CONSOLEGATE_SERVER): the policy's id of this hypervisor`);
  const bad = checkId(server);
  if (bad !== null) throw new ConsolegateError('USAGE', `--server \`${server.slice(0, 80)}\` ${bad}`);
  const reader = opts.readDomain ?? virshReader(ctx.exec, opts.virsh);
  if (action === 'apply') return applyHost(ctx, server, reader);
  const prepared = await prepareHost(ctx, server, reader);
  const live = await listHost(ctx.exec);
  const diffs = await differences(ctx, prepared, live);
  return action === 'plan' ? showPlan(ctx, prepared, live, diffs) : showStatus(ctx, prepared, diffs);
}

interface Prepared {
  model: HostModel;
  tables: HostTables;
}

/** Policy → libvirt answers (only for VMs whose port is incomplete) → model → rendered tables. */
async function prepareHost(ctx: Context, server: string, reader: DomainReader): Promise<Prepared> {
  const policy = await loadPolicy(ctx.paths.policy, ctx.paths.policyDir);
  const domains: Domains = new Map();
  const wanted = vmsNeedingLibvirt(policy, server);
  // A few at a time: 200 VMs would otherwise start 200 virsh processes at once.
  for (let i = 0; i < wanted.length; i += 8) {
    const batch = wanted.slice(i, i + 8);
    const answers = await Promise.all(batch.map((w) => reader(w.domain)));
    batch.forEach((w, j) => domains.set(w.vm, answers[j]!));
  }
  const model = hostModel(policy, server, domains);
  return { model, tables: renderHost(model) };
}

/** One difference between the live tables and the policy. */
interface Difference {
  system: 'firewall';
  message: string;
}

async function differences(ctx: Context, p: Prepared, live: HostListing): Promise<Difference[]> {
  const out: Difference[] = [];
  const add = (message: string) => out.push({ system: 'firewall', message });
  const state = await readHostState(ctx.paths.stateDir);
  if (live.inet === null) add(`nft table ${HOST_TABLES.inet} is missing`);
  if (live.bridge === null) add(`nft table ${HOST_TABLES.bridge} is missing`);
  if (live.inet === null || live.bridge === null) return out;
  if (state === null || state.server !== p.model.server) {
    add(`the host tables were not loaded by this policy's last \`host apply --server ${p.model.server}\``);
    return out;
  }
  if (state.live !== listingFingerprint(live)) add('the host tables were changed outside consolegate');
  if (state.rendered !== renderedFingerprint(p.tables)) add('rules differ from the policy (policy, libvirt ports or this server\'s VMs changed)');
  return out;
}

function summary(m: HostModel): string {
  return `server ${m.server}: ${m.ports.length} console port(s), ${m.clientsV4.length + m.clientsV6.length} client network(s), ${m.guests.length} guest port(s) bound`;
}

function showPlan(ctx: Context, p: Prepared, live: HostListing, diffs: Difference[]): Outcome {
  const script = diffs.length > 0 ? hostScript(live, p.tables) : null;
  if (ctx.json) ctx.out.json({ changes: diffs, warnings: p.model.warnings, ports: p.model.ports, guests: p.model.guests, script });
  else {
    for (const w of p.model.warnings) ctx.out.warn(`warning: ${w}`);
    ctx.out.line(diffs.length === 0 ? `nothing to do (${summary(p.model)})` : `changes pending (${summary(p.model)}):`);
    for (const d of diffs) ctx.out.line(`  ${d.system}: ${d.message}`);
    if (script !== null) ctx.out.line(`\nnft script that apply would load in one transaction:\n${script}`);
  }
  return diffs.length === 0 ? 'ok' : 'changes-pending';
}

function showStatus(ctx: Context, p: Prepared, diffs: Difference[]): Outcome {
  if (ctx.json) ctx.out.json({ inSync: diffs.length === 0, drift: diffs, warnings: p.model.warnings, ports: p.model.ports, guests: p.model.guests.map((g) => g.vm) });
  else {
    ctx.out.line(diffs.length === 0 ? `in sync (${summary(p.model)})` : 'drift:');
    for (const d of diffs) ctx.out.line(`  ${d.system}: ${d.message}`);
    for (const w of p.model.warnings) ctx.out.line(`  not bound: ${w}`);
  }
  return diffs.length === 0 ? 'ok' : 'drift';
}

function requireRoot(action: string): void {
  if (process.geteuid?.() !== 0) throw new ConsolegateError('NOT_ROOT', `\`host ${action}\` changes the hypervisor's firewall: run it as root`);
}

async function withHostLock<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o755 });
  const lock = await acquireLock(ctx.exec, path.join(ctx.paths.stateDir, 'host.lock'));
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * Loads both tables in one transaction. A failed load changes nothing (nft applies all or nothing), so the
 * previous rules stay; if there were none, the console ports are closed to everyone (deny-only) rather than
 * left open, and the error says so.
 */
async function applyHost(ctx: Context, server: string, reader: DomainReader): Promise<Outcome> {
  requireRoot('apply');
  const started = Date.now();
  return withHostLock<Outcome>(ctx, async () => {
    const p = await prepareHost(ctx, server, reader);
    for (const w of p.model.warnings) ctx.out.warn(`warning: ${w}`);
    const live = await listHost(ctx.exec);
    if ((await differences(ctx, p, live)).length === 0) {
      if (ctx.json) ctx.out.json({ applied: false, upToDate: true, ports: p.model.ports, guests: p.model.guests.length, warnings: p.model.warnings, ms: Date.now() - started });
      else ctx.out.line(`up to date: ${summary(p.model)}`);
      return 'ok';
    }
    try {
      await loadHost(ctx.exec, live, p.tables);
    } catch (err) {
      let closed = '';
      if (live.inet === null) {
        try {
          await loadHost(ctx.exec, live, { inet: renderDenyOnly(p.model), bridge: null });
          closed = '; the console ports are closed to every client until host apply succeeds';
        } catch (e) {
          closed = `; the deny-only rules could not be loaded either: ${messageOf(e)}`;
        }
      } else closed = '; the previous host rules are still in force';
      throw new ConsolegateError('APPLY_FAILED', `host apply failed: ${messageOf(err)}${closed}`, { cause: err });
    }
    const after = await listHost(ctx.exec);
    await writeHostState(ctx.paths.stateDir, { version: 1, server, appliedAt: new Date().toISOString(), rendered: renderedFingerprint(p.tables), live: listingFingerprint(after) });
    const ms = Date.now() - started;
    if (ctx.json) ctx.out.json({ applied: true, ports: p.model.ports, guests: p.model.guests.length, warnings: p.model.warnings, ms });
    else ctx.out.line(`applied: ${summary(p.model)}, ${ms} ms`);
    return 'ok';
  });
}

/** Deletes our two tables and host.json; works without a policy and touches nothing else. */
async function removeAll(ctx: Context): Promise<Outcome> {
  requireRoot('remove');
  return withHostLock<Outcome>(ctx, async () => {
    const removed = await removeHost(ctx.exec);
    await rm(hostStateFile(ctx.paths.stateDir), { force: true });
    if (ctx.json) ctx.out.json({ removed });
    else ctx.out.line(removed ? `removed nft tables ${HOST_TABLES.inet} and ${HOST_TABLES.bridge}` : 'nothing to remove');
    return 'ok';
  });
}
