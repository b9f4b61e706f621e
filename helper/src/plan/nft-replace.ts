// Replacing our nft table's contents in place, and listing it in one canonical order.
//
// Why not `delete table` then `table {…}` in one transaction: that deletes and re-creates the base chain, and
// the kernel unhooks the old chain before the new one takes over. A loop of connects by a never-entitled uid
// got through 878 times in 2,888 such loads; flushing and refilling the same chain and sets, 0 in 2,952
// (test/fault/kill-apply.test.ts keeps watching). So the table and its base chain are never deleted on apply.
import { NFT_TABLE } from './nft.js';

/** A top-level object of a table listing: `set allow_v4 {`, `chain output {`, `ct helper h {`. */
interface TableObject {
  kind: string;
  name: string;
  /** Its lines, from the opening `\t<kind> <name> {` to the closing `\t}`. */
  lines: string[];
}

const OPENING = /^\t((?:ct )?[a-z]+) (\S+) \{$/;
// Listing order: what a chain refers to comes before the chain.
const KIND_ORDER = ['set', 'map', 'chain'];
const kindRank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : -1);

/** Splits `table … { … }` text into the lines around the objects and the objects themselves. */
function splitTable(text: string): { head: string[]; objects: TableObject[]; tail: string[] } {
  const lines = text.replace(/\n+$/, '').split('\n');
  const head: string[] = [];
  const objects: TableObject[] = [];
  let current: TableObject | null = null;
  let tail: string[] = [];
  for (const line of lines) {
    if (current) {
      current.lines.push(line);
      if (line === '\t}') current = null;
      continue;
    }
    const m = OPENING.exec(line);
    if (m) {
      current = { kind: m[1]!, name: m[2]!, lines: [line] };
      objects.push(current);
      tail = [];
    } else if (objects.length === 0) head.push(line);
    else if (line !== '') tail.push(line);
  }
  return { head, objects, tail };
}

/**
 * The listing with its objects in one order (sets, maps, then chains; by name). nft lists objects in the order
 * they were created, which after in-place replacements depends on history; the drift fingerprint must not.
 */
export function canonicalListing(listing: string): string {
  const { head, objects, tail } = splitTable(listing);
  const sorted = [...objects].sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || a.kind.localeCompare(b.kind) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...head, sorted.map((o) => o.lines.join('\n')).join('\n\n'), ...tail, ''].join('\n');
}

/**
 * One `nft -f` script that turns the live table (a listing, or null when absent) into `desired` (a full
 * `table … {…}` block) in one transaction, without deleting the table or any chain that stays: every chain is
 * flushed, every set emptied, objects the desired table lacks are deleted, then the desired block re-adds it all.
 */
export function replaceScript(live: string | null, desired: string): string {
  if (live === null) return desired;
  const want = new Set(splitTable(desired).objects.map((o) => `${o.kind} ${o.name}`));
  const have = splitTable(live).objects;
  const out = [`table ${NFT_TABLE}`];
  // Chains first: their rules are what hold references to sets and to other chains.
  for (const o of have) if (o.kind === 'chain') out.push(`flush chain ${NFT_TABLE} ${o.name}`);
  for (const o of have) {
    const kept = want.has(`${o.kind} ${o.name}`);
    if (o.kind === 'chain') {
      if (!kept) out.push(`delete chain ${NFT_TABLE} ${o.name}`);
    } else if (kept && (o.kind === 'set' || o.kind === 'map')) out.push(`flush ${o.kind} ${NFT_TABLE} ${o.name}`);
    else if (!kept) out.push(`delete ${o.kind} ${NFT_TABLE} ${o.name}`);
  }
  return `${out.join('\n')}\n${desired}`;
}
