// The state directory: console table (root only), per-user views (root-owned, their user reads them through an
// ACL), and state.json (what apply did).
import { rmSync } from 'node:fs';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { statePaths } from '../paths.js';
import type { Backend } from '../plan/plan.js';
import type { Exec } from '../system/exec.js';
import { readIfExists, sameState, statIfExists, writeAtomic, type FileSpec } from '../system/fs.js';
import type { Step } from './step.js';
import { readAcls, readView, VIEW_SPEC, viewAcl, viewFile, viewIsCurrent, writeViews, type ViewState, type ViewWrite } from './view-files.js';
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

/** The step's snapshot: table and state.json (fsynced files), and every view as it was (content, owner, ACL). */
interface StateSnapshot {
  files: FileSnapshot[];
  views: Map<string, ViewState | null>;
}

/** What the state step writes. */
export interface StateContent {
  /** Runs getfacl/setfacl for the views' ACLs. */
  exec: Exec;
  stateDir: string;
  table: string;
  views: Map<number, { content: string }>;
  /** Builds state.json once the firewall is loaded (it records the live listing). */
  state: () => Promise<StateFile>;
}

/** The table's owner and mode: root only (open-console reads it as root; nothing of it is the viewer group's). */
export const TABLE_SPEC = { mode: 0o600, uid: 0, gid: 0 } as const;

/** Writes table, views and state.json; stale views of users no longer entitled are removed. */
export function stateStep(c: StateContent): Step<StateSnapshot> {
  const p = statePaths(c.stateDir);
  let before: StateSnapshot | null = null;
  return {
    name: 'state directory',
    snapshot: async () => {
      const acls = await readAcls(c.exec, p.views);
      const views = new Map<string, ViewState | null>();
      for (const f of [...(await listViews(p.views)), ...[...c.views.keys()].map((uid) => viewFile(p.views, uid))]) if (!views.has(f)) views.set(f, readView(f, acls));
      return (before = { files: await Promise.all([p.table, p.state].map(snapshotFile)), views });
    },
    apply: async () => {
      await mkdir(p.views, { recursive: true, mode: 0o755 });
      await chmod(p.views, 0o755);
      await writeAtomic(p.table, c.table, TABLE_SPEC);
      const acls = before === null ? await readAcls(c.exec, p.views) : null;
      const writes: ViewWrite[] = [];
      for (const [uid, v] of c.views) {
        const file = viewFile(p.views, uid);
        // The snapshot has read every view this loop writes (absent ones as null); read only without one.
        const now = before?.views.has(file) ? before.views.get(file)! : readView(file, acls ?? new Map());
        if (!viewIsCurrent(now, uid, v.content)) writes.push({ file, content: v.content, spec: VIEW_SPEC, acl: viewAcl(uid) });
      }
      await writeViews(c.exec, writes);
      const keep = new Set([...c.views.keys()].map((uid) => viewFile(p.views, uid)));
      for (const f of await listViews(p.views)) if (!keep.has(f)) rmSync(f, { force: true });
      await writeAtomic(p.state, JSON.stringify(await c.state(), null, 2) + '\n', { mode: 0o600, uid: 0, gid: 0 });
    },
    rollback: async (snapshot) => {
      for (const s of snapshot.files) await restoreFile(s);
      const acls = await readAcls(c.exec, p.views);
      const writes: ViewWrite[] = [];
      for (const [file, was] of snapshot.views) {
        if (was === null) rmSync(file, { force: true });
        // A view too large (or too busy) to have been read was not ours: it stays replaced. Unchanged ones stay.
        else if (was.file.content !== null && !sameView(readView(file, acls), was)) writes.push({ file, content: was.file.content, spec: was.file.spec, acl: was.acl });
      }
      await writeViews(c.exec, writes);
    },
  };
}

function sameView(now: ViewState | null, was: ViewState): boolean {
  return now !== null && was.file.content !== null && sameState(now.file, was.file.content, was.file.spec) && now.acl.join('\n') === was.acl.join('\n');
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
