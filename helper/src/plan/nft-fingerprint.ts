// What our nft table holds, as two hashes that do not depend on how it was spelled or listed, so drift is found
// without listing 100,000 elements after each load: the skeleton (chains, set declarations) as nft itself spells
// it, from a terse listing that skips elements, and the elements, which we spell the way nft lists them.
import { sha256 } from './digest.js';
import { canonicalListing, elementsOf, holdsIntervals, splitTable, type SplitTable } from './nft-replace.js';

const ELEMENTS = /\n\t\telements = \{[^}]*\}/g;

/** sha256 of a listing without its set elements, objects in canonical order (`nft -t` prints no elements). */
export function nftSkeleton(listing: string): string {
  return sha256(canonicalListing(listing.replace(ELEMENTS, '')));
}

/**
 * sha256 of every set's elements, by set name, each set's elements normalised and sorted: the same for the
 * text we rendered (one element per line, in tuple order) and for nft's listing of it (several to a line, in
 * hash order). Intervals are merged (nft may split or join them); IPv6 addresses are written canonically.
 * `split`: `text` already split, when the caller has it.
 */
export function nftElements(text: string, split: SplitTable = splitTable(text)): string {
  const sets: string[] = [];
  for (const o of split.objects) {
    if (o.kind !== 'set' && o.kind !== 'map') continue;
    const { declaration, elements: raw } = elementsOf(o);
    sets.push(`${o.kind} ${o.name}\n${(holdsIntervals(declaration) ? mergedIntervals(raw) : raw.map(canonicalElement).sort()).join(',')}`);
  }
  return sha256(sets.sort().join('\n'));
}

/** `a . b . c`, with each IPv6 address in its canonical (RFC 5952) spelling; a map's `key : verdict` as it is. */
function canonicalElement(e: string): string {
  if (!e.includes(':') || e.includes(' : ')) return e;
  return e
    .split(' . ')
    .map((part) => (part.includes(':') ? canonicalIPv6(part) : part))
    .join(' . ');
}

function canonicalIPv6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

/** Numeric intervals (`22`, `5900-5999`) sorted and merged where they touch; anything else as it is. */
function mergedIntervals(raw: string[]): string[] {
  const ranges: [number, number][] = [];
  const other: string[] = [];
  for (const e of raw) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(e);
    if (m) ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
    else other.push(e);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return [...merged.map(([a, b]) => `${a}-${b}`), ...other.sort()];
}
