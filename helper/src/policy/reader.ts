// A small typed reader over YAML nodes that collects every problem with its file:line:col.
import type { Diagnostic, SourcePos } from '../errors.js';
import { escapeUnshown } from './names.js';
import type { YMap, YNode, YScalar, YSeq } from './yaml-tree.js';

type Maybe<T> = T | null;

/** Reads typed values out of one parsed file; never throws, records diagnostics instead. */
export class Reader {
  readonly diagnostics: Diagnostic[] = [];

  private readonly lines: Lines;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = new Lines(text);
  }

  /** The position of a node (its start), or of the file's start when there is none. */
  pos(node: unknown, fallback?: SourcePos): SourcePos {
    if (!isNode(node)) return fallback ?? { file: this.file, line: 1, col: 1 };
    return this.posAt(node.start);
  }

  /** Position of a character offset, for YAML syntax errors. */
  posAt(offset: number): SourcePos {
    const { line, col } = this.lines.at(offset);
    return { file: this.file, line, col };
  }

  error(at: SourcePos, message: string): void {
    this.diagnostics.push({ pos: at, message });
  }

  /** A mapping's entries by key; reports non-mappings and keys that are not in `allowed`. */
  map(node: unknown, what: string, allowed: readonly string[] | null, at: SourcePos): Maybe<Map<string, { key: YScalar; value: unknown }>> {
    if (!isMap(node)) {
      this.error(this.pos(node, at), `Expected ${what} to be a mapping, got ${describe(node)}`);
      return null;
    }
    const out = new Map<string, { key: YScalar; value: unknown }>();
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.error(this.pos(key, at), `Expected the keys of ${what} to be strings`);
        continue;
      }
      if (allowed && !allowed.includes(key.value)) {
        this.error(this.pos(key, at), `Unknown key \`${key.value}\` in ${what}; expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`);
        continue;
      }
      out.set(key.value, { key, value: pair.value });
    }
    return out;
  }

  /** A sequence's items; reports anything that is not a sequence. */
  seq(node: unknown, what: string, at: SourcePos): Maybe<unknown[]> {
    if (!isSeq(node)) {
      this.error(this.pos(node, at), `Expected ${what} to be a list, got ${describe(node)}`);
      return null;
    }
    return node.items;
  }

  /** A string scalar, checked by `check` (which returns why it is wrong, or null). */
  string(node: unknown, what: string, at: SourcePos, check?: (v: string) => string | null): Maybe<string> {
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.error(this.pos(node, at), `Expected ${what} to be a string, got ${describe(node)}`);
      return null;
    }
    const why = check?.(node.value) ?? null;
    if (why !== null) {
      this.error(this.pos(node, at), `Invalid ${what} \`${printable(node.value)}\`: ${why}`);
      return null;
    }
    return node.value;
  }

  /** An integer scalar within [min, max]. */
  int(node: unknown, what: string, at: SourcePos, min: number, max: number): Maybe<number> {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.error(this.pos(node, at), `Expected ${what} to be an integer ${min}-${max}, got ${describe(node)}`);
      return null;
    }
    return v;
  }

  /** A boolean scalar. */
  bool(node: unknown, what: string, at: SourcePos): Maybe<boolean> {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'boolean') {
      this.error(this.pos(node, at), `Expected ${what} to be true or false, got ${describe(node)}`);
      return null;
    }
    return v;
  }
}

/** Short description of a node for "got …" in messages. */
export function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : `\`${printable(String(node.value))}\``;
  return 'nothing';
}

/** Whether a value read off the tree is a node (and not an absent value). */
export function isNode(node: unknown): node is YNode {
  return typeof node === 'object' && node !== null && typeof (node as { start?: unknown }).start === 'number';
}
/** A scalar node. */
export function isScalar(node: unknown): node is YScalar {
  return isNode(node) && node.kind === 'scalar';
}
function isMap(node: unknown): node is YMap {
  return isNode(node) && node.kind === 'map';
}
function isSeq(node: unknown): node is YSeq {
  return isNode(node) && node.kind === 'seq';
}

/** Offset → 1-based line and column (UTF-16 units, as editors and the yaml package count), lines split at LF. */
class Lines {
  private readonly starts: number[] = [0];
  private last = 0;

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  at(offset: number): { line: number; col: number } {
    const s = this.starts;
    // Nodes are mostly read in file order: try the line of the previous answer first.
    let i = this.last;
    if (!(s[i]! <= offset && (i + 1 >= s.length || offset < s[i + 1]!))) {
      let lo = 0;
      let hi = s.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (s[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    }
    this.last = i;
    return { line: i + 1, col: offset - s[i]! + 1 };
  }
}

/** Renders hostile values visibly (newlines, tabs) and bounded in length. */
export function printable(s: string): string {
  // JSON escapes C0 controls and quotes; escapeUnshown also C1 controls and bidi overrides a terminal would obey.
  const shown = escapeUnshown(JSON.stringify(s).slice(1, -1));
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
