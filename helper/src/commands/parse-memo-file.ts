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

/** The memo file as read (started early: reading it is off the main thread, parsing it is not), or null. */
export function parseMemoText(stateDir: string): Promise<string | null> {
  return readFile(statePaths(stateDir).parseMemo, 'utf8').catch(() => null);
}

/** A store whose `previous` holds what `text` (parseMemoText) holds when this helper wrote it; empty otherwise. */
export async function memoStore(text: string | null): Promise<MemoStore> {
  const previous = new Map<string, FileMemo>();
  const code = await helperCode();
  try {
    const m = text === null || code === null ? null : (JSON.parse(text) as MemoFile);
    if (m?.version === FORMAT && m.code === code && Array.isArray(m.files)) for (const f of m.files) previous.set(f.file, f);
  } catch {
    // A damaged memo is no memo: the files are parsed whole.
  }
  return { previous, next: new Map() };
}

/** Writes the parses this run left, when they are not the ones it read. */
export async function writeParseMemo(stateDir: string, store: MemoStore): Promise<void> {
  const code = await helperCode();
  const same = store.next.size === store.previous.size && [...store.next].every(([file, memo]) => store.previous.get(file) === memo);
  if (code === null || same) return;
  const memo: MemoFile = { version: FORMAT, code, files: [...store.next.values()] };
  await writeAtomic(statePaths(stateDir).parseMemo, JSON.stringify(memo), { mode: 0o600, uid: 0, gid: 0 }, { fsync: false });
}
