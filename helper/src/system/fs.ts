// Files the helper owns: atomic replace (temp in the same directory, owner/mode set, fsync, rename).
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, readFile, rename, rm, stat } from 'node:fs/promises';
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

/** True when the file exists with exactly this content, owner and mode. */
export async function matches(target: string, content: string, spec: FileSpec): Promise<boolean> {
  try {
    const st = await stat(target);
    if ((st.mode & 0o7777) !== spec.mode || st.uid !== spec.uid || st.gid !== spec.gid) return false;
    return (await readFile(target, 'utf8')) === content;
  } catch {
    return false;
  }
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
