// parse-memo.json: the policy files' last clean parses (policy/parse-memo.ts), kept by apply for the next run that
// finds a policy file changed. Only this same helper code may read them: another may parse the same text otherwise.
import { readFile } from 'node:fs/promises';
import { statePaths } from '../paths.js';
import type { MemoStore } from '../policy/load.js';
import type { FileMemo } from '../policy/parse-memo.js';
import { writeAtomic } from '../system/fs.js';
import { helperCode } from './plan-cache.js';

/** Bump when FileMemo changes shape. */
const FORMAT = 1;

interface MemoFile {
  version: typeof FORMAT;
  code: string;
  files: FileMemo[];
}

/**
 * The memo file's bytes, or null. Started early: reading is off the main thread; decoding and parsing are not, so
 * they wait for memoStore (a run whose plan is cached needs neither).
 */
export function parseMemoBytes(stateDir: string): Promise<Buffer | null> {
  return readFile(statePaths(stateDir).parseMemo).catch(() => null);
}

/** A store whose `previous` holds what `bytes` (parseMemoBytes) hold when this helper wrote them; empty otherwise. */
export async function memoStore(bytes: Buffer | null): Promise<MemoStore> {
  const previous = new Map<string, FileMemo>();
  const code = await helperCode();
  try {
    const m = bytes === null || code === null ? null : (JSON.parse(bytes.toString('utf8')) as MemoFile);
    if (m?.version === FORMAT && m.code === code && Array.isArray(m.files)) for (const f of m.files) previous.set(f.file, f);
  } catch {
    // A damaged memo is no memo: the files are parsed whole.
  }
  return { previous, next: new Map() };
}

/** Writes the parses this run left, when they are not the ones it read. */
export async function writeParseMemo(stateDir: string, store: MemoStore): Promise<void> {
  const code = await helperCode();
  const files = [...store.next.values()].map((built) => built());
  const same = files.length === store.previous.size && files.every((memo) => store.previous.get(memo.file) === memo);
  if (code === null || same) return;
  const memo: MemoFile = { version: FORMAT, code, files };
  await writeAtomic(statePaths(stateDir).parseMemo, JSON.stringify(memo), { mode: 0o600, uid: 0, gid: 0 }, { fsync: false });
}
