// Issues 10/12: only numbers, VM ids and validated paths reach sudoers, the table and the firewall. A hostile name
// that NSS hands back (a group member spelled `x\nALL ALL=(ALL) ALL`, `Domain Users`, `host$`) reaches no rendered
// file raw: the user's own view carries it JSON-escaped, and nothing else carries it at all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { renderIptables } from '../../helper/src/plan/iptables.js';
import { aliasFor, renderSudoers } from '../../helper/src/plan/sudoers.js';
import { readSudoers } from '../support/sudoers-read.js';
import { fakeFacts } from './facts.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// Every one carries the marker EVIL so a leak of any part of it is visible.
const HOSTILE = [
  'EVIL\nALL ALL=(ALL) NOPASSWD: ALL',
  'EVIL@corp.example.com',
  'Domain EVIL Users',
  'hostEVIL$',
  'EVIL,x:y=z\\',
  '%EVIL',
  '#0EVIL',
  'EVIL"}],"uid":0,"x":[{"',
  'EVIL\u2028\u0000',
];

function planWithNssMembers() {
  const text = readFileSync(path.join(here, '../fixtures/policies/golden.yaml'), 'utf8');
  const { policy } = mergeFragments([parseFragment('golden.yaml', text).fragment]);
  const facts = fakeFacts();
  // The group `accounting` (entitled to debianx) has members whose names only NSS knows, spelled as it spells them.
  HOSTILE.forEach((name, i) => facts.users.set(name, { name, uid: 2000 + i, gid: 2000 + i }));
  facts.groups.set('accounting', ['carol', ...HOSTILE]);
  return makePlan(policy, facts, { backend: 'nftables', openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null });
}

test('hostile names from NSS reach neither sudoers nor the table nor the firewall', () => {
  const plan = planWithNssMembers();
  const files = { sudoers: plan.sudoers, table: plan.table, nft: plan.nft!, ip4: renderIptables(plan.firewall, 4, { addJump: true }), ip6: renderIptables(plan.firewall, 6, { addJump: false }) };
  for (const [name, text] of Object.entries(files)) assert.doesNotMatch(text, /EVIL/, `${name} carries a name`);
  // They are entitled all the same, by number.
  const allows = readSudoers(plan.sudoers, '/usr/libexec/consolegate/open-console').allows;
  for (let i = 0; i < HOSTILE.length; i++) assert.deepEqual(allows.get(`#${2000 + i}`), ['debianx']);
  assert.deepEqual(JSON.parse(plan.table).vms.debianx.grants.map((g: { uid: number }) => g.uid).sort(), [1000, 1003, ...HOSTILE.map((_, i) => 2000 + i)].sort());
});

test('a hostile name appears only in its own view, JSON-escaped, and reads back exactly', () => {
  const plan = planWithNssMembers();
  HOSTILE.forEach((name, i) => {
    const content = plan.views.get(2000 + i)!.content;
    assert.doesNotMatch(content.replaceAll('\n', ''), /[\u0000-\u001f]/, 'a raw control character');
    const view = JSON.parse(content) as { user: string; uid: number; vms: { command: string[] }[] };
    assert.equal(view.user, name);
    assert.equal(view.uid, 2000 + i);
    assert.deepEqual(view.vms.map((v) => v.command), [['sudo', '-n', '/usr/libexec/consolegate/open-console', 'debianx']]);
  });
  for (const [uid, v] of plan.views) if (uid < 2000) assert.doesNotMatch(v.content, /EVIL/, `view ${uid} carries another user's name`);
});

test('sudoers does not depend on user names at all', () => {
  const grants = HOSTILE.map((user, i) => ({ user, uid: 3000 + i, vm: i % 2 ? 'vm-a' : 'vm_a', addresses: ['192.0.2.1'], ports: [20002], window: null }));
  const opts = { openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: '/var/lib/cg-test', sources: ['p.yaml'] };
  const text = renderSudoers({ ...opts, grants });
  assert.equal(renderSudoers({ ...opts, grants: grants.map((g) => ({ ...g, user: 'x' })) }), text);
  assert.doesNotMatch(text, /EVIL/);
});

test('one alias per VM, each uid once: the shape grows with VMs plus users', () => {
  const vms = Array.from({ length: 50 }, (_, i) => `vm${i}`);
  const grants = Array.from({ length: 200 }, (_, u) => vms.map((vm) => ({ user: 'u', uid: 5000 + u, vm, addresses: [], ports: [], window: null }))).flat();
  const text = renderSudoers({ grants, openConsole: '/o', stateDirArg: null, sources: [] });
  assert.equal(text.split('\n').filter((l) => l.startsWith('Cmnd_Alias ')).length, 50);
  assert.equal(readSudoers(text, '/o').members, 50 + 200 + 50);
});

test('alias names are distinct for distinct VM ids and valid for sudo', () => {
  const ids = ['a-b', 'a_b', 'a__b', 'a_-b', 'a-_b', 'a--b', 'ah', 'a-h', 'a_h', 'a_hb', 'a-hb', '0', 'x-'];
  const aliases = ids.map(aliasFor);
  assert.equal(new Set(aliases).size, ids.length, aliases.join(' '));
  for (const a of aliases) assert.match(a, /^[A-Z][A-Z0-9_]*$/);
  assert.throws(() => aliasFor('A'), /unsafe sudoers word/);
  assert.throws(() => renderSudoers({ grants: [{ user: 'u', uid: 0, vm: 'v', addresses: [], ports: [], window: null }], openConsole: '/o', stateDirArg: null, sources: [] }), /unsafe sudoers word/);
});
