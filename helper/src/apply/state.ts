// The state directory: console table (viewer group only), per-user views, and state.json (what apply did).
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { statePaths } from '../paths.js';
import type { Backend } from '../plan/plan.js';
import { readIfExists, readFileStateSync, replaceSync, sameState, statIfExists, writeAtomic, type FileSpec, type FileState } from '../system/fs.js';
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

/** The step's snapshot: table and state.json (fsynced files), and every view as it was, by path. */
interface StateSnapshot {
  files: FileSnapshot[];
  views: Map<string, FileState | null>;
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
export function stateStep(c: StateContent): Step<StateSnapshot> {
  const p = statePaths(c.stateDir);
  const viewFile = (uid: number) => path.join(p.views, `${uid}.json`);
  let before: StateSnapshot | null = null;
  return {
    name: 'state directory',
    snapshot: async () => {
      const views = new Map<string, FileState | null>();
      for (const f of [...(await listViews(p.views)), ...[...c.views.keys()].map(viewFile)]) if (!views.has(f)) views.set(f, readFileStateSync(f));
      return (before = { files: await Promise.all([p.table, p.state].map(snapshotFile)), views });
    },
    apply: async () => {
      await mkdir(p.views, { recursive: true, mode: 0o755 });
      await writeAtomic(p.table, c.table, { mode: 0o640, uid: 0, gid: c.viewerGid });
      // Views are written without fsync: they are convenience, and apply rewrites them on the next run.
      for (const [uid, v] of c.views) {
        const file = viewFile(uid);
        const spec = { mode: 0o400, uid, gid: v.gid };
        // The snapshot has read every view this loop writes (absent ones as null); read only without one.
        const now = before?.views.has(file) ? before.views.get(file)! : readFileStateSync(file);
        if (!sameState(now, v.content, spec)) replaceSync(file, v.content, spec);
      }
      const keep = new Set([...c.views.keys()].map(viewFile));
      for (const f of await listViews(p.views)) if (!keep.has(f)) rmSync(f, { force: true });
      await writeAtomic(p.state, JSON.stringify(await c.state(), null, 2) + '\n', { mode: 0o600, uid: 0, gid: 0 });
    },
    rollback: async (snapshot) => {
      for (const s of snapshot.files) await restoreFile(s);
      for (const [file, was] of snapshot.views) {
        if (was === null) rmSync(file, { force: true });
        // A view too large to have been read was not ours: it stays replaced.
        else if (was.content !== null && !sameState(readFileStateSync(file), was.content, was.spec)) replaceSync(file, was.content, was.spec);
      }
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
