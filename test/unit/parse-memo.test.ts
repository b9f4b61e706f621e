// The parse memo (policy/parse-memo.ts): a file read as its last clean parse plus the items that changed must read
// exactly as the whole file parsed again: same fragment, same positions, same problems. Checked over thousands of
// random line edits, tricky lines among them (multi-line quoted names, comments, blank lines, bad indentation,
// document markers), each step starting from the memo the step before left.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { parseWithMemo, type FileMemo } from '../../helper/src/policy/parse-memo.js';

const FILE = '/etc/consolegate/policy.yaml';

const HEAD = `version: 1
servers:
  s1: { host: spice.example.com, ca: /etc/ca.pem, host-subject: "CN=spice" }
vms:
  vm1: { server: s1, tls-port: 20001 }
  vm2: { server: s1, tls-port: 20002, title: "Two" }
  vm3: { server: s1, tls-port: 20003 }
`;

/** Whole items an edit may put in. */
const ITEMS = [
  '  - { vm: vm1, users: [alice, bob] }',
  '  - { vm: vm2, users: [carol], groups: [staff] }',
  '  - { vm: vm3, users: ["Domain Users"], when: { days: [Mon, Tue], hours: "08:00-18:00" } }',
];

/** Lines an edit may put in, good and bad. */
const LINES = [
  ...ITEMS,
  '  - vm: vm1',
  '    users: [dave]',
  '    users:',
  '      - erin',
  '      - "frank"',
  '    groups: [ops]',
  '    when: { hours: "09:00-17:00" }',
  '  - { vm: vm2, users: ["Domain',
  '  - Users"] }',
  '    users: ["multi',
  '      line"]',
  '  # a comment',
  '# a comment at column 0',
  '',
  '   ',
  '  -',
  '  - vm2',
  '- { vm: vm1, users: [zoe] }',
  ' - { vm: vm1, users: [yan] }',
  '  - { vm: vm9, users: [alice] }',
  '  - { vm: vm1, users: [alice], extra: 1 }',
  '---',
  '...',
  '  - { vm: vm1, users: [&a alice] }',
  '  - { vm: vm1, users: [*a] }',
  '  - { vm: vm1, users: [bob]',
  '  - { vm: vm3, users: [ann, "b\\u00e9a"] }',
  'entitlements:',
  'vms: {}',
];

const BASE = `${HEAD}entitlements:
  - { vm: vm1, users: [alice, bob] }
  - vm: vm2
    users: [carol]
    groups: [staff]
  # between items
  - { vm: vm3, users: ["Domain Users"], when: { days: [Mon], hours: "08:00-18:00" } }

  - { vm: vm1, users: [dave] }
`;

/** A tiny deterministic generator, so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One random line edit: replace, insert or delete a line, or append one (with or without a final line end). */
function edit(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const at = Math.floor(rand() * lines.length);
  const r = rand();
  // Half the edits keep a good text good (an item in among the items), so most steps have a memo to start from.
  if (rand() < 0.5) {
    const first = lines.indexOf('entitlements:') + 1;
    const i = first + Math.floor(rand() * (lines.length - first));
    if (!/^  [- ]/.test(lines[i] ?? '  -')) return text;
    lines.splice(i, r < 0.5 ? 0 : 1, ...(r < 0.8 ? [pick(ITEMS)] : []));
    return lines.join('\n');
  }
  if (r < 0.3) lines.splice(at, 1, pick(LINES));
  else if (r < 0.6) lines.splice(at, 0, pick(LINES));
  else if (r < 0.8) lines.splice(at, 1);
  else return rand() < 0.8 ? `${text}${text.endsWith('\n') ? '' : '\n'}${pick(LINES)}\n` : `${text}${pick(LINES)}`;
  return lines.join('\n');
}

/** The whole parse, as parseWithMemo must answer it. */
function whole(text: string) {
  const { fragment, diagnostics } = parseFragment(FILE, text);
  return { fragment, diagnostics };
}

test('a file read through its last parse reads as the whole file, over random edits', () => {
  let spliced = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const rand = rng(seed);
    let text = BASE;
    let memo: FileMemo | null = parseWithMemo(FILE, text, null).memo?.() ?? null;
    assert.ok(memo, 'the base policy leaves a memo');
    for (let step = 0; step < 60; step++) {
      // Mostly small steps from a good text; now and then back to the base, so most steps have a memo.
      const next = rand() < 0.1 ? BASE : edit(text, rand);
      const got = parseWithMemo(FILE, next, memo);
      const want = whole(next);
      assert.deepEqual({ fragment: got.fragment, diagnostics: got.diagnostics }, want, `seed ${seed}, step ${step}:\n--- before\n${text}\n--- after\n${next}`);
      const left = got.memo?.() ?? null;
      if (left && memo && left !== memo && left.rest === memo.rest) spliced++;
      if (left) assert.deepEqual(parseWithMemo(FILE, next, null).memo?.(), left, `seed ${seed}, step ${step}: the memo a splice leaves is the one a whole parse would`);
      text = next;
      memo = left ?? memo;
    }
  }
  assert.ok(spliced > 300, `only ${spliced} steps were read as a splice`);
});

test('only the changed items are read again: the others come from the memo', () => {
  const memo = parseWithMemo(FILE, BASE, null).memo!();
  // A memo whose first item names a user the text does not: whatever is read from it shows that name.
  const forged: FileMemo = { ...memo, items: memo.items.map((it, i) => (i === 0 ? [it[0], it[1], it[2], it[3], ['mallory', 'bob'], it[5], it[6], it[7], it[8]] : it)) };
  const appended = `${BASE}  - { vm: vm2, users: [erin] }\n`;
  const got = parseWithMemo(FILE, appended, forged);
  const names = got.fragment.entitlements.map((e) => e.users.map((u) => u.name));
  assert.deepEqual(names, [['mallory', 'bob'], ['carol'], ['Domain Users'], ['dave'], ['erin']]);
  assert.deepEqual(got.fragment.entitlements[4]!.users[0]!.pos, { file: FILE, line: 17, col: 24 });
  // An edit of the first item reads it again from the text.
  const edited = BASE.replace('users: [alice, bob]', 'users: [alice, bob, zed]');
  assert.deepEqual(
    parseWithMemo(FILE, edited, forged).fragment.entitlements[0]!.users.map((u) => u.name),
    ['alice', 'bob', 'zed'],
  );
  // A change outside the items (a VM) parses the whole text.
  const retitled = BASE.replace('title: "Two"', 'title: "Second"');
  assert.deepEqual(parseWithMemo(FILE, retitled, forged).fragment, whole(retitled).fragment);
});

test('no memo where a splice could not be judged: entitlements not last, a problem, CR line ends, a tab', () => {
  const notLast = `entitlements:\n  - { vm: vm1, users: [alice] }\n${HEAD}`;
  assert.equal(parseWithMemo(FILE, notLast, null).memo, null);
  assert.equal(parseWithMemo(FILE, `${BASE}  - { vm: vm9, users: [alice] }\n`.replace('vm9', 'vm 9'), null).memo, null);
  assert.equal(parseWithMemo(FILE, BASE.replaceAll('\n', '\r\n'), null).memo, null);
  assert.equal(parseWithMemo(FILE, BASE.replace('users: [dave]', 'users:\t[dave]'), null).memo, null);
  // A multi-line quoted name whose second line looks like an item: the lines and js-yaml disagree, so no memo.
  const quoted = `${BASE}  - { vm: vm2, users: ["Domain\n  - Users"] }\n`;
  assert.equal(whole(quoted).diagnostics.length, 0);
  assert.equal(parseWithMemo(FILE, quoted, null).memo, null);
});
