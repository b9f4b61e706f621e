// The sudoers file: written beside the target, checked by `visudo -cf`, renamed into place.
import { rename, rm } from 'node:fs/promises';
import { messageOf } from '../errors.js';
import type { Exec } from '../system/exec.js';
import { readIfExists, writeAtomic, writeTemp } from '../system/fs.js';
import type { Step } from './step.js';

const SPEC = { mode: 0o440, uid: 0, gid: 0 };

/** Writes the candidate to a temp file and has visudo check it; throws with visudo's complaint. */
export async function prepareSudoers(run: Exec, target: string, content: string): Promise<string> {
  const tmp = await writeTemp(target, content, SPEC);
  const r = await run(['visudo', '-c', '-q', '-f', tmp]).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw new VisudoMissing(err);
  });
  if (r.code !== 0) {
    await rm(tmp, { force: true });
    throw new Error(`visudo rejected the rendered sudoers file: ${(r.stderr || r.stdout).trim().replaceAll(tmp, target)}`);
  }
  return tmp;
}

/** The sudoers step: the temp file was checked before the transaction; apply is one rename. */
export function sudoersStep(target: string, checkedTemp: string): Step<string | null> {
  return {
    name: 'sudoers',
    snapshot: () => readIfExists(target),
    apply: () => rename(checkedTemp, target),
    rollback: async (previous) => {
      await rm(checkedTemp, { force: true });
      if (previous === null) await rm(target, { force: true });
      else await writeAtomic(target, previous, SPEC);
    },
  };
}

/** Removes our sudoers file and nothing else in its directory. */
export async function removeSudoers(target: string): Promise<void> {
  await rm(target, { force: true });
}

/** visudo could not be started at all (it ships with sudo). */
export class VisudoMissing extends Error {
  constructor(cause: unknown) {
    super(`visudo is not usable (package sudo): ${messageOf(cause)}`, { cause });
  }
}
