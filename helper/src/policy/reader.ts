// A small typed reader over YAML nodes that collects every problem with its file:line:col.
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, type Scalar } from 'yaml';
import type { Diagnostic, SourcePos } from '../errors.js';
import { escapeUnshown } from './names.js';

type Maybe<T> = T | null;

/** Reads typed values out of one parsed file; never throws, records diagnostics instead. */
export class Reader {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  /** The position of a node (its start), or of the file's start when there is none. */
  pos(node: unknown, fallback?: SourcePos): SourcePos {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return fallback ?? { file: this.file, line: 1, col: 1 };
    const { line, col } = this.lines.linePos(range[0]);
    return { file: this.file, line, col };
  }

  /** Position of a character offset, for YAML syntax errors. */
  posAt(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  error(at: SourcePos, message: string): void {
    this.diagnostics.push({ pos: at, message });
  }

  /** A mapping's entries by key; reports non-mappings and keys that are not in `allowed`. */
  map(node: unknown, what: string, allowed: readonly string[] | null, at: SourcePos): Maybe<Map<string, { key: Scalar; value: unknown }>> {
    if (!isMap(node)) {
      this.error(this.pos(node, at), `Expected ${what} to be a mapping, got ${describe(node)}`);
      return null;
    }
    const out = new Map<string, { key: Scalar; value: unknown }>();
    for (const pair of node.items as Pair<unknown, unknown>[]) {
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
  return (node as Node).toString();
}

/** Renders hostile values visibly (newlines, tabs) and bounded in length. */
export function printable(s: string): string {
  // JSON escapes C0 controls and quotes; escapeUnshown also C1 controls and bidi overrides a terminal would obey.
  const shown = escapeUnshown(JSON.stringify(s).slice(1, -1));
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
