// Issue 12 item 4 (sudo stays fast): the sudoers file names each entitled uid once. Users with the identical set of
// VMs share one User_Alias and one rule; a group entitled as a whole is one `%#gid`; a user alone in her set keeps
// the plain `#uid` line. What the file allows, read back as sudo resolves it, is exactly the grants.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import type { Grant } from '../../helper/src/plan/grants.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { groupGrants, renderSudoers, type GroupGrant } from '../../helper/src/plan/sudoers.js';
import { readSudoers } from '../support/sudoers-read.js';
import { fakeFacts } from './facts.js';

const OC = '/usr/libexec/consolegate/open-console';
const OPTS = { openConsole: OC, stateDirArg: null, sources: ['p.yaml'] };

function grant(uid: number, vm: string): Grant {
  return { user: `u${uid}`, uid, vm, addresses: ['192.0.2.1'], ports: [20002], window: null };
}

// uid → its VM ids, as the grants give them (what the file must allow, and nothing else).
function expected(grants: Grant[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const g of grants) m.set(`#${g.uid}`, (m.get(`#${g.uid}`) ?? new Set()).add(g.vm));
  return new Map([...m].map(([w, s]) => [w, [...s].sort()]));
}

function planFor(entitlements: string, facts = fakeFacts()) {
  const text = `version: 1
servers:
  mysrv: { host: 192.0.2.10, ca: /etc/ca.pem, host-subject: "CN=s" }
vms:
  vm1: { server: mysrv, tls-port: 20002 }
  vm2: { server: mysrv, tls-port: 20004 }
  vm3: { server: mysrv, tls-port: 20006 }
entitlements:
${entitlements}`;
  const parsed = parseFragment('p.yaml', text);
  assert.deepEqual(parsed.diagnostics, []);
  const { policy } = mergeFragments([parsed.fragment]);
  return { policy, facts, plan: makePlan(policy, facts, { backend: 'nftables', openConsole: OC, stateDirArg: null }) };
}

test('users with the identical set of VMs share one User_Alias and one rule; a user alone keeps her #uid line', () => {
  const grants = [grant(1005, 'vm1'), grant(1005, 'vm2'), grant(1001, 'vm2'), grant(1001, 'vm1'), grant(1003, 'vm3'), grant(1002, 'vm1'), grant(1004, 'vm1')];
  const text = renderSudoers({ ...OPTS, grants });
  assert.deepEqual(text.split('\n').slice(6), [
    'User_Alias CG_U_1 = #1001, #1005',
    'CG_U_1 ALL=(root) NOPASSWD: CG_VM1, CG_VM2',
    'User_Alias CG_U_2 = #1002, #1004',
    'CG_U_2 ALL=(root) NOPASSWD: CG_VM1',
    '#1003 ALL=(root) NOPASSWD: CG_VM3',
    '',
  ]);
  assert.deepEqual(readSudoers(text, OC).allows, expected(grants));
});

test('the file allows exactly the grants, and names each uid once, whatever their shape', () => {
  // Deterministic pseudo-random grants: 300 users over 40 VMs, sets drawn from a few patterns and some one-offs.
  let seed = 12;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const grants: Grant[] = [];
  for (let u = 0; u < 300; u++) {
    const pattern = u % 7 === 0 ? 1000 + u : rnd(9);
    for (let j = 0; j < 1 + (pattern % 5); j++) grants.push(grant(4000 + u, `vm${(pattern * 7 + j * 13) % 40}`));
  }
  const text = renderSudoers({ ...OPTS, grants });
  const read = readSudoers(text, OC);
  assert.deepEqual(read.allows, expected(grants));
  for (let u = 0; u < 300; u++) assert.equal(text.split(`#${4000 + u}`).length, 2, `uid ${4000 + u} named once`);
});

test('the shape grows with VMs plus users: 200 users on the same 50 VMs are one alias and one rule', () => {
  const vms = Array.from({ length: 50 }, (_, i) => `vm${i}`);
  const grants = Array.from({ length: 200 }, (_, u) => vms.map((vm) => grant(5000 + u, vm))).flat();
  const text = renderSudoers({ ...OPTS, grants });
  const read = readSudoers(text, OC);
  // 50 commands, 200 uids, 50 alias references: not 200 × 50.
  assert.equal(read.members, 50 + 200 + 50);
  assert.equal(text.trimEnd().split('\n').length, 3 + 50 + 2);
});

test('the same grants in any order give the same bytes (apply compares the file byte for byte)', () => {
  const grants = [grant(7, 'vm1'), grant(3, 'vm1'), grant(9, 'vm2'), grant(3, 'vm2'), grant(7, 'vm2'), grant(11, 'vm3')];
  const groups: GroupGrant[] = [{ gid: 900, vm: 'vm3', covers: [] }, { gid: 800, vm: 'vm1', covers: [] }, { gid: 900, vm: 'vm1', covers: [] }];
  const text = renderSudoers({ ...OPTS, grants, groups });
  for (let i = 0; i < 20; i++) {
    const shuffled = [...grants].sort(() => Math.random() - 0.5);
    assert.equal(renderSudoers({ ...OPTS, grants: shuffled, groups: [...groups].reverse() }), text);
  }
});

test('a group entitled as a whole is one %#gid; its members get no #uid of their own for that VM', () => {
  const facts = fakeFacts({
    groups: new Map([['accounting', ['carol', 'maggie', 'anne']]]),
    groupGids: new Map([['accounting', 1500]]),
  });
  const { plan } = planFor('  - { vm: vm1, groups: [accounting] }\n  - { vm: vm2, users: [myself] }\n', facts);
  assert.deepEqual(plan.sudoers.split('\n').slice(5), ['#1000 ALL=(root) NOPASSWD: CG_VM2', '%#1500 ALL=(root) NOPASSWD: CG_VM1', '']);
  // The firewall and the root-only table still list every member by uid: open-console checks the table.
  const table = JSON.parse(plan.table) as { vms: Record<string, { grants: { uid: number }[] }> };
  assert.deepEqual(table.vms.vm1!.grants.map((g) => g.uid).sort(), [1001, 1002, 1003]);
  assert.deepEqual(plan.grants.filter((g) => g.vm === 'vm1').map((g) => g.uid).sort(), [1001, 1002, 1003]);
});

test('a member also named by her user name keeps her #uid (no wait for a new login); other VMs stay hers alone', () => {
  const facts = fakeFacts({ groups: new Map([['accounting', ['carol', 'maggie']]]), groupGids: new Map([['accounting', 1500]]) });
  const { plan, policy } = planFor('  - { vm: vm1, groups: [accounting], users: [maggie] }\n  - { vm: vm2, users: [carol] }\n', facts);
  assert.deepEqual(groupGrants(policy, facts, plan.grants), [{ gid: 1500, vm: 'vm1', covers: [1003] }]);
  assert.deepEqual(readSudoers(plan.sudoers, OC).allows, new Map([['#1001', ['vm1']], ['#1003', ['vm2']], ['%#1500', ['vm1']]]));
});

test('groups with the same set of VMs share an alias with users of that set; gid 0 and unknown gids fall back to uids', () => {
  const facts = fakeFacts({
    groups: new Map([['accounting', ['carol']], ['sales', ['anne']], ['wheel', ['maggie']], ['nogid', ['myself']]]),
    groupGids: new Map([['accounting', 1500], ['sales', 1400], ['wheel', 0]]),
  });
  const { plan } = planFor('  - { vm: vm1, groups: [accounting, sales, wheel, nogid] }\n', facts);
  assert.deepEqual(plan.sudoers.split('\n').slice(4), ['User_Alias CG_U_1 = #1000, #1001, %#1400, %#1500', 'CG_U_1 ALL=(root) NOPASSWD: CG_VM1', '']);
});

test('a group whose members are all unknown here, or whose server is down, renders no rule', () => {
  const facts = fakeFacts({ groups: new Map([['accounting', ['nobody-here']]]), groupGids: new Map([['accounting', 1500]]) });
  assert.doesNotMatch(planFor('  - { vm: vm1, groups: [accounting] }\n', facts).plan.sudoers, /%#|CG_VM1/);
  const down = fakeFacts({ groups: new Map([['accounting', ['carol']]]), groupGids: new Map([['accounting', 1500]]), serverProblems: new Map([['mysrv', 'down']]) });
  assert.doesNotMatch(planFor('  - { vm: vm1, groups: [accounting] }\n', down).plan.sudoers, /%#|CG_VM1/);
});

test('hostile group and member names never reach the file: only gids, uids and our own alias names', () => {
  // Group names as a policy may spell them (any name NSS resolves); member names as NSS may answer (anything).
  const groups = ['EVIL ALL=(ALL) ALL', '%EVIL', 'CG_U_1EVIL', 'Domain EVIL Users', 'EVIL@corp.example.com'];
  const members = ['EVIL\nALL ALL=(ALL) NOPASSWD: ALL', '#0EVIL', 'EVIL,x:y=z\\', 'hostEVIL$', 'EVIL\u2028'];
  const users = new Map(members.map((name, i) => [name, { name, uid: 6000 + i, gid: 6000 + i }]));
  const facts = fakeFacts({
    users: new Map([...fakeFacts().users, ...users]),
    groups: new Map(groups.map((g, i) => [g, [members[i]!]])),
    groupGids: new Map(groups.map((g, i) => [g, 7000 + i])),
  });
  const list = groups.map((g) => JSON.stringify(g)).join(', ');
  const { plan } = planFor(`  - { vm: vm1, groups: [${list}] }\n  - { vm: vm2, groups: [${JSON.stringify(groups[0])}] }\n`, facts);
  assert.doesNotMatch(plan.sudoers, /EVIL/);
  const read = readSudoers(plan.sudoers, OC);
  assert.deepEqual(read.allows.get('%#7000'), ['vm1', 'vm2']);
  assert.deepEqual(read.allows.get('%#7004'), ['vm1']);
  assert.equal(read.allows.get('#6000'), undefined, 'covered by its group');
  assert.deepEqual(JSON.parse(plan.table).vms.vm1.grants.map((g: { uid: number }) => g.uid).sort(), [6000, 6001, 6002, 6003, 6004]);
});

test('a gid or uid that is not a positive integer is refused, not written', () => {
  for (const gid of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => renderSudoers({ ...OPTS, grants: [], groups: [{ gid, vm: 'vm1', covers: [] }] }), /unsafe sudoers word/, String(gid));
  }
  assert.throws(() => renderSudoers({ ...OPTS, grants: [], groups: [{ gid: 5, vm: 'VM1', covers: [] }] }), /unsafe sudoers word/);
  assert.throws(() => renderSudoers({ ...OPTS, grants: [grant(0, 'vm1')] }), /unsafe sudoers word/);
});
