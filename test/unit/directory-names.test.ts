// Names as a directory spells them (issue 12): accepted on load, tied to the right NSS answer, never trusted blindly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDirectoryName, directoryNameProblem, isNumericId, quoteName } from '../../helper/src/policy/names.js';
import type { Exec } from '../../helper/src/system/exec.js';
import { lookupGroups, lookupUsers, lookupUsersByUid, parseGroup, parsePasswd, type Refused } from '../../helper/src/system/nss.js';

test('names SSSD, AD and FreeIPA hand out are accepted', () => {
  for (const ok of ['alice', 'alice@corp.example.com', 'Domain Users', 'CORP\\alice', 'host$', 'BOB', 'first.last', 'Ünïcødé', 'a'.repeat(255), '#1001x', '%admins', 'x ALL=(ALL) ALL']) {
    assert.equal(checkDirectoryName(ok), null, ok);
  }
});

test('what NSS cannot return, or a terminal would act on, is refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['a'.repeat(256), /at most 255 bytes/],
    ['é'.repeat(128), /at most 255 bytes/],
    ['al:ice', /`:`/],
    ['alice\nroot', /control/],
    ['alice\0', /control/],
    ['alice\x1b[2J', /control/],
    ['alice\u009b', /control/],
    ['alice\u2028', /line breaks/],
    ['evil\u202egnp.exe', /bidirectional/],
    [' alice', /white space/],
    ['alice ', /white space/],
    ['1001', /all digits/],
    ['-alice', /`-` or `\+`/],
    ['+@netgroup', /`-` or `\+`/],
  ];
  for (const [name, why] of cases) assert.match(checkDirectoryName(name) ?? 'accepted', why, JSON.stringify(name));
});

test('ids from NSS must be plain decimal numbers', () => {
  for (const ok of ['0', '1000', '4294967294']) assert.equal(isNumericId(ok), true, ok);
  for (const bad of ['', '-1', '1e3', ' 12', '0x10', '01', '4294967295', '12345678901', 'NaN']) assert.equal(isNumericId(bad), false, bad);
});

test('quoteName shows controls and overrides as escapes, nothing raw', () => {
  assert.equal(quoteName('Domain Users'), '"Domain Users"');
  assert.equal(quoteName('a\x1b[31mb\u202e"\\'), '"a\\u001b[31mb\\u202e\\"\\\\"');
  assert.doesNotMatch(quoteName('\u009b\u0085\x7f'), /[\u0080-\u009f\x7f]/);
});

test('passwd and group lines: hostile fields refused, hostile members dropped', () => {
  assert.deepEqual(parsePasswd('alice:*:2700001:2700001:alice:/home/alice:/bin/sh'), { name: 'alice', uid: 2700001, gid: 2700001 });
  assert.match(parsePasswd('alice:*:1e3:100:::') as string, /not plain numbers/);
  assert.match(parsePasswd('alice:*:-1:100:::') as string, /not plain numbers/);
  assert.match(parsePasswd('ev\x1bil:*:1000:100:::') as string, /name "ev\\u001bil"/);
  assert.match(parsePasswd('root ALL=(ALL) ALL') as string, /7 fields/);
  const bad: string[] = [];
  const g = parseGroup('Domain Users:*:2700100:alice,ev\x07il,BOB,1001', (m) => bad.push(m));
  assert.deepEqual(g, { name: 'Domain Users', gid: 2700100, members: ['alice', 'BOB'] });
  assert.deepEqual(bad, ['ev\x07il', '1001']);
});

/**
 * getent as it behaves: one line per key found, in key order, nothing for unknown keys, exit 2 when any was
 * missing. `db` maps a key to the line NSS prints (SSSD prints its own spelling: `alice` for `alice@corp…`).
 */
function fakeGetent(db: Record<string, Record<string, string>>, calls: string[][] = []): Exec {
  return async (argv) => {
    calls.push(argv);
    assert.equal(argv[0], 'getent');
    assert.equal(argv[1], '--', 'keys must never be read as options');
    const table = db[argv[2]!]!;
    const keys = argv.slice(3);
    if (keys.length === 0) return { code: 0, stdout: Object.values(table).map((l) => `${l}\n`).join(''), stderr: '' };
    const lines = keys.flatMap((k) => (k in table ? [table[k]!] : []));
    return { code: lines.length === keys.length ? 0 : 2, stdout: lines.map((l) => `${l}\n`).join(''), stderr: '' };
  };
}

const PASSWD = {
  alice: 'alice:*:2700001:2700001:alice:/:/bin/sh',
  'alice@corp.example.com': 'alice:*:2700001:2700001:alice:/:/bin/sh',
  BOB: 'BOB:*:2700002:2700001:BOB:/:/bin/sh',
  'host$': 'host$:*:2700003:2700003::/:/bin/false',
  // A directory entry whose name holds a line break: getent prints two half-lines.
  mallory: 'mal\nroot:x:0:0:root:/root:/bin/sh',
  '2700001': 'alice:*:2700001:2700001:alice:/:/bin/sh',
  '2700009': 'ev\x1bil:*:2700009:1:::',
};

test('answers are tied to the key asked, even when NSS answers in its own spelling or leaves keys out', async () => {
  const calls: string[][] = [];
  const refused: Refused[] = [];
  const found = await lookupUsers(fakeGetent({ passwd: PASSWD }, calls), ['nobody1', 'alice@corp.example.com', 'nobody2', 'BOB', 'host$', 'bob', 'alice'], undefined, refused);
  assert.deepEqual(Object.fromEntries([...found].map(([k, u]) => [k, u.uid])), { 'alice@corp.example.com': 2700001, BOB: 2700002, 'host$': 2700003, alice: 2700001 });
  assert.equal(found.get('alice@corp.example.com')?.name, 'alice', "NSS's own spelling is kept for display");
  assert.deepEqual(refused, []);
  // One batch, then halves only around the unknown names; far fewer processes than one per name.
  assert.ok(calls.length <= 7, `${calls.length} getent runs`);
});

test('a name with a line break cannot shift answers onto other keys', async () => {
  // Two half-lines from mallory plus nothing for `ghost` would line up with the two keys if counted blindly.
  const found = await lookupUsers(fakeGetent({ passwd: PASSWD }), ['ghost', 'mallory']);
  assert.deepEqual([...found.keys()], []);
  const found2 = await lookupUsers(fakeGetent({ passwd: PASSWD }), ['mallory', 'alice', 'ghost']);
  assert.deepEqual([...found2].map(([k, u]) => [k, u.uid]), [['alice', 2700001]]);
});

test('groups: keyed as asked, members checked', async () => {
  const refused: Refused[] = [];
  const groups = await lookupGroups(fakeGetent({ group: { 'Domain Users': 'Domain Users:*:2700100:alice,ba\x1bd', wheel: 'wheel:x:10:' } }), ['Domain Users', 'nope', 'wheel'], refused);
  assert.deepEqual(groups.get('Domain Users'), { name: 'Domain Users', gid: 2700100, members: ['alice'] });
  assert.deepEqual(groups.get('wheel')?.members, []);
  assert.deepEqual(refused.map((r) => [r.key, r.member]), [['Domain Users', 'ba\x1bd']]);
});

test('audit names: only showable names, only for the uid asked', async () => {
  const names = await lookupUsersByUid(fakeGetent({ passwd: PASSWD }), [2700001, 2700009, 4242]);
  assert.deepEqual([...names], [[2700001, 'alice']]);
});

test('a refused name is shown escaped in the file:line:col message, never raw', async () => {
  const { parseFragment } = await import('../../helper/src/policy/parse.js');
  const { formatDiagnostic } = await import('../../helper/src/errors.js');
  const text = 'version: 1\nentitlements:\n  - vm: vm1\n    users: ["ok", "evil\\u202e\\u009b31m"]\n';
  const msgs = parseFragment('p.yaml', text).diagnostics.map(formatDiagnostic);
  assert.deepEqual(msgs, ['p.yaml:4:19: Invalid user name `evil\\u202e\\u009b31m`: must not contain `:`, control characters, line breaks or bidirectional overrides']);
});

test('a name that resolves to uid 0 is skipped with a warning; the plan still renders (a group holding root)', async () => {
  const { fakeFacts } = await import('./facts.js');
  const { parseFragment } = await import('../../helper/src/policy/parse.js');
  const { mergeFragments } = await import('../../helper/src/policy/merge.js');
  const { makePlan } = await import('../../helper/src/plan/plan.js');
  const text = 'version: 1\nservers:\n  mysrv: { host: 192.0.2.10, ca: /etc/ca.pem, host-subject: "CN=s" }\nvms:\n  vm1: { server: mysrv, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, groups: [wheel], users: [myself] }\n';
  const policy = mergeFragments([parseFragment('p.yaml', text).fragment]).policy;
  const base = fakeFacts();
  const facts = fakeFacts({ users: new Map([...base.users, ['root', { name: 'root', uid: 0, gid: 0 }]]), groups: new Map([['wheel', ['root', 'carol']]]) });
  const plan = makePlan(policy, facts, { backend: 'nftables', openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null });
  assert.deepEqual(plan.grants.map((g) => g.uid).sort(), [1000, 1003]);
  assert.match(plan.skipped.map((s) => s.message).join('\n'), /`root` resolves to uid 0 \(root\), which is never entitled; skipped/);
  assert.doesNotMatch(plan.sudoers, /^#0 /m);
});

test('the shortcut for plain names accepts nothing the rules refuse', () => {
  // Deterministic strings over an alphabet of edge characters (and lengths around the shortcut's limit).
  const alphabet = ['a', 'Z', '_', '0', '9', '-', '+', '.', '@', '$', '\\', ':', ' ', '\t', '\n', '\u202e', 'é', '\u0085'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 20_000; i++) {
    const length = next() % 70;
    const name = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
    assert.equal(checkDirectoryName(name), directoryNameProblem(name), JSON.stringify(name));
  }
  for (const name of ['alice', 'cgb000001', 'CORP\\alice', 'host$', 'a'.repeat(64), 'a'.repeat(65), '1234', '_1']) {
    assert.equal(checkDirectoryName(name), directoryNameProblem(name), name);
  }
});
