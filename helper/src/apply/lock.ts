// One lock serialises apply/remove: flock(2) on a file we keep open, so the kernel frees it if we are killed.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ConsolegateError } from '../errors.js';
import type { Exec } from '../system/exec.js';

/** Holds the lock until `release()`; survives nothing: kill -9 releases it. */
export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes the lock, waiting up to `timeoutSeconds`. Node has no flock(), so util-linux `flock` locks the open
 * file description we pass it as fd 3; the lock then belongs to our descriptor and outlives that child.
 */
export async function acquireLock(run: Exec, file: string, timeoutSeconds = 120): Promise<Lock> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const fh: FileHandle = await open(file, 'a', 0o600);
  const r = await run(['flock', '--exclusive', '--timeout', String(timeoutSeconds), '3'], { fds: [fh.fd] });
  if (r.code !== 0) {
    await fh.close();
    throw new ConsolegateError('LOCK_TIMEOUT', `another consolegate-helper run held ${file} for ${timeoutSeconds} s (${r.stderr.trim() || `flock exited ${r.code}`})`);
  }
  return { release: () => fh.close() };
}
