// A policy file parsed again only where it changed. Config management regenerates a 100,000-entitlement file to
// add one line, and reading it all takes js-yaml ~0.5 s. So the last clean parse of each file is kept (its text,
// and what each item of `entitlements` read as); a new text that differs from it only inside whole items of that
// list, when it is the file's last key, is parsed as those items alone, and the rest is taken from the memo.
//
// Why that reads exactly as parsing the whole text would: js-yaml reads left to right, and the only things it
// decides from later lines are where a block scalar or a plain scalar ends, by the next line's indentation. Here
// every piece starts and ends at a line that opens an item at the list's indentation (`  - `), or at the end of the
// file; such a line ends any scalar of the item before it, as the end of the text does. The new items are read
// alone only when they are a clean list of items on their own, and the lines they hold obey the same rule as the
// memo's (`itemLines`): an item line at the list's indentation, or anything indented deeper, a blank line or a
// comment. Anything else (a problem anywhere, a change outside the items, a BOM, CR line ends) parses the whole
// text as before; test/unit/parse-memo.test.ts compares both ways over many edits.
import type { SourcePos } from '../errors.js';
import { parseFragment, readEntitlement, type Fragment, type ParsedFile } from './parse.js';
import { Reader } from './reader.js';
import type { Entitlement, TimeWindow } from './types.js';
import { parseYamlTree, shifted, type YNode } from './yaml-tree.js';

/**
 * One item as read: where its line starts, its line and column, its VM, its users' and groups' names with their
 * positions as pairs (lines after the item's first, column), and its window.
 */
type ItemMemo = [lineStart: number, line: number, col: number, vm: string, users: string[], userPos: number[], groups: string[], groupPos: number[], when: TimeWindow | null];

/** The last clean parse of one file. */
export interface FileMemo {
  file: string;
  text: string;
  /** Indentation of the items' `- `. */
  indent: number;
  /** Where the key `entitlements` is (the fallback position readEntitlement is given). */
  key: SourcePos;
  /** Everything but the entitlements, as read: it comes before them in the text, which a splice keeps as it was. */
  rest: Fragment;
  items: ItemMemo[];
}

/**
 * parseFragment's answer, reusing `memo` (the file's last clean parse) where it can. `memo` of the result: the memo
 * for the next run, built when called (after a whole parse that is 100,000 positions: not on the way to the plan).
 */
export function parseWithMemo(file: string, text: string, memo: FileMemo | null): ParsedFile & { memo: (() => FileMemo) | null } {
  if (memo !== null && memo.file === file) {
    if (memo.text === text) return { fragment: fragmentOf(memo), diagnostics: [], memo: () => memo };
    const next = spliced(memo, text);
    if (next !== null) return { fragment: fragmentOf(next), diagnostics: [], memo: () => next };
  }
  const parsed = parseFragment(file, text);
  return { ...parsed, memo: memoOf(file, text, parsed) };
}

/** The fragment a memo stands for (fresh objects: callers may keep them). */
function fragmentOf(memo: FileMemo): Fragment {
  const file = memo.file;
  const entitlements = memo.items.map(([, line, col, vm, users, userPos, groups, groupPos, when]): Entitlement => ({
    vm,
    users: users.map((name, i) => ({ name, pos: { file, line: line + userPos[2 * i]!, col: userPos[2 * i + 1]! } })),
    groups: groups.map((name, i) => ({ name, pos: { file, line: line + groupPos[2 * i]!, col: groupPos[2 * i + 1]! } })),
    when: when && { ...when, days: when.days && [...when.days] },
    pos: { file, line, col },
  }));
  return { ...structuredClone(memo.rest), entitlements };
}

/**
 * A clean whole-file parse as a memo (built when called: the entitlements it reads are never changed after
 * parsing), or null when it is not one a splice can start from.
 */
function memoOf(file: string, text: string, parsed: ParsedFile): (() => FileMemo) | null {
  const list = parsed.entitlements;
  if (parsed.diagnostics.length > 0 || !list?.last || list.items.length === 0 || !plainText(text)) return null;
  if (list.list.kind !== 'seq' || text.charCodeAt(list.list.start) !== 0x2d /* - */) return null; // a block list
  const first = lineStartOf(text, list.list.start);
  const indent = list.list.start - first;
  // The text's own lines must say where each item starts, exactly as js-yaml did.
  const starts = itemLines(text, first, text.length, indent);
  if (starts === null || starts.length !== list.items.length) return null;
  const entitlements: Entitlement[] = [];
  for (let i = 0; i < starts.length; i++) {
    const node = (list.list as { items: YNode[] }).items[i]!;
    const e = list.items[i];
    if (!e || lineStartOf(text, node.start) !== starts[i]) return null;
    entitlements.push(e);
  }
  const { entitlements: _, ...rest } = parsed.fragment;
  let memo: FileMemo | undefined;
  return () => (memo ??= { file, text, indent, key: list.at, rest: { ...rest, entitlements: [] }, items: entitlements.map((e, i) => itemMemo(starts[i]!, e)) });
}

function itemMemo(lineStart: number, e: Entitlement): ItemMemo {
  const { line, col } = e.pos;
  // One flat array per list, filled in place: a per-vm policy has 100,000 names (flatMap made a pair for each).
  const rel = (names: { pos: SourcePos }[]) => {
    const out = new Array<number>(names.length * 2);
    names.forEach(({ pos }, k) => {
      out[2 * k] = pos.line - line;
      out[2 * k + 1] = pos.col;
    });
    return out;
  };
  return [lineStart, line, col, e.vm, e.users.map((u) => u.name), rel(e.users), e.groups.map((g) => g.name), rel(e.groups), e.when];
}

/**
 * The memo of `text` when it differs from the memo's only inside whole items: those items are read alone, the
 * others taken as they were (moved by the lines and characters before them). Null: parse the whole text.
 */
function spliced(memo: FileMemo, text: string): FileMemo | null {
  const old = memo.text;
  if (!plainText(text)) return null;
  const max = Math.min(old.length, text.length);
  let a = 0;
  while (a < max && old.charCodeAt(a) === text.charCodeAt(a)) a++;
  let b = 0;
  while (b < max - a && old.charCodeAt(old.length - 1 - b) === text.charCodeAt(text.length - 1 - b)) b++;
  // Item boundaries around the change: the last at or before its start, the first at or after its end.
  const bounds = [...memo.items.map((it) => it[0]), old.length];
  let i = bounds.length - 1;
  while (i >= 0 && bounds[i]! > a) i--;
  const j = bounds.findIndex((s) => s >= old.length - b);
  if (i < 0 || j < i) return null;
  // A piece that does not start with an item line (a line appended to a last item without a line end) takes the
  // item before it along, once.
  for (let tries = 0; tries < 2 && i >= 0; tries++, i--) {
    const start = bounds[i]!;
    const end = text.length - (old.length - bounds[j]!);
    const piece = text.slice(start, end);
    // The end of a text without a final line end is no line start.
    if (text.charCodeAt(start - 1) !== 0x0a || (piece !== '' && !piece.startsWith(`${' '.repeat(memo.indent)}- `))) continue;
    if (piece !== '' && !piece.endsWith('\n') && j < memo.items.length) return null;
    const read = readItems(memo, text, start, piece);
    if (read === null) return null;
    const lines = countLines(piece) - countLines(old.slice(start, bounds[j]!));
    const chars = piece.length - (bounds[j]! - start);
    const after = memo.items.slice(j).map(([s, line, ...more]): ItemMemo => [s + chars, line + lines, ...more]);
    return { ...memo, text, items: [...memo.items.slice(0, i), ...read, ...after] };
  }
  return null;
}

/** The items written in `piece` (at `start` in `text`), read alone; null unless they read cleanly, as items. */
function readItems(memo: FileMemo, text: string, start: number, piece: string): ItemMemo[] | null {
  if (piece === '') return [];
  const starts = itemLines(piece, 0, piece.length, memo.indent);
  if (starts === null || starts[0] !== 0) return null;
  const doc = parseYamlTree(piece);
  if (doc.problem || doc.root?.kind !== 'seq' || doc.root.items.length !== starts.length) return null;
  const r = new Reader(memo.file, text);
  const out: ItemMemo[] = [];
  for (let k = 0; k < starts.length; k++) {
    const node = doc.root.items[k]!;
    if (lineStartOf(piece, node.start) !== starts[k]) return null;
    const e = readEntitlement(r, shifted(node, start), memo.key);
    if (e === null || r.diagnostics.length > 0) return null;
    out.push(itemMemo(start + starts[k]!, e));
  }
  return out;
}

/**
 * Where the lines of text[from, to) that open an item (`indent` spaces, then `- `) start; null when a line is none
 * of: such a line, a line indented deeper, a blank line, a comment. Document markers and directives (`---`,
 * `...`, `%`) are at column 0 and never an item line, so an indentation of 0 refuses them too.
 */
function itemLines(text: string, from: number, to: number, indent: number): number[] | null {
  const out: number[] = [];
  for (let s = from; s < to; ) {
    const nl = text.indexOf('\n', s);
    const e = nl < 0 || nl >= to ? to : nl;
    let i = s;
    while (i < e && text.charCodeAt(i) === 0x20) i++;
    const c = text.charCodeAt(i);
    const blank = i === e || c === 0x23; /* # */
    if (!blank) {
      if (i - s === indent && c === 0x2d && text.charCodeAt(i + 1) === 0x20) out.push(s);
      else if (i - s <= indent) return null;
    }
    s = e + 1;
  }
  return out;
}

/** No BOM (offsets would shift), no CR (lines end at LF only) and no tab: what itemLines can judge. */
function plainText(text: string): boolean {
  return text.charCodeAt(0) !== 0xfeff && !text.includes('\r') && !text.includes('\t');
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
