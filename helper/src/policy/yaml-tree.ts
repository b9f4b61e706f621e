// YAML text → a small tree of mappings, lists and scalars, each knowing the offset it starts at, from ONE js-yaml load.
//
// js-yaml (YAML 1.2 core schema) does all the parsing; its listener reports where each node opened and closed, and
// this file only pins those events onto a tree. Nothing here decides what the YAML means: the events are checked
// against js-yaml's own result (same entries, same values, same objects), and any disagreement is refused, so there
// is no second parser whose reading could differ from the first.
import jsYaml from 'js-yaml';

/** A scalar; `value` null for `~`, `null` and an empty value. */
export interface YScalar {
  kind: 'scalar';
  value: string | number | boolean | null;
  /** Offset in the text where the node starts (after any tag or anchor). */
  start: number;
}
/** One `key: value` entry; `value` is null when the entry has no `:` at all (`{ a }`, `? a`). */
export interface YPair {
  key: YNode;
  value: YNode | null;
}
/** A mapping, entries in the order written. */
export interface YMap {
  kind: 'map';
  items: YPair[];
  start: number;
}
/** A list. */
export interface YSeq {
  kind: 'seq';
  items: YNode[];
  start: number;
}
/** Any node of the tree. */
export type YNode = YScalar | YMap | YSeq;

/** Why the text is not one readable YAML document, and where (an offset in the text). */
export interface YamlProblem {
  offset: number;
  message: string;
}

/** The document's root (null for an empty file), or the first problem. */
export type YamlResult = { root: YNode | null; problem: null } | { root: null; problem: YamlProblem };

/** A refusal raised from inside the listener; aborts the load. */
class Refusal extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * One node while js-yaml reads it and, once closed, the tree node itself (one object for both, all of one shape:
 * a big policy has 10⁵–10⁶ nodes). The fields after `items` are for building only.
 */
interface Frame {
  kind: 'scalar' | 'map' | 'seq';
  value: string | number | boolean | null;
  start: number;
  items: YPair[] | YNode[] | null;
  open: number;
  close: number;
  /** Nodes nested in this one, null until there is one. */
  children: Frame[] | null;
  /** js-yaml's value for the node, to check the tree against. */
  result: unknown;
  /** Nothing was written (an empty value, or the probe that ends a block mapping). */
  empty: boolean;
}

function frame(open: number): Frame {
  return { kind: 'scalar', value: null, start: open, items: null, open, close: open, children: null, result: null, empty: false };
}

/** A closed frame as the tree node it is. */
function asNode(f: Frame): YNode {
  return f as unknown as YNode;
}

// js-yaml's own wording, where today's (yaml package) wording is part of what admins and tests match on.
const REWORDED: Record<string, string> = { 'duplicated mapping key': 'Map keys must be unique' };
// Errors that js-yaml places after the node; they are reported where the node (its tag) starts instead.
const AT_NODE = /^(unknown tag|unacceptable node kind|cannot resolve a node)/;

/** Parses one YAML document; never throws for bad input. */
export function parseYamlTree(text: string): YamlResult {
  // js-yaml drops a leading BOM itself; dropping it here keeps its offsets and ours the same, and `shift` maps
  // them back onto the text as read (so columns on line 1 count the BOM, as they always have).
  const shift = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const src = shift ? text.slice(1) : text;
  const at = (offset: number) => Math.min(offset, src.length) + shift;
  const docs = frame(0);
  const stack: Frame[] = [docs];

  function listener(type: 'open' | 'close', state: jsYaml.State): void {
    if (type === 'open') {
      if (stack.length === 1 && docs.children) {
        throw new Refusal(skipSpace(src, docs.children[0]!.close), 'expected a single document in the stream, but found more');
      }
      stack.push(frame(state.position));
      return;
    }
    const f = stack.pop()!;
    closeNode(src, f, state);
    const parent = stack[stack.length - 1]!;
    if (parent.children) parent.children.push(f);
    else parent.children = [f];
  }

  try {
    jsYaml.load(src, { schema: jsYaml.CORE_SCHEMA, listener });
  } catch (err) {
    if (err instanceof Refusal) return { root: null, problem: { offset: at(err.offset), message: err.reason } };
    if (err instanceof jsYaml.YAMLException) {
      const reason = err.reason.split('\n')[0] ?? '';
      const inner = stack[stack.length - 1]!;
      const offset = AT_NODE.test(reason) && stack.length > 1 ? skipSpace(src, inner.open) : (err.mark?.position ?? 0);
      return { root: null, problem: { offset: at(offset), message: REWORDED[reason] ?? reason } };
    }
    throw err;
  }
  const root = docs.children?.[0];
  if (!root) return { root: null, problem: null };
  return { root: shift ? shifted(asNode(root), shift) : asNode(root), problem: null };
}

/** Makes the frame js-yaml just closed its tree node. */
function closeNode(src: string, f: Frame, state: jsYaml.State): void {
  f.close = state.position;
  const result: unknown = (f.result = state.result);
  const kind = state.kind as 'scalar' | 'mapping' | 'sequence' | null;
  const start = skipProps(src, skipSpace(src, f.open));
  if (kind === null && src.charCodeAt(start) === 0x2a /* * */ && f.close > start) {
    // An alias is a shared reference: walking it is walking its anchor again, and nested ones grow exponentially.
    throw new Refusal(start, `aliases are not supported (${src.slice(start, tokenEnd(src, start))}); write the value out`);
  }
  if (kind === 'mapping' || kind === 'sequence') {
    // js-yaml read the collection as the first "key" of a block mapping that turned out not to be one: the frame is
    // that collection (it keeps its own open/close, which is where its parent saw it).
    const only = f.children?.length === 1 ? f.children[0]! : null;
    if (only && only.result === result) {
      f.kind = only.kind;
      f.start = only.start;
      f.items = only.items;
    } else if (kind === 'mapping') buildMap(src, f, start);
    else buildSeq(src, f, start);
    f.children = null;
    return;
  }
  f.children = null;
  f.value = isPrimitive(result) ? result : null;
  // Nothing written: placed where js-yaml looked for it, past the blanks on that line (as the yaml package did).
  f.empty = kind !== 'scalar';
  f.start = f.empty ? skipBlanks(src, f.open) : start;
}

/** An empty value that js-yaml gave no event of. */
function emptyAt(start: number): YNode {
  const f = frame(start);
  f.start = start;
  return asNode(f);
}

function buildMap(src: string, f: Frame, start: number): void {
  const flow = src.charCodeAt(start) === 0x7b; /* { */
  const obj = f.result as Record<string, unknown>;
  if (typeof obj !== 'object' || obj === null) throw inconsistent(start);
  const items: YPair[] = [];
  let pending: Frame | null = null;
  let from = f.open;
  for (const c of f.children ?? []) {
    // A block value opens right after its `:`; a flow value after a `:` and some space.
    const before = src.charCodeAt(c.open - 1);
    const isValue = flow ? pending !== null && findIndicator(src, from, c.open, 0x3a, -1) >= 0 : before === 0x3a;
    if (isValue) {
      if (!pending) throw inconsistent(c.open);
      addPair(obj, items, pending, asNode(c), c.result);
      pending = null;
    } else if (!flow && c.empty && before !== 0x3f /* ? */) {
      continue; // the look-ahead that found the block mapping's end
    } else {
      if (pending) addPair(obj, items, pending, valueAfter(src, findIndicator(src, from, c.open, 0x3a, -1)), null);
      pending = c;
    }
    from = c.close;
  }
  if (pending) addPair(obj, items, pending, valueAfter(src, findIndicator(src, from, f.close, 0x3a, -1)), null);
  let count = 0;
  for (const k in obj) if (Object.hasOwn(obj, k)) count++;
  if (count !== items.length) throw inconsistent(start);
  f.kind = 'map';
  f.start = start;
  f.items = items;
}

/** Adds one entry, which must be what js-yaml's own result holds under that key. */
function addPair(obj: Record<string, unknown>, items: YPair[], key: Frame, value: YNode | null, result: unknown): void {
  if (key.kind === 'scalar' && !Object.is(obj[String(key.value)], result)) throw inconsistent(key.start);
  items.push({ key: asNode(key), value });
}

/** The value of a key js-yaml gave no value node: an empty one if a `:` follows the key, none at all otherwise. */
function valueAfter(src: string, colon: number): YNode | null {
  return colon < 0 ? null : emptyAt(skipBlanks(src, colon + 1));
}

function buildSeq(src: string, f: Frame, start: number): void {
  const flow = src.charCodeAt(start) === 0x5b; /* [ */
  const result = f.result;
  if (!Array.isArray(result)) throw inconsistent(start);
  const items: YNode[] = [];
  let from = f.open;
  for (const c of f.children ?? []) {
    if (flow) {
      const mark = findIndicator(src, from, c.open, 0x3a, 0x3f);
      if (mark >= 0) throw new Refusal(mark, 'a mapping inside a flow list needs braces, e.g. `[{ a: 1 }]`');
    } else {
      // Entries written as a bare `-` get no event from js-yaml: any `-` before the node's own (the last) is one.
      const dashes = dashesIn(src, from, c.open);
      if (dashes.length === 0) throw inconsistent(c.open);
      if (dashes.length > 1) emptyEntry(src, dashes[0]!);
    }
    items.push(asNode(c));
    from = c.close;
  }
  if (!flow) {
    const dashes = dashesIn(src, from, f.close);
    if (dashes.length > 0) emptyEntry(src, dashes[0]!);
  }
  // The tree must say exactly what js-yaml's own result says: same entries, same values.
  if (result.length !== items.length) throw inconsistent(start);
  for (let i = 0; i < items.length; i++) if (!Object.is(result[i], (items[i] as unknown as Frame).result)) throw inconsistent(items[i]!.start);
  f.kind = 'seq';
  f.start = start;
  f.items = items;
}

/**
 * Refuses an entry written as a bare `-`. js-yaml reads the lines after such an entry as part of its list even when
 * they are less indented (`-\n  -\n- b` gives [[null, "b"]]), and no list in a policy may hold an empty entry anyway.
 */
function emptyEntry(src: string, dash: number): never {
  throw new Refusal(skipBlanks(src, dash + 1), 'a list entry is empty (a `-` with nothing after it)');
}

function inconsistent(offset: number): Refusal {
  return new Refusal(offset, 'this construct is not supported here');
}

function isPrimitive(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isFlowIndicator = (c: number) => c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d;

/** Skips spaces and tabs. */
function skipBlanks(src: string, i: number): number {
  while (src.charCodeAt(i) === 0x20 || src.charCodeAt(i) === 0x09) i++;
  return i;
}

/** Skips spaces, tabs, line breaks and comments, as js-yaml's skipSeparationSpace does. */
function skipSpace(src: string, i: number): number {
  for (;;) {
    const c = src.charCodeAt(i);
    if (isSpace(c)) i++;
    else if (c === 0x23 /* # */) while (i < src.length && src.charCodeAt(i) !== 0x0a && src.charCodeAt(i) !== 0x0d) i++;
    else return i;
  }
}

/** Skips tags (`!!str`) and anchors (`&a`) and the space after them: where the node's content starts. */
function skipProps(src: string, i: number): number {
  for (;;) {
    const c = src.charCodeAt(i);
    if (c !== 0x21 /* ! */ && c !== 0x26 /* & */) return i;
    i = skipSpace(src, tokenEnd(src, i));
  }
}

/** End of a tag, anchor or alias token. */
function tokenEnd(src: string, i: number): number {
  const tag = src.charCodeAt(i) === 0x21;
  let j = i + 1;
  while (j < src.length && !isSpace(src.charCodeAt(j)) && (tag || !isFlowIndicator(src.charCodeAt(j)))) j++;
  return j;
}

/**
 * Offset of the indicator `ch` (or `or`) in the stretch js-yaml skipped between two nodes, or -1. Such a stretch
 * holds only space, comments, properties and indicators, so a `:` there is the pair's separator.
 */
function findIndicator(src: string, from: number, to: number, ch: number, or: number): number {
  for (let i = skipSpace(src, from); i < to; i = skipSpace(src, i)) {
    const c = src.charCodeAt(i);
    if (c === ch || c === or) return i;
    i = c === 0x21 || c === 0x26 ? tokenEnd(src, i) : i + 1;
  }
  return -1;
}

/** Offsets of the `- ` entry indicators in a stretch between two nodes of a block list. */
function dashesIn(src: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = skipSpace(src, from); i < to; i = skipSpace(src, i)) {
    const c = src.charCodeAt(i);
    if (c === 0x2d && (i + 1 >= src.length || isSpace(src.charCodeAt(i + 1)))) out.push(i);
    i = c === 0x21 || c === 0x26 ? tokenEnd(src, i) : i + 1;
  }
  return out;
}

/** The tree with every offset moved by `by` (a file that starts with a BOM; a piece of a text read alone). */
export function shifted(node: YNode, by: number): YNode {
  if (node.kind === 'scalar') return { ...node, start: node.start + by };
  if (node.kind === 'seq') return { ...node, start: node.start + by, items: node.items.map((n) => shifted(n, by)) };
  return { ...node, start: node.start + by, items: node.items.map((p) => ({ key: shifted(p.key, by), value: p.value && shifted(p.value, by) })) };
}
