// The viewer lock: root:<group>, mode 0750; dpkg-statoverride where dpkg owns the file, so upgrades keep it.
import { statSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import { hasCommand, mustExec, type Exec } from '../system/exec.js';
import { statIfExists, type FileSpec } from '../system/fs.js';
import type { Step } from './step.js';

/** How the viewer was before we locked it, kept in state.json so `remove` can restore it exactly. */
export interface ViewerOriginal {
  path: string;
  spec: FileSpec;
  /** A statoverride that existed before ours (`owner group mode`), or null. */
  override: string | null;
  /** Whether we registered a statoverride. */
  usesStatoverride: boolean;
}

/** Creates the viewer group as a system group when it does not exist; users are never added to it. */
export async function ensureGroup(run: Exec, group: string): Promise<boolean> {
  const r = await run(['getent', 'group', group]);
  if (r.code === 0) return false;
  await mustExec(run, ['groupadd', '--system', group]);
  return true;
}

/**
 * Whether the file belongs to a dpkg package (then statoverride is the way that survives upgrades). dpkg-query is
 * started before this returns: apply asks while it renders, which takes the main thread for a second or so.
 */
export async function dpkgOwns(run: Exec, file: string): Promise<boolean> {
  // A dpkg-query that cannot start (not a dpkg system) answers no.
  const query = run(['dpkg-query', '--search', file]).then((r) => r.code === 0, () => false);
  return (await hasCommand('dpkg-statoverride')) && (await query);
}

/** dpkgOwns' answer for `path`, and the state of dpkg's database it was given in (dpkgDatabase). */
export interface DpkgAnswer {
  path: string;
  database: string;
  owns: boolean;
}

// dpkg rewrites its status file (a new inode) with every install, upgrade and removal, and the diversions file
// with every diversion: what `dpkg-query --search` answers from changes only with one of them.
const DPKG_DATABASE = ['/var/lib/dpkg/status', '/var/lib/dpkg/diversions'];

/** The inode, ctime and size of dpkg's status and diversions files ('' for one that is missing). */
export function dpkgDatabase(files = DPKG_DATABASE): string {
  const stampOf = (f: string): string => {
    try {
      const st = statSync(f, { bigint: true });
      return `${st.ino}:${st.ctimeNs}:${st.size}`;
    } catch {
      return '';
    }
  };
  return files.map(stampOf).join('/');
}

/**
 * Whether dpkg owns `path`: `recorded` (the plan cache's) while the path and dpkg's database are the same, else
 * asked, with dpkg-query started before this returns (dpkgOwns).
 */
export function dpkgAnswer(run: Exec, path: string, recorded: DpkgAnswer | null, databaseFiles = DPKG_DATABASE): Promise<DpkgAnswer> {
  const database = dpkgDatabase(databaseFiles);
  if (recorded !== null && recorded.path === path && recorded.database === database && typeof recorded.owns === 'boolean') return Promise.resolve(recorded);
  return dpkgOwns(run, path).then((owns) => ({ path, database, owns }));
}

/** The statoverride registered for a path (`owner group mode`), or null. */
export async function readOverride(run: Exec, file: string): Promise<string | null> {
  const r = await run(['dpkg-statoverride', '--list', file]);
  if (r.code !== 0) return null;
  const [owner, group, mode] = r.stdout.trim().split(/\s+/);
  return owner && group && mode ? `${owner} ${group} ${mode}` : null;
}

async function setOverride(run: Exec, file: string, value: string | null): Promise<void> {
  if ((await readOverride(run, file)) !== null) await mustExec(run, ['dpkg-statoverride', '--quiet', '--remove', file]);
  if (value === null) return;
  const [owner, group, mode] = value.split(' ') as [string, string, string];
  await mustExec(run, ['dpkg-statoverride', '--quiet', '--update', '--add', owner, group, mode, file]);
}

/** Locks the viewer to root:gid with `mode`. */
export async function lockViewer(run: Exec, opts: { path: string; group: string; gid: number; mode: number; statoverride: boolean }): Promise<void> {
  if (opts.statoverride) {
    const want = `root ${opts.group} ${opts.mode.toString(8)}`;
    if ((await readOverride(run, opts.path)) !== want) await setOverride(run, opts.path, want);
  }
  // statoverride --update already did this; doing it again is cheap and covers the plain case.
  await chown(opts.path, 0, opts.gid);
  await chmod(opts.path, opts.mode);
}

/** Restores the viewer as it was before consolegate. */
export async function restoreViewer(run: Exec, original: ViewerOriginal): Promise<void> {
  if (original.usesStatoverride) await setOverride(run, original.path, original.override);
  if ((await statIfExists(original.path)) === null) return;
  await chown(original.path, original.spec.uid, original.spec.gid);
  await chmod(original.path, original.spec.mode);
}

/** The viewer step; its snapshot is the current owner/mode and override. */
export function viewerStep(run: Exec, opts: { path: string; group: string; gid: number; mode: number; statoverride: boolean }): Step<ViewerOriginal | null> {
  return {
    name: 'viewer lock',
    snapshot: async () => {
      const spec = await statIfExists(opts.path);
      if (spec === null) return null;
      return { path: opts.path, spec, override: opts.statoverride ? await readOverride(run, opts.path) : null, usesStatoverride: opts.statoverride };
    },
    apply: () => lockViewer(run, opts),
    rollback: async (previous) => {
      if (previous !== null) await restoreViewer(run, previous);
    },
  };
}
