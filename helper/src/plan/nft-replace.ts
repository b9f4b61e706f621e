// Replacing our nft table's contents in place, and listing it in one canonical order.
//
// Why not `delete table` then `table {…}` in one transaction: that deletes and re-creates the base chain, and
// the kernel unhooks the old chain before the new one takes over. A loop of connects by a never-entitled uid
// got through 878 times in 2,888 such loads; flushing and refilling the same chain and sets, 0 in 2,952
// (test/fault/kill-apply.test.ts keeps watching). So the table and its base chain are never deleted on apply.
import { NFT_TABLE } from './nft.js';

/** A top-level object of a table listing: `set allow_v4 {`, `chain output {`, `ct helper h {`. */
export interface TableObject {
  kind: string;
  name: string;
  /** Its lines, from the opening `\t<kind> <name> {` to the closing `\t}`. */
  lines: string[];
}

const OPENING = /^\t((?:ct )?[a-z]+) (\S+) \{$/;
// Listing order: what a chain refers to comes before the chain.
const KIND_ORDER = ['set', 'map', 'chain'];
const kindRank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : -1);

/** A table's text split into the lines around its objects and the objects themselves. */
export interface SplitTable {
  head: string[];
  objects: TableObject[];
  tail: string[];
}

/** Splits `table … { … }` text into the lines around the objects and the objects themselves. */
export function splitTable(text: string): SplitTable {
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

const cut = new WeakMap<TableObject, { declaration: string; elements: string[] }>();

/**
 * An object's text without its `elements = { … }` and the elements, trimmed (none when it has no such block):
 * the block starts on a line of its own and ends at the first `}`, wherever nft or we broke its lines.
 */
export function elementsOf(o: TableObject): { declaration: string; elements: string[] } {
  // The nft step asks twice for the same desired objects (the set deltas, then the fingerprint): cut once. Callers
  // only read the result.
  let parts = cut.get(o);
  if (parts === undefined) cut.set(o, (parts = cutElements(o)));
  return parts;
}

function cutElements(o: TableObject): { declaration: string; elements: string[] } {
  const start = o.lines.findIndex((l, i) => i > 0 && l.startsWith('\t\telements = {'));
  let end = start;
  while (end >= 0 && end < o.lines.length && !o.lines[end]!.includes('}')) end++;
  if (start < 0 || end === o.lines.length) return { declaration: o.lines.join('\n'), elements: [] };
  const block = o.lines.slice(start, end + 1).join('\n');
  const close = block.indexOf('}');
  const after = block.slice(close + 1);
  const inner = block.slice('\t\telements = {'.length, close);
  const rest = o.lines.slice(end + 1);
  const declaration = o.lines.slice(0, start).join('\n') + after + (rest.length ? `\n${rest.join('\n')}` : '');
  return { declaration, elements: inner.split(',').map((e) => e.trim()).filter(Boolean) };
}

/**
 * A set's or map's declaration (every line but its elements) and its elements, or null when it holds intervals.
 * A map's elements carry their values (`1000 : jump allow_c…`), so a changed value is one element gone, one added.
 */
export function setParts(o: TableObject): { declaration: string; elements: string[] } | null {
  if (o.kind !== 'set' && o.kind !== 'map') return null;
  const parts = elementsOf(o);
  // Intervals are merged and split by nft itself: their elements are not comparable as text.
  return holdsIntervals(parts.declaration) ? null : parts;
}

/** Whether a set's declaration (elementsOf) carries the interval flag, as we render it and nft lists it. */
export function holdsIntervals(declaration: string): boolean {
  return /\n\t\tflags [^\n]*\binterval\b/.test(declaration);
}

// Up to this many elements differing in place, each is looked up by a scan instead of through two sets of all.
const FEW = 64;

/** The elements of `was` missing from `will`, and those of `will` missing from `was`. */
export function elementDelta(was: string[], will: string[]): { gone: string[]; added: string[] } {
  // Both lists are usually the same rendering but for a few elements: only what lies between their common
  // beginning and end can differ. Those few are still looked up in the whole other list, so an element that
  // is listed twice, or merely moved, is neither deleted nor added.
  const shorter = Math.min(was.length, will.length);
  let head = 0;
  while (head < shorter && was[head] === will[head]) head++;
  let tail = 0;
  while (tail < shorter - head && was[was.length - 1 - tail] === will[will.length - 1 - tail]) tail++;
  const [wasMid, willMid] = [was.slice(head, was.length - tail), will.slice(head, will.length - tail)];
  if (wasMid.length + willMid.length <= FEW) {
    return { gone: wasMid.filter((e) => !will.includes(e)), added: willMid.filter((e) => !was.includes(e)) };
  }
  const keep = new Set(will);
  const present = new Set(was);
  return { gone: wasMid.filter((e) => !keep.has(e)), added: willMid.filter((e) => !present.has(e)) };
}

/**
 * One `nft -f` script that turns the live table (a listing, or null when absent) into `desired` (a full
 * `table … {…}` block) in one transaction, without deleting the table or any chain that stays: every chain is
 * flushed, objects the desired table lacks are deleted, sets are emptied and refilled — or, for a set declared
 * the same way in both, only the elements that differ are deleted and added — then the desired block re-adds
 * the rest. Changing a few entitlements among 100,000 then hands nft a few elements, not all of them: nft
 * looks every uid it parses up in NSS first (getpwnam), which at 100,000 is most of the load's time.
 * `table`: another table of ours (host mode's `inet consolegate-host`, `bridge consolegate-host`); `target`:
 * `desired` already split, when the caller has it.
 */
export function replaceScript(live: string | null, desired: string, table: string = NFT_TABLE, target: SplitTable = splitTable(desired)): string {
  if (live === null) return desired;
  const wanted = new Map(target.objects.map((o) => [`${o.kind} ${o.name}`, o]));
  const have = splitTable(live).objects;
  const out = [`table ${table}`];
  const elementChanges: string[] = [];
  const deltaSets = new Set<string>();
  // Chains are flushed first: their rules are what hold references to sets, maps and other chains. They are
  // deleted last, after the element changes: a map's elements may jump to them (plan/nft-classes.ts).
  for (const o of have) if (o.kind === 'chain') out.push(`flush chain ${table} ${o.name}`);
  for (const o of have) {
    if (o.kind === 'chain') continue;
    const next = wanted.get(`${o.kind} ${o.name}`);
    if (!next) {
      out.push(`delete ${o.kind} ${table} ${o.name}`);
      continue;
    }
    const [was, will] = [setParts(o), setParts(next)];
    if (was && will && was.declaration === will.declaration) {
      const { gone, added } = elementDelta(was.elements, will.elements);
      if (gone.length) elementChanges.push(`delete element ${table} ${o.name} { ${gone.join(', ')} }`);
      if (added.length) elementChanges.push(`add element ${table} ${o.name} { ${added.join(', ')} }`);
      deltaSets.add(`${o.kind} ${o.name}`);
    } else if (o.kind === 'set' || o.kind === 'map') out.push(`flush ${o.kind} ${table} ${o.name}`);
  }
  const chainDeletes = have.filter((o) => o.kind === 'chain' && !wanted.has(`chain ${o.name}`)).map((o) => `delete chain ${table} ${o.name}`);
  // The desired block without the elements of the sets that get only their differences.
  const objects = target.objects.map((o) => (deltaSets.has(`${o.kind} ${o.name}`) ? { ...o, lines: [setParts(o)!.declaration] } : o));
  const block = [...target.head, objects.map((o) => o.lines.join('\n')).join('\n\n'), ...target.tail, ''].join('\n');
  return [...out, block, ...elementChanges, ...chainDeletes, ''].join('\n');
}

/**
 * A script that makes our table exactly `desired` without first listing what is live (a listing of 100,000
 * elements takes seconds; a restore at boot or after a foreign flush must not wait for it). It declares the table
 * and every desired object (declaring what exists is a no-op), empties them, then loads the desired block, all in
 * one transaction. Objects the desired table lacks are left in place: the desired chains and maps are flushed and
 * refilled, so no rule or map element of ours reaches an extra set, map or chain. When a live object is declared
 * differently (a chain re-created with another hook), the whole load fails and the caller falls back to
 * `replaceScript`.
 */
export function restoreScript(desired: string): string {
  const { objects } = splitTable(desired);
  const declarations = objects.map((o) => {
    if (o.kind === 'chain') return [o.lines[0]!, ...o.lines.slice(1).filter((l) => /^\t\ttype /.test(l)), '\t}'].join('\n');
    return o.lines.join('\n').replace(/\n\t\telements = \{[^}]*\}/, '');
  });
  const flushes = objects.map((o) => `flush ${o.kind} ${NFT_TABLE} ${o.name}`);
  return [`table ${NFT_TABLE} {`, declarations.join('\n'), '}', ...flushes, desired].join('\n');
}
