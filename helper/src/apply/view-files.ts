// View files: root:root 0640 with one ACL entry `user:<uid>:r`, so only their user reads them and she owns
// nothing root ever opens (no lease, chmod, truncate or FIFO of hers can make apply wait or fail).
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { messageOf } from '../errors.js';
import { viewHash } from '../plan/digest.js';
import type { ViewText } from '../plan/views.js';
import type { Stamp } from './view-seal.js';
import { mustExec, type Exec } from '../system/exec.js';
import { readFileStateSync, sameState, tempPathFor, writeNewSync, type FileSpec, type FileState } from '../system/fs.js';

/** Owner and base mode of every view; the group bits show the ACL mask. */
export const VIEW_SPEC: FileSpec = { mode: 0o640, uid: 0, gid: 0 };

/** The ACL a view of `uid` carries, in getfacl's order and spelling. */
export function viewAcl(uid: number): string[] {
  return ['user::rw-', `user:${uid}:r--`, 'group::---', 'mask::r--', 'other::---'];
}

/** A view as found: content, owner and mode, and its ACL entries (null when it does not exist). */
export interface ViewState {
  file: FileState;
  acl: string[];
}

/** getfacl/setfacl quote a path's special characters as `\ooo`. */
function quote(p: string): string {
  return p.replace(/[^A-Za-z0-9._/+@-]/g, (c) => [...Buffer.from(c)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join(''));
}
function unquote(p: string): string {
  return Buffer.from(p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), 'latin1').toString('utf8');
}

/** Every file's ACL entries under `dir` (one getfacl for all): path → entries. Empty when `dir` is missing. */
export async function readAcls(run: Exec, dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const r = await run(['getfacl', '--numeric', '--absolute-names', '--recursive', '--', dir]);
  if (r.code !== 0 && /No such file or directory/.test(r.stderr) && r.stdout === '') return out;
  if (r.code !== 0 && r.stdout === '') throw new Error(`getfacl ${dir}: ${r.stderr.trim() || `exit ${r.code}`} (is the package acl installed?)`);
  parseGetfacl(r.stdout, out);
  return out;
}

function parseGetfacl(text: string, out: Map<string, string[]>): void {
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split('\n').filter((l) => l !== '');
    const head = lines.find((l) => l.startsWith('# file: '));
    if (head === undefined) continue;
    out.set(unquote(head.slice('# file: '.length)), lines.filter((l) => !l.startsWith('#')));
  }
}

/** The ACLs of `files` (all in `dir`): one getfacl for the few, or the whole directory when they are many. */
export async function readAclsOf(run: Exec, dir: string, files: string[]): Promise<Map<string, string[]>> {
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) return new Map();
  if (present.length > 256) return readAcls(run, dir);
  const out = new Map<string, string[]>();
  const r = await run(['getfacl', '--numeric', '--absolute-names', '--', ...present]);
  if (r.code !== 0 && r.stdout === '') throw new Error(`getfacl: ${r.stderr.trim() || `exit ${r.code}`} (is the package acl installed?)`);
  parseGetfacl(r.stdout, out);
  return out;
}

/** Reads one view's content, owner, mode and (from `acls`) its ACL. */
export function readView(file: string, acls: Map<string, string[]>): ViewState | null {
  const state = readFileStateSync(file);
  return state === null ? null : { file: state, acl: acls.get(file) ?? [] };
}

/** True when a view holds content whose viewHash is `hash`, root:root 0640 with exactly uid's ACL. */
export function viewMatches(v: ViewState | null, uid: number, hash: string): boolean {
  return v !== null && v.file.content !== null && viewHash(v.file.content) === hash && viewIsCurrent(v, uid, v.file.content);
}

/** True when a view is exactly what `uid` should have. */
export function viewIsCurrent(v: ViewState | null, uid: number, content: string): boolean {
  return v !== null && sameState(v.file, content, VIEW_SPEC) && v.acl.join('\n') === viewAcl(uid).join('\n');
}

/** One file to put in place: content, owner/mode, ACL entries. */
export interface ViewWrite {
  file: string;
  content: string;
  spec: FileSpec;
  acl: string[];
  /** The plan's view this writes, if it is one: a first apply's writer thread knows the views it was sent by it. */
  view?: ViewText;
}

/** Views written under temp names with their ACLs: `commit` renames them into place, `discard` removes them. */
export interface StagedViews {
  commit(): void;
  discard(): void;
  /** Each view's stamp, taken once it was written and given its ACL, when the writer took them (view-seal.ts). */
  stamps?: Map<number, Stamp>;
}

// Writing 10,000 temp files takes a while: the event loop gets a turn after every few files or bytes
// (transaction.ts stages views while the firewall loads, and that load is driven by this same loop).
const BATCH_FILES = 64;
const BATCH_BYTES = 1 << 20;

// Files per setfacl: each batch gets its ACLs on the other core while the next batch is written.
const ACL_BATCH = 1024;

/** One new file: where, what (text, or its bytes), owner and mode, and its ACL entries. */
export interface NewFile {
  path: string;
  content: string | Uint8Array;
  spec: FileSpec;
  acl: string[];
}

/** True when `acl` sets every permission bit of a file of `mode` (base entries, no setuid/setgid/sticky bit). */
function aclSetsMode(acl: string[], mode: number): boolean {
  return (mode & 0o7000) === 0 && ['user::', 'group::', 'other::'].every((p) => acl.some((e) => e.startsWith(p)));
}

/**
 * Creates files that must not exist yet, root-only until each batch of ACL_BATCH gets its ACLs from one
 * `setfacl --restore` (started as soon as the batch is written, so it runs beside the writing of the next).
 * `add` writes at once; `finish` waits for every setfacl; after a failure of either, `abort` removes what was
 * written. Used on the main thread and by the view writer thread (view-thread.ts).
 */
export class FileCreator {
  private readonly written: NewFile[] = [];
  private aclFrom = 0;
  private readonly acls: Promise<unknown>[] = [];

  /** `acled`: called with each batch of files once its setfacl has ended well (the writer thread stamps them). */
  constructor(
    private readonly run: Exec,
    private readonly acled: (files: readonly NewFile[]) => void = () => {},
  ) {}

  /** Creates these files now (writeNewSync); throws on the first that fails. */
  add(files: Iterable<NewFile>): void {
    for (const f of files) {
      writeNewSync(f.path, f.content, f.spec, { modeByAcl: aclSetsMode(f.acl, f.spec.mode) });
      this.written.push(f);
      if (this.written.length - this.aclFrom >= ACL_BATCH) this.setAcls();
    }
  }

  /** Every file's ACL is set: resolves once every setfacl has ended well, else throws (then call abort). */
  async finish(): Promise<void> {
    if (this.written.length > this.aclFrom) this.setAcls();
    // Every setfacl has ended before anything is removed or renamed, failed or not.
    const failed = (await Promise.allSettled(this.acls)).find((r) => r.status === 'rejected');
    if (failed) {
      throw new Error(`${messageOf(failed.reason)} (setfacl is in the package acl; the filesystem must support POSIX ACLs)`, { cause: failed.reason });
    }
  }

  /** Waits for every setfacl, then removes every file written. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.acls);
    for (const f of this.written) rmSync(f.path, { force: true });
  }

  private setAcls(): void {
    const batch = this.written.slice(this.aclFrom);
    const restore = batch.map((f) => `# file: ${quote(f.path)}\n${f.acl.join('\n')}\n`).join('\n');
    this.aclFrom = this.written.length;
    const p = mustExec(this.run, ['setfacl', `--restore=-`], { input: restore }).then(() => this.acled(batch));
    p.catch(() => undefined); // judged by finish or abort
    this.acls.push(p);
  }
}

/**
 * Writes each view to `paths[i]` (a new file) with its ACL (FileCreator), giving the event loop a turn every few
 * files. On failure, the files written so far are removed.
 */
async function writeWithAcls(run: Exec, writes: ViewWrite[], paths: string[]): Promise<void> {
  const creator = new FileCreator(run);
  try {
    for (let from = 0; from < writes.length; ) {
      let [to, bytes] = [from, 0];
      while (to < writes.length && to - from < BATCH_FILES && bytes < BATCH_BYTES) bytes += writes[to++]!.content.length;
      creator.add(writes.slice(from, to).map((w, k) => ({ ...w, path: paths[from + k]! })));
      from = to;
      if (from < writes.length) await nextTick();
    }
    await creator.finish();
  } catch (err) {
    await creator.abort();
    throw new Error(`views: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Writes each view to a temp file beside it with its ACL (writeWithAcls); nothing is visible under a view's name
 * until `commit` renames them, so no view is ever seen without its ACL. No fsync: apply rewrites views.
 */
export async function stageViews(run: Exec, writes: ViewWrite[]): Promise<StagedViews> {
  const temps = writes.map((w) => tempPathFor(w.file));
  await writeWithAcls(run, writes, temps);
  const discard = () => temps.forEach((t) => rmSync(t, { force: true }));
  return {
    commit: () => {
      try {
        writes.forEach((w, i) => renameSync(temps[i]!, w.file));
      } catch (err) {
        discard();
        throw new Error(`views: ${messageOf(err)}`, { cause: err });
      }
    },
    discard,
  };
}

/**
 * The views of a views directory that is empty (a first apply): written under their own names into a new directory
 * beside it, root-only until `commit` opens it (0755) and renames it over the empty one. One rename instead of one
 * per view, and no temp names (10,000 views: ~0.3 s of renames and ~0.1 s of names on this kind of machine).
 */
export async function stageViewDir(run: Exec, dir: string, writes: ViewWrite[]): Promise<StagedViews> {
  const staging = newStagingDir(dir);
  const staged = stagedDir(staging, dir);
  try {
    await writeWithAcls(run, writes, writes.map((w) => inViews(staging, path.basename(w.file))));
  } catch (err) {
    staged.discard();
    throw err;
  }
  return staged;
}

/** Creates the root-only directory beside `dir` that its views are staged in (`.views.<hex>.tmp`); its path. */
export function newStagingDir(dir: string): string {
  const staging = tempPathFor(dir);
  mkdirSync(staging, { mode: 0o700 });
  return staging;
}

/** A root-only directory of views (stageViewDir, view-thread.ts): `commit` opens it and renames it over `dir`. */
export function stagedDir(staging: string, dir: string, stamps?: Map<number, Stamp>): StagedViews {
  const discard = () => rmSync(staging, { recursive: true, force: true });
  return {
    ...(stamps ? { stamps } : {}),
    commit: () => {
      try {
        chmodSync(staging, 0o755);
        // Replaces the directory only while it is empty (else ENOTEMPTY, and the apply rolls back).
        renameSync(staging, dir);
      } catch (err) {
        discard();
        throw new Error(`views: ${messageOf(err)}`, { cause: err });
      }
    },
    discard,
  };
}

/** Replaces each file atomically (stageViews, then commit at once). */
export async function writeViews(run: Exec, writes: ViewWrite[]): Promise<void> {
  (await stageViews(run, writes)).commit();
}

/** The names of the view files in `dir` (none when it does not exist). */
export function listViewNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The path of uid's view in `dir`. */
export function viewFile(dir: string, uid: number): string {
  return inViews(dir, `${uid}.json`);
}

/** `name` in the views directory, spelled as viewFile spells it (files are compared by these strings). */
export function inViews(dir: string, name: string): string {
  // Asked 10,000 times per apply at 100,000 entitlements, where path.join's normalising costs tens of ms.
  return `${dir.endsWith('/') ? dir : `${dir}/`}${name}`;
}
