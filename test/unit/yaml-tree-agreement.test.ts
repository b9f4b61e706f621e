// Issue 13: the js-yaml based tree places every node where the yaml package (the parser before issue 13) placed it,
// and reads the same values, on generated YAML in every style a policy is written in. The yaml package is used here
// only, as the reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CORE_SCHEMA, load } from 'js-yaml';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { parseYamlTree, type YNode } from '../../helper/src/policy/yaml-tree.js';

type Gen = { t: 'map'; flow: boolean; entries: [string, Gen][] } | { t: 'seq'; flow: boolean; items: Gen[] } | { t: 'scalar'; text: string };

// Values both parsers type the same way under YAML 1.2 core (js-yaml also reads 0b…, ±0x… and +.5 as numbers).
const WORDS = ['alice', 'vm1', 'bob.smith', '20002', '-3', '0x10', '0o17', '1.5', '1e3', 'true', 'False', 'null', '~', 'yes', 'Mon', '08:00-18:00', '192.0.2.0/24', 'a b', '2001-01-01', '<<'];
const QUOTED = ['"alice"', '"a: b"', "'it''s'", '"\\u00e9"', '"#x"', "''", '"-"', '"20002"'];
const KEYS = ['vm', 'users', 'groups', 'when', 'days', 'tls-port', 'server', 'host', '"quoted key"', '1', 'true', 'null', 'x y'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(r: () => number, depth: number, flow: boolean): Gen {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const roll = r();
  if (depth > 3 || roll < 0.35) {
    const x = r();
    const text = x < 0.1 ? '' : x < 0.2 ? pick(QUOTED) : x < 0.25 ? `!!str ${pick(WORDS)}` : x < 0.3 ? `&a${Math.floor(r() * 9)} ${pick(WORDS)}` : pick(WORDS);
    // An empty flow entry is not YAML; an empty key value in flow is.
    return { t: 'scalar', text: flow && text === '' ? 'x' : text };
  }
  const inner = flow || r() < 0.3;
  const n = Math.floor(r() * 4);
  if (roll < 0.7) {
    const keys = [...new Set(Array.from({ length: n + 1 }, () => pick(KEYS)))];
    return { t: 'map', flow: inner, entries: keys.map((k) => [k, generate(r, depth + 1, inner)]) };
  }
  return { t: 'seq', flow: inner, items: Array.from({ length: n + 1 }, () => generate(r, depth + 1, inner)) };
}

function flowText(g: Gen, r: () => number): string {
  const sp = () => (r() < 0.5 ? ' ' : '');
  if (g.t === 'scalar') return g.text;
  if (g.t === 'seq') return `[${sp()}${g.items.map((i) => flowText(i, r)).join(`,${sp() || ' '}`)}${sp()}]`;
  return `{${sp()}${g.entries.map(([k, v]) => `${k}:${v.t === 'scalar' && v.text === '' ? '' : ' '}${flowText(v, r)}`).join(', ')}${sp()}}`;
}

/** Block rendering at `indent`; the first line's indentation left out when `compact` (after `- `). */
function blockLines(g: Gen, indent: number, r: () => number): string[] {
  const pad = ' '.repeat(indent);
  const comment = () => {
    const x = r();
    return x < 0.1 ? ' # note: x' : x < 0.15 ? '  ' : x < 0.18 ? '\t# tab' : '';
  };
  const out: string[] = [];
  if (g.t === 'scalar' || g.flow) return [`${pad}${flowText(g, r)}`];
  if (g.t === 'map') {
    for (const [k, v] of g.entries) {
      if (r() < 0.1) out.push(`${pad}# a comment`);
      if (v.t === 'scalar' || v.flow) out.push(`${pad}${k}:${v.t === 'scalar' && v.text === '' ? '' : ' '}${flowText(v, r)}${comment()}`);
      else {
        out.push(`${pad}${k}:${comment()}`);
        // A block list may sit at its key's indentation.
        out.push(...blockLines(v, v.t === 'seq' && r() < 0.5 ? indent : indent + 2, r));
      }
    }
    return out;
  }
  for (const item of g.items) {
    if (item.t === 'scalar' && item.text === '') {
      out.push(`${pad}- x`); // a bare \`-\` is refused (see yaml-tree.ts)
    } else if (item.t === 'scalar' || item.flow) {
      out.push(`${pad}-${item.t === 'scalar' && item.text === '' ? '' : ' '}${flowText(item, r)}${comment()}`);
    } else if (r() < 0.6) {
      // Compact: `- vm: vm1` with the rest of the mapping under it.
      const lines = blockLines(item, indent + 2, r);
      const first = lines.findIndex((l) => !l.trimStart().startsWith('#'));
      out.push(...lines.slice(0, first), `${pad}- ${lines[first]!.slice(indent + 2)}`, ...lines.slice(first + 1));
    } else {
      out.push(`${pad}-${comment()}`, ...blockLines(item, indent + 2, r));
    }
  }
  return out;
}

function render(seed: number): string {
  const r = rng(seed);
  const doc = generate(r, 0, false);
  const root: Gen = doc.t === 'map' && !doc.flow ? doc : { t: 'map', flow: false, entries: [['top', doc]] };
  const text = blockLines(root, 0, r).join(r() < 0.2 ? '\r\n' : '\n') + (r() < 0.8 ? '\n' : '');
  return (r() < 0.1 ? '\uFEFF' : '') + text;
}

/** Walks both trees side by side; every node must start at the same offset and hold the same value. */
function same(ref: unknown, mine: YNode | null, where: string): void {
  if (ref === null || ref === undefined) {
    assert.equal(mine, null, `${where}: yaml has no node`);
    return;
  }
  assert.ok(mine, `${where}: no node`);
  const start = (ref as { range: [number] }).range[0];
  if (isScalar(ref)) {
    assert.equal(mine.kind, 'scalar', where);
    assert.ok(Object.is(mine.kind === 'scalar' && mine.value, ref.value), `${where}: ${String(mine.kind === 'scalar' && mine.value)} vs ${String(ref.value)}`);
  } else if (isMap(ref)) {
    assert.equal(mine.kind, 'map', where);
    if (mine.kind !== 'map') return;
    assert.equal(mine.items.length, ref.items.length, `${where}: entries`);
    ref.items.forEach((p, i) => {
      same(p.key, mine.items[i]!.key, `${where}.key${i}`);
      same(p.value, mine.items[i]!.value, `${where}.value${i}`);
    });
  } else if (isSeq(ref)) {
    assert.equal(mine.kind, 'seq', where);
    if (mine.kind !== 'seq') return;
    assert.equal(mine.items.length, ref.items.length, `${where}: items`);
    ref.items.forEach((item, i) => same(item, mine.items[i]!, `${where}[${i}]`));
  } else {
    assert.fail(`${where}: unexpected yaml node ${String(ref)}`);
  }
  assert.equal(mine.start, start, `${where}: starts at ${mine.start}, yaml says ${start}`);
}

test('issue 13: every node starts where the yaml package put it, with the same value, in block, flow and compact styles', () => {
  let compared = 0;
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const text = render(seed);
      const ref = parseDocument(text, { version: '1.2', uniqueKeys: true });
      // Anchors make both parsers accept the text, but the reference reads an anchored value as an Alias-free node too.
      if (ref.errors.length > 0) return;
      const mine = parseYamlTree(text);
      assert.equal(mine.problem, null, `js-yaml refused what yaml read: ${JSON.stringify(mine.problem)}\n${text}`);
      try {
        same(ref.contents, mine.root, 'root');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- text ---\n${text}`);
      }
      compared++;
    }),
    { numRuns: 3000, includeErrorInReport: true },
  );
  // The generator must mostly produce YAML the reference reads, or this test compares nothing.
  assert.ok(compared > 2000, `only ${compared} of 3000 generated documents were compared`);
});

/** The plain value a tree stands for, as js-yaml would build it (keys as strings). */
function valueOf(n: YNode | null): unknown {
  if (n === null) return null;
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(valueOf);
  const out: Record<string, unknown> = {};
  for (const p of n.items) Object.defineProperty(out, String(valueOf(p.key)), { value: valueOf(p.value), enumerable: true, writable: true, configurable: true });
  return out;
}

test('issue 13: on YAML-ish token soup the tree never disagrees with js-yaml: it is what js-yaml read, or a positioned refusal', () => {
  const token = fc.constantFrom(
    '\n', '  ', '    ', '- ', '-', ': ', ':', '? ', '{', '}', '[', ']', ', ', '"', "'", '# c', '&a ', '*a', '!!str ', '!x ', '|', '>', '---\n', '...\n',
    '~', 'null', '<<: ', 'vm', 'users', '1', '0x10', 'true', 'a b', '\t', '\r\n',
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 40 }).map((t) => t.join('')), (text) => {
      const mine = parseYamlTree(text);
      let ref: unknown;
      try {
        ref = load(text, { schema: CORE_SCHEMA });
      } catch {
        assert.ok(mine.problem, `js-yaml refused, the tree did not:\n${JSON.stringify(text)}`);
        return;
      }
      if (mine.problem) {
        assert.ok(mine.problem.offset >= 0 && mine.problem.offset <= text.length, JSON.stringify(mine.problem));
        return;
      }
      assert.deepEqual(valueOf(mine.root), ref ?? null, JSON.stringify(text));
    }),
    { numRuns: 5000, includeErrorInReport: true },
  );
});
