// Reads the main policy file and policy.d/*.yaml fragments (name order) into one validated Policy.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConsolegateError, messageOf, type Diagnostic } from '../errors.js';
import { mergeFragments } from './merge.js';
import { parseFragment, type Fragment } from './parse.js';
import { parseWithMemo, type FileMemo } from './parse-memo.js';
import type { Policy } from './types.js';

/** The files' last clean parses (parse-memo.ts) by file, and where this load leaves its own for the next (built when called). */
export interface MemoStore {
  previous: ReadonlyMap<string, FileMemo>;
  next: Map<string, () => FileMemo>;
}

/** Loads and validates; throws POLICY_INVALID with every diagnostic, or POLICY_UNREADABLE. `memo`: parse only what changed. */
export async function loadPolicy(mainFile: string, fragmentDir: string, memo?: MemoStore): Promise<Policy> {
  const files = [mainFile, ...(await listFragments(fragmentDir))];
  const fragments: Fragment[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConsolegateError('POLICY_UNREADABLE', `cannot read policy ${file}: ${messageOf(err)}`, { cause: err });
    }
    const parsed = memo ? parseWithMemo(file, text, memo.previous.get(file) ?? null) : { ...parseFragment(file, text), memo: null };
    if (memo && parsed.memo) memo.next.set(file, parsed.memo);
    fragments.push(parsed.fragment);
    diagnostics.push(...parsed.diagnostics);
  }
  const merged = mergeFragments(fragments);
  diagnostics.push(...merged.diagnostics);
  if (diagnostics.length > 0) {
    throw new ConsolegateError('POLICY_INVALID', `policy is invalid (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'})`, { diagnostics });
  }
  return merged.policy;
}

/**
 * The policy as far as it can be read, for failing closed when `loadPolicy` refused it: unreadable files are left
 * out, and so are the entitlements of every file with a problem (its servers, VMs and `protect` ranges stay, so
 * their ports stay protected). What comes out can only grant less than the admin meant, never more.
 */
export async function loadPolicyLenient(mainFile: string, fragmentDir: string): Promise<Policy> {
  const files = [mainFile, ...(await listFragments(fragmentDir).catch(() => []))];
  const fragments: Fragment[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    const parsed = parseFragment(file, text);
    fragments.push(parsed.diagnostics.length > 0 ? { ...parsed.fragment, entitlements: [] } : parsed.fragment);
  }
  return mergeFragments(fragments).policy;
}

/** `*.yaml` files of the fragment directory in byte order of their names; none when it does not exist. */
async function listFragments(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConsolegateError('POLICY_UNREADABLE', `cannot list ${dir}: ${messageOf(err)}`, { cause: err });
  }
  // Byte order, not locale order, so every machine merges the same way.
  return names
    .filter((n) => n.endsWith('.yaml') && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => path.join(dir, n));
}
