// The state directory: console table (viewer group only), per-user views, and state.json (what apply did).
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { statePaths } from '../paths.js';
import type { Backend } from '../plan/plan.js';
import { readIfExists, statIfExists, writeAtomic, type FileSpec } from '../system/fs.js';
import type { Step } from './step.js';
import type { ViewerOriginal } from './viewer.js';

/** state.json: written last, only after every other step succeeded. */
export interface StateFile {
  version: 1;
  backend: Backend;
  appliedAt: string;
  /** sha256 of the rendered firewall and of the kernel's listing right after loading it. */
  firewall: { rendered: string; live: string };
  /** The viewer as it was before consolegate first locked it. */
  viewer: ViewerOriginal | null;
}

/** Reads state.json, or null before the first apply. */
export async function readState(stateDir: string): Promise<StateFile | null> {
  const text = await readIfExists(statePaths(stateDir).state);
  return text === null ? null : (JSON.parse(text) as StateFile);
}

interface FileSnapshot {
  file: string;
  content: string | null;
  spec: FileSpec | null;
}

async function snapshotFile(file: string): Promise<FileSnapshot> {
  return { file, content: await readIfExists(file), spec: await statIfExists(file) };
}

async function restoreFile(s: FileSnapshot): Promise<void> {
  if (s.content === null || s.spec === null) await rm(s.file, { force: true });
  else await writeAtomic(s.file, s.content, s.spec);
}

/** What the state step writes. */
export interface StateContent {
  stateDir: string;
  table: string;
  viewerGid: number;
  views: Map<number, { gid: number; content: string }>;
  /** Builds state.json once the firewall is loaded (it records the live listing). */
  state: () => Promise<StateFile>;
}

/** Writes table, views and state.json; stale views of users no longer entitled are removed. */
export function stateStep(c: StateContent): Step<FileSnapshot[]> {
  const p = statePaths(c.stateDir);
  const viewFile = (uid: number) => path.join(p.views, `${uid}.json`);
  return {
    name: 'state directory',
    snapshot: async () => {
      const existing = await listViews(p.views);
      const files = [p.table, p.state, ...new Set([...existing, ...[...c.views.keys()].map(viewFile)])];
      return Promise.all(files.map(snapshotFile));
    },
    apply: async () => {
      await mkdir(p.views, { recursive: true, mode: 0o755 });
      await writeAtomic(p.table, c.table, { mode: 0o640, uid: 0, gid: c.viewerGid });
      for (const [uid, v] of c.views) await writeAtomic(viewFile(uid), v.content, { mode: 0o400, uid, gid: v.gid }, { fsync: false });
      const keep = new Set([...c.views.keys()].map(viewFile));
      for (const f of await listViews(p.views)) if (!keep.has(f)) await rm(f, { force: true });
      await writeAtomic(p.state, JSON.stringify(await c.state(), null, 2) + '\n', { mode: 0o600, uid: 0, gid: 0 });
    },
    rollback: async (snapshots) => {
      for (const s of snapshots) await restoreFile(s);
    },
  };
}

/** Paths of the view files present now. */
export async function listViews(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => /^\d+\.json$/.test(n)).map((n) => path.join(dir, n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
