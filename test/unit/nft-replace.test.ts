// The in-place replacement script and the canonical listing (the kernel side is in test/fault/replace-window).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalListing, elementDelta, replaceScript } from '../../helper/src/plan/nft-replace.js';

const listing = (objects: string[]) => `table inet consolegate {\n${objects.join('\n\n')}\n}\n`;
const set = (name: string, elements = '1 . 192.0.2.1 . 5900') => `\tset ${name} {\n\t\ttype uid . ipv4_addr . inet_service\n\t\telements = { ${elements} }\n\t}`;
const chain = (name: string, rule = 'accept') => `\tchain ${name} {\n\t\ttype filter hook output priority filter; policy accept;\n\t\t${rule}\n\t}`;

test('canonical listing: sets by name, then chains, whatever order nft created them in', () => {
  const a = listing([set('w1_v4'), set('allow_v4'), chain('output'), set('protected')]);
  const b = listing([set('allow_v4'), set('protected'), set('w1_v4'), chain('output')]);
  assert.equal(canonicalListing(a), canonicalListing(b));
  assert.equal(canonicalListing(b), b);
  assert.match(canonicalListing(a), /set allow_v4[\s\S]*set protected[\s\S]*set w1_v4[\s\S]*chain output/);
});

test('canonical listing keeps every line, so different contents stay different', () => {
  const a = listing([set('allow_v4', '1 . 192.0.2.1 . 5900'), chain('output')]);
  const b = listing([set('allow_v4', '2 . 192.0.2.1 . 5900'), chain('output')]);
  assert.notEqual(canonicalListing(a), canonicalListing(b));
  assert.equal(canonicalListing(a).split('\n').length, a.split('\n').length);
});

test('no live table: the desired block is the whole script', () => {
  const desired = listing([set('allow_v4'), chain('output')]);
  assert.equal(replaceScript(null, desired), desired);
});

const intervals = `\tset protected {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 20000-20010 }\n\t}`;

test('live table: never deletes the table or a kept chain; flushes chains before deleting what they use', () => {
  const live = listing([set('allow_v4'), set('w1_v4'), intervals, chain('output'), chain('intruder')]);
  const desired = listing([set('allow_v4'), intervals, chain('output')]);
  const script = replaceScript(live, desired);
  assert.deepEqual(script.split('\n').slice(0, 5), [
    'table inet consolegate',
    'flush chain inet consolegate output',
    'flush chain inet consolegate intruder',
    'delete set inet consolegate w1_v4',
    'flush set inet consolegate protected',
  ]);
  // A chain goes last, after every element change: a map element may still jump to it until then.
  assert.equal(script.trimEnd().split('\n').at(-1), 'delete chain inet consolegate intruder');
  assert.doesNotMatch(script, /delete table|delete chain inet consolegate output|(add|delete) element/);
});

test('a set declared alike changes by its differences; its elements are not loaded again', () => {
  const live = listing([set('allow_v4', '1 . 192.0.2.1 . 5900, 2 . 192.0.2.1 . 5900'), chain('output')]);
  const desired = listing([set('allow_v4', '2 . 192.0.2.1 . 5900, 3 . 192.0.2.1 . 5900'), chain('output')]);
  const script = replaceScript(live, desired);
  assert.match(script, /^delete element inet consolegate allow_v4 \{ 1 \. 192\.0\.2\.1 \. 5900 \}$/m);
  assert.match(script, /^add element inet consolegate allow_v4 \{ 3 \. 192\.0\.2\.1 \. 5900 \}$/m);
  assert.doesNotMatch(script, /flush set|elements = /);
  // Deletions and additions come after the block that re-adds the chain's rules: all of it one transaction.
  assert.ok(script.indexOf('chain output {') < script.indexOf('delete element'));
});

test('set deltas: exactly the elements one side lacks, whether few or many differ, and however they moved', () => {
  const n = (k: number) => `${k} . 192.0.2.1 . 5900`;
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => n(a + i));
  // One added in the middle, one taken from the end: few differ, each looked up in the whole other list.
  assert.deepEqual(elementDelta(range(0, 1000), [...range(0, 500), n(5000), ...range(500, 999)]), { gone: [n(999)], added: [n(5000)] });
  // An element that moved from the end towards the start is in both: neither deleted nor added.
  assert.deepEqual(elementDelta(range(0, 1000), [...range(0, 10), n(999), ...range(10, 999)]), { gone: [], added: [] });
  // Many differ: the same answer through sets.
  const was = range(0, 1000);
  const will = [...range(0, 100), ...range(2000, 2200), ...range(300, 1000), n(5)];
  const expected = { gone: range(100, 300).filter((e) => e !== n(5)), added: range(2000, 2200) };
  assert.deepEqual(elementDelta(was, will), expected);
  assert.deepEqual(elementDelta(range(0, 3), range(0, 3)), { gone: [], added: [] });
  // Listed twice on one side (kept at the start, and again among the few that differ): it is still wanted.
  assert.deepEqual(elementDelta([n(1), n(2), n(1)], [n(1), n(3)]), { gone: [n(2)], added: [n(3)] });
  assert.deepEqual(elementDelta([], range(0, 2)), { gone: [], added: range(0, 2) });
});

test('a set whose declaration changed is emptied and refilled whole', () => {
  const live = listing([set('allow_v4'), chain('output')]);
  const desired = listing([set('allow_v4').replace('inet_service', 'inet_service\n\t\tflags timeout'), chain('output')]);
  const script = replaceScript(live, desired);
  assert.match(script, /^flush set inet consolegate allow_v4$/m);
  assert.match(script, /elements = \{ 1 \. 192\.0\.2\.1 \. 5900 \}/);
});

test('a map declared alike changes by its differences too; a chain it jumped to is deleted after the change', () => {
  const map = (elements: string) => `\tmap allow_classes {\n\t\ttype uid : verdict\n\t\telements = { ${elements} }\n\t}`;
  const plain = (name: string) => `\tchain ${name} {\n\t\tip daddr . tcp dport @${name}_v4 accept\n\t}`;
  const live = listing([map('1 : jump allow_ca, 2 : jump allow_ca'), plain('allow_ca'), chain('output')]);
  const desired = listing([map('1 : jump allow_cb, 2 : jump allow_cb'), plain('allow_cb'), chain('output')]);
  const lines = replaceScript(live, desired).trimEnd().split('\n');
  const at = (line: string) => lines.indexOf(line);
  assert.ok(at('delete element inet consolegate allow_classes { 1 : jump allow_ca, 2 : jump allow_ca }') > 0);
  assert.ok(at('add element inet consolegate allow_classes { 1 : jump allow_cb, 2 : jump allow_cb }') > 0);
  assert.ok(at('delete chain inet consolegate allow_ca') > at('delete element inet consolegate allow_classes { 1 : jump allow_ca, 2 : jump allow_ca }'));
  assert.doesNotMatch(lines.join('\n'), /flush map|elements = \{ 1 : jump/);
});
