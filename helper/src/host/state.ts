// host.json in the state directory: what the last `host apply` loaded, for drift checks. Written only after success.
import path from 'node:path';
import { readIfExists, writeAtomic } from '../system/fs.js';

/** The record of the last successful host apply. */
export interface HostState {
  version: 1;
  server: string;
  appliedAt: string;
  /** sha256 of the rendered tables, and of both tables as the kernel listed them right after loading. */
  rendered: string;
  live: string;
}

/** Where host.json lives. */
export function hostStateFile(stateDir: string): string {
  return path.join(stateDir, 'host.json');
}

/** The last record, or null before the first apply (or after remove). */
export async function readHostState(stateDir: string): Promise<HostState | null> {
  const text = await readIfExists(hostStateFile(stateDir));
  if (text === null) return null;
  try {
    const s = JSON.parse(text) as HostState;
    return s.version === 1 && typeof s.live === 'string' ? s : null;
  } catch {
    return null; // a damaged record only means "not applied by us": status reports drift, apply rewrites it
  }
}

/** Writes the record atomically, root-only. */
export async function writeHostState(stateDir: string, s: HostState): Promise<void> {
  await writeAtomic(hostStateFile(stateDir), `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600, uid: 0, gid: 0 });
}
