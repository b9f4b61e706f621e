// Files the helper owns: atomic replace (temp in the same directory, owner/mode set, fsync, rename).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { chmod, chown, open, opendir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Owner and mode a file must end up with. */
export interface FileSpec {
  mode: number;
  uid: number;
  gid: number;
}

/** A temp file beside `target`, named with a `.` so sudo's includedir skips it. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Removes the temp files tempPathFor named in `dir` for targets named `targets` (every one, when not given) that a
 * killed run left behind; call it only under the lock of whatever writes them. Returns how many.
 */
export async function removeStaleTemps(dir: string, targets?: string[]): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const ours = names.filter((n) => {
    const m = /^\.(.+)\.[0-9a-f]{12}\.tmp$/.exec(n);
    return m !== null && (targets === undefined || targets.includes(m[1]!));
  });
  // A staged directory (apply/view-files.ts, stageViewDir) goes with everything in it.
  for (const n of ours) await rm(path.join(dir, n), { force: true, recursive: true });
  return ours.length;
}

/** True when `dir` has no entries, or does not exist. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    // One read of the directory's first entries, not a list of 10,000 names.
    const d = await opendir(dir);
    try {
      return (await d.read()) === null;
    } finally {
      await d.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Writes content to a new temp file beside `target` with owner and mode set, fsynced; returns its path. */
export async function writeTemp(target: string, content: string, spec: FileSpec, options: { fsync?: boolean } = {}): Promise<string> {
  const tmp = tempPathFor(target);
  // Created 0600 and only widened once written: nobody can read a half-written file.
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(content, 'utf8');
      if (options.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await chown(tmp, spec.uid, spec.gid);
    await chmod(tmp, spec.mode);
  } catch (err) {
    // A full disk fails the write itself: the partial temp file must not stay behind either.
    await rm(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** Atomically replaces `target` with `content`; does nothing when content, owner and mode already match. */
export async function writeAtomic(target: string, content: string, spec: FileSpec, options: { fsync?: boolean } = {}): Promise<boolean> {
  if (await matches(target, content, spec)) return false;
  const tmp = await writeTemp(target, content, spec, options);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}

/** True when the file exists with this owner and mode and `same` says yes to its content. */
async function matchesBy(target: string, spec: FileSpec, same: (content: Buffer) => boolean): Promise<boolean> {
  try {
    const st = await stat(target);
    if ((st.mode & 0o7777) !== spec.mode || st.uid !== spec.uid || st.gid !== spec.gid) return false;
    return same(await readFile(target));
  } catch {
    return false;
  }
}

/** True when the file exists with exactly this content, owner and mode. */
export function matches(target: string, content: string, spec: FileSpec): Promise<boolean> {
  return matchesBy(target, spec, (b) => b.toString('utf8') === content);
}

/** True when the file exists with this owner and mode, and content whose sha256 (hex) is `sha`. */
export function matchesHash(target: string, sha: string, spec: FileSpec): Promise<boolean> {
  return matchesBy(target, spec, (b) => createHash('sha256').update(b).digest('hex') === sha);
}

/** File content, or null when it does not exist. */
export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Owner and mode of a path, or null when it does not exist. */
export async function statIfExists(file: string): Promise<FileSpec | null> {
  try {
    const st = await stat(file);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

// Synchronous twins for the thousands of small per-user view files: each awaited fs.promises call is a round
// trip through libuv's thread pool (~100 µs here), which made 10,000 views cost seconds; these cost ~10 µs.

/** A file's content, owner and mode, read through one descriptor. */
export interface FileState {
  /** null when the file is larger than the reader's limit: then it is not one we wrote, whatever it holds. */
  content: string | null;
  spec: FileSpec;
}

// Views are a few KiB. Their owners may write to them (they own them), so one could grow theirs to gigabytes;
// reading that whole would exhaust memory and fail every apply, revocations included.
const MAX_READ = 1024 * 1024;

/** Reads content (up to 1 MiB), owner and mode of a file, or null when it does not exist. */
export function readFileStateSync(file: string): FileState | null {
  let fd: number;
  try {
    // O_NONBLOCK: a lease on the file (its owner may take one) or a FIFO fails the open instead of blocking it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN' || code === 'ELOOP') {
      const st = lstatSync(file);
      return { content: null, spec: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } };
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const spec = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (!st.isFile() || st.size > MAX_READ) return { content: null, spec };
    // One byte more than stat said: if it fills, the file is growing under us and is not ours either.
    const buf = Buffer.allocUnsafe(st.size + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { content: n > st.size ? null : buf.toString('utf8', 0, n), spec };
  } finally {
    closeSync(fd);
  }
}

/** True when a read file state is exactly this content, owner and mode. */
export function sameState(s: FileState | null, content: string, spec: FileSpec): boolean {
  return s !== null && s.content !== null && s.content === content && s.spec.mode === spec.mode && s.spec.uid === spec.uid && s.spec.gid === spec.gid;
}

/**
 * Creates `file`, which must not exist, with content, owner and mode set on the descriptor; no fsync. On failure
 * nothing of it is left; a file that was there already (EEXIST) is not touched. `modeByAcl`: the caller sets an
 * access ACL with all three base entries next, which sets the permission bits itself (the file stays 0600 until).
 * Creating 10,000 views, a chown or chmod that changes nothing still costs a journaled inode update each.
 */
export function writeNewSync(file: string, content: string | Uint8Array, spec: FileSpec, opts: { modeByAcl?: boolean } = {}): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      // A short write (full disk) must not pass for the whole view: the seals record what was meant.
      for (let at = 0, n = 0; at < bytes.length; at += n) {
        if ((n = writeSync(fd, bytes, at, bytes.length - at)) <= 0) throw new Error(`${file}: short write`);
      }
      const st = fstatSync(fd);
      if (st.uid !== spec.uid || st.gid !== spec.gid) fchownSync(fd, spec.uid, spec.gid);
      if (!opts.modeByAcl && (st.mode & 0o7777) !== spec.mode) fchmodSync(fd, spec.mode);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  }
}
