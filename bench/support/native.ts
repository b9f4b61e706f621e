// The C connect loop, compiled at bench time: Node's own per-connect overhead would hide the kernel path we measure.
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../helper/src/system/exec.js';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'connloop.c');

/** Why the C loop cannot be built here, or null when gcc works. */
export async function nativeUnavailable(): Promise<string | null> {
  const r = await exec(['sh', '-c', 'command -v gcc && test -e /usr/include/stdio.h']);
  return r.code === 0 ? null : 'gcc or the C headers are missing (apt install gcc libc6-dev)';
}

/** Compiles connloop.c into `dir` (which must be traversable by the benchmark users) and returns its path. */
export async function buildConnloop(dir: string): Promise<string> {
  const out = path.join(dir, 'connloop');
  const r = await exec(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, SOURCE]);
  if (r.code !== 0) throw new Error(`gcc ${SOURCE} failed: ${r.stderr.trim()}`);
  await chmod(out, 0o755);
  return out;
}

/** One connloop run's result. */
export interface LoopResult {
  ok: number;
  failed: number;
  nsPerAttempt: number;
}

/** Parses connloop's one output line. */
export function parseLoop(stdout: string): LoopResult {
  const [ok, failed, ns] = stdout.trim().split(/\s+/).map(Number);
  if (ok === undefined || failed === undefined || ns === undefined || [ok, failed, ns].some(Number.isNaN)) {
    throw new Error(`connloop printed ${JSON.stringify(stdout)}`);
  }
  return { ok, failed, nsPerAttempt: ns };
}
