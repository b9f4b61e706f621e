// The nf_tables ruleset generation (helper/native/nft-genid.c): while it has not moved since our load, the
// kernel holds exactly what we loaded, and nobody needs to list 100,000 set elements to know it.
import { readFile } from 'node:fs/promises';
import { besideHelper } from '../system/beside.js';
import type { Exec } from '../system/exec.js';

/** Where a generation number is valid: this boot, this network namespace. */
export interface Generation {
  boot: string;
  /** SO_NETNS_COOKIE: never reused within a boot, unlike a namespace's inode number. */
  netns: string;
  genid: number;
}

/** The generation now, or null when it cannot be read here (no nft-genid beside the helper, no nf_tables). */
export async function rulesetGeneration(run: Exec): Promise<Generation | null> {
  const tool = besideHelper('nft-genid');
  if (tool === null) return null;
  const [r, boot] = await Promise.all([run([tool]), readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => null)]);
  const m = /^(\d+) (\d+)\n$/.exec(r.stdout);
  if (r.code !== 0 || m === null || boot === null || m[2] === '0') return null;
  return { boot: boot.trim(), netns: m[2]!, genid: Number(m[1]) };
}

/** True when both name the same generation of the same ruleset. */
export function sameGeneration(a: Generation | null | undefined, b: Generation | null | undefined): boolean {
  return !!a && !!b && a.boot === b.boot && a.netns === b.netns && a.genid === b.genid;
}

/** True when `after` is the very next generation after `before`: exactly one transaction (ours) in between. */
export function nextGeneration(before: Generation | null, after: Generation | null): boolean {
  return !!before && !!after && before.boot === after.boot && before.netns === after.netns && after.genid === ((before.genid + 1) >>> 0);
}
