// A plan built on the last one (plan/view-reuse.ts, plan/table-reuse.ts) must be the plan made without it: every
// view key and text (the kept views' texts rendered when read) and the console table byte for byte, while
// rendering only the views of users whose grants changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makePlan, type Plan } from '../../helper/src/plan/plan.js';
import { planViews } from '../../helper/src/plan/view-reuse.js';
import { aliasFor } from '../../helper/src/plan/sudoers.js';
import { expandGrants } from '../../helper/src/plan/grants.js';
import type { ViewKeys } from '../../helper/src/plan/view-keys.js';
import type { Entitlement, Policy } from '../../helper/src/policy/types.js';
import { CASE_SPECS, renderCase, type RenderCase } from '../support/render-cases.js';

const OPTS = { backend: 'nftables' as const, openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null };

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const withEntitlements = (c: RenderCase, entitlements: Entitlement[]): RenderCase => ({ ...c, policy: { ...c.policy, entitlements } as Policy });

/** One random edit of the entitlements, as an admin makes them: a name added or dropped, a window, an item. */
function edit(c: RenderCase, rnd: () => number): RenderCase {
  const list = [...c.policy.entitlements];
  const i = Math.floor(rnd() * list.length);
  const e = list[i]!;
  const names = [...c.facts.users.keys()];
  const someone = { name: names[Math.floor(rnd() * names.length)]!, pos: e.pos };
  switch (Math.floor(rnd() * 6)) {
    case 0:
      list[i] = { ...e, users: [...e.users, someone] };
      break;
    case 1:
      list[i] = { ...e, users: e.users.slice(1) };
      break;
    case 2:
      list[i] = { ...e, when: e.when ? null : { days: ['Tue'], hours: '09:00-12:00', start: 540, end: 720 } };
      break;
    case 3:
      list.splice(i, 0, { ...e, users: [someone], groups: [] });
      break;
    case 4:
      list.splice(i, 1);
      break;
    default:
      // A name that is no user here (skipped), or the same uid under a second name.
      list[i] = { ...e, users: [{ name: 'ghost', pos: e.pos }, ...e.users] };
  }
  return withEntitlements(c, list);
}

/** Asserts the plan made with `last` (keys, table, sudoers) is the plan made without; returns how many views it rendered. */
function sameAsWhole(next: RenderCase, last: ViewKeys, what: string, table: string | null = null, sudoers: string | null = null): number {
  const whole = makePlan(next.policy, next.facts, OPTS);
  const reused = makePlan(next.policy, next.facts, OPTS, {}, { viewKeys: last, table, sudoers });
  assert.equal(reused.table, whole.table, `${what}: the console table`);
  assert.equal(reused.sudoers, whole.sudoers, `${what}: sudoers`);
  assert.deepEqual(reused.viewKeys, whole.viewKeys, `${what}: view keys`);
  assert.deepEqual([...reused.views.keys()], [...whole.views.keys()], `${what}: the users, in order`);
  for (const [uid, v] of whole.views) assert.equal(reused.views.get(uid)!.content, v.content, `${what}: the view of ${uid}`);
  return planViews(next.policy, expandGrants(next.policy, next.facts).grants, OPTS, last).rendered;
}

for (const spec of CASE_SPECS) {
  test(`${spec.name}: a plan made with the last plan's view keys is the plan made without them (200 random edits)`, () => {
    const rnd = random(spec.name.length * 7919);
    let c = renderCase(spec);
    let last: Plan = makePlan(c.policy, c.facts, OPTS);
    let partial = 0;
    for (let round = 0; round < 200; round++) {
      const next = edit(c, rnd);
      const rendered = sameAsWhole(next, last.viewKeys, `${spec.name} edit ${round}`, last.table, last.sudoers);
      if (rendered < last.views.size / 4) partial++;
      c = next;
      last = makePlan(c.policy, c.facts, OPTS);
    }
    assert.ok(partial > 50, `only ${partial} of 200 edits rendered fewer views than all`);
  });
}

test('one changed entitlement renders the views of its users only; a renamed user, a retitled VM or other options render all', () => {
  const c = renderCase(CASE_SPECS[2]!);
  const last = makePlan(c.policy, c.facts, OPTS);
  const [first, ...rest] = c.policy.entitlements;
  const someone = [...c.facts.users.values()].find((u) => !first!.users.some((x) => x.name === u.name))!;
  const added = withEntitlements(c, [{ ...first!, users: [...first!.users, { name: someone.name, pos: first!.pos }] }, ...rest]);
  const named = new Set([...first!.users.map((u) => c.facts.users.get(u.name)?.uid), someone.uid]);
  const grants = expandGrants(added.policy, added.facts).grants;
  const vmUsers = new Set(grants.filter((g) => g.vm === first!.vm).map((g) => g.uid));
  const rendered = sameAsWhole(added, last.viewKeys, 'one user added', last.table, last.sudoers);
  assert.ok(rendered <= vmUsers.size && rendered >= named.size - 1, `rendered ${rendered} views; the VM has ${vmUsers.size} users`);
  assert.equal(sameAsWhole(c, last.viewKeys, 'unchanged', last.table, last.sudoers), 0, 'nothing changed: nothing rendered');
  // What the table says of a VM changed with its grants the same: a CA file replaced, another zone offset.
  sameAsWhole({ ...c, facts: { ...c.facts, ca: new Map([...c.facts.ca].map(([k, v]) => [k, `${v}renewed\n`])) } }, last.viewKeys, 'CA replaced', last.table, last.sudoers);
  sameAsWhole({ ...c, facts: { ...c.facts, utcOffsetMinutes: c.facts.utcOffsetMinutes + 60 } }, last.viewKeys, 'zone offset', last.table, last.sudoers);

  // The same uid under another name: her view says the new name.
  const renamedUser = c.facts.users.get(first!.users[0]!.name)!;
  const users = new Map(c.facts.users);
  users.delete(renamedUser.name);
  users.set('renamed', { ...renamedUser, name: 'renamed' });
  const renamed = { policy: { ...c.policy, entitlements: c.policy.entitlements.map((e) => ({ ...e, users: e.users.map((u) => (u.name === renamedUser.name ? { ...u, name: 'renamed' } : u)) })) } as Policy, facts: { ...c.facts, users }, name: 'renamed' };
  assert.ok(sameAsWhole(renamed, last.viewKeys, 'renamed', last.table, last.sudoers) >= 1);

  const [id, vm] = [...c.policy.vms][0]!;
  const vms = new Map(c.policy.vms).set(id, { ...vm, title: `${vm.title} (moved)` });
  const retitled = { ...c, policy: { ...c.policy, vms } as Policy };
  assert.equal(sameAsWhole(retitled, last.viewKeys, 'retitled', last.table, last.sudoers), makePlan(c.policy, c.facts, OPTS).views.size, 'another salt: every view rendered');
});

/** A case's plan, and the case with the first entitlement's first user dropped (one VM's grants change). */
function firstUserDropped(c: RenderCase): { last: Plan; first: Entitlement; next: RenderCase } {
  const last = makePlan(c.policy, c.facts, OPTS);
  const [first, ...rest] = c.policy.entitlements;
  return { last, first: first!, next: withEntitlements(c, [{ ...first!, users: first!.users.slice(1) }, ...rest]) };
}

test('an unchanged VM keeps its block of the last table as it was handed over (the caller hands only the text it hashed)', () => {
  const { last, first, next } = firstUserDropped(renderCase(CASE_SPECS[2]!));
  const whole = makePlan(next.policy, next.facts, OPTS).table;
  const other = [...next.policy.vms.keys()].find((id) => id !== first.vm && last.table.includes(`    "${id}": {`))!;
  // A forged grant in another VM's block: kept, so it shows (a forged title would not be: what the table says of a
  // VM is compared before its block is kept); the changed VM's block is rendered anew.
  const at = last.table.indexOf(`    "${other}": {`);
  const uidAt = last.table.indexOf('"uid": ', at) + '"uid": '.length;
  const uid = /^\d+/.exec(last.table.slice(uidAt))![0];
  const forged = `${last.table.slice(0, uidAt)}4242424${last.table.slice(uidAt + uid.length)}`;
  const built = makePlan(next.policy, next.facts, OPTS, {}, { viewKeys: last.viewKeys, table: forged, sudoers: null }).table;
  assert.notEqual(built, whole);
  assert.equal(built.replace('"uid": 4242424', `"uid": ${uid}`), whole);
  const retitled = last.table.replace(new RegExp(`( {4}"${other}": \\{\n {6}"title": )"[^"]*"`), '$1"forged"');
  assert.notEqual(retitled, last.table);
  assert.equal(makePlan(next.policy, next.facts, OPTS, {}, { viewKeys: last.viewKeys, table: retitled, sudoers: null }).table, whole);
});

test('an unchanged user keeps her set from the last sudoers file; a file not laid out as written is built whole', () => {
  const { last, first, next } = firstUserDropped(renderCase(CASE_SPECS[2]!));
  const whole = makePlan(next.policy, next.facts, OPTS).sudoers;
  const built = (sudoers: string) => makePlan(next.policy, next.facts, OPTS, {}, { viewKeys: last.viewKeys, table: null, sudoers }).sudoers;
  // Others' rule, handed over with one VM less: kept, so it shows (the caller hands only the text it hashed).
  const changedAlias = aliasFor(first.vm);
  const rule = last.sudoers.split('\n').find((l) => /^(#\d+|CG_U_\d+) ALL=\(root\) NOPASSWD: CG_\w+, /.test(l) && !l.split(/[ ,]+/).includes(changedAlias))!;
  const shorter = rule.replace(/NOPASSWD: CG_\w+, /, 'NOPASSWD: ');
  const kept = built(last.sudoers.replace(rule, shorter));
  assert.notEqual(kept, whole);
  assert.ok(kept.includes(`NOPASSWD: ${shorter.split('NOPASSWD: ')[1]}\n`), 'a kept set comes from the last file');
  assert.equal(built(last.sudoers), whole);
  for (const [what, text] of [
    ['truncated', last.sudoers.slice(0, last.sudoers.length / 2)],
    ['a comment added', last.sudoers.replace('\nCmnd_Alias', '\n# hello\nCmnd_Alias')],
    ['a rule for a name', `${last.sudoers}alice ALL=(root) NOPASSWD: CG_VM1\n`],
    ['a group rule', last.sudoers.replace(/\n$/, '\n%#4000 ALL=(root) NOPASSWD: CG_VM1\n')],
    ['a group in an alias', last.sudoers.replace(/^(User_Alias CG_U_1 = #\d+)/m, '$1, %#4000')],
    ['empty', ''],
  ] as const) {
    assert.equal(built(text), whole, what);
  }
});

test('groups entitled as a whole (a gid known now, or before) build sudoers whole', () => {
  const c = renderCase(CASE_SPECS.find((s) => s.shape === 'group')!);
  const withGids = { ...c, facts: { ...c.facts, groupGids: new Map([['everyone', 2000], ['shift', 2001]]) } };
  const pairs: [RenderCase, RenderCase][] = [
    [c, withGids],
    [withGids, c],
  ];
  for (const [from, to] of pairs) {
    const last = makePlan(from.policy, from.facts, OPTS);
    sameAsWhole(to, last.viewKeys, 'groups', last.table, last.sudoers);
    sameAsWhole(edit(to, random(7)), last.viewKeys, 'groups, edited', last.table, last.sudoers);
  }
});

test('a last table that is not laid out as written is not cut into blocks', () => {
  const { last, next } = firstUserDropped(renderCase(CASE_SPECS[0]!));
  const t = last.table;
  const firstVm = /\n {4}("[^"]+"): \{/.exec(t)![1]!;
  for (const [what, text] of [
    ['truncated', t.slice(0, t.length / 2)],
    ['no final newline', t.slice(0, -1)],
    ['compact', `${JSON.stringify(JSON.parse(t))}\n`],
    ['a VM renamed', t.replace(`    ${firstVm}: {`, '    "zz-other": {')],
    ['a block indented', t.replace(`    ${firstVm}: {`, `     ${firstVm}: {`)],
    ['empty', ''],
  ] as const) {
    sameAsWhole(next, last.viewKeys, what, text);
  }
});

test('last keys that are damaged or from an older format are not trusted with anything', () => {
  const c = renderCase(CASE_SPECS[0]!);
  const lastPlan = makePlan(c.policy, c.facts, OPTS);
  const last = lastPlan.viewKeys;
  const broken: ViewKeys[] = [
    { salt: last.salt, keys: last.keys },
    { ...last, basis: Object.fromEntries(Object.keys(last.basis!).map((k) => [k, 7])) as unknown as Record<string, string> },
    { ...last, keys: Object.fromEntries(Object.keys(last.keys).map((k) => [k, 7])) as unknown as Record<string, string> },
    { ...last, basis: null as unknown as Record<string, string> },
  ];
  for (const [i, b] of broken.entries()) sameAsWhole(c, b, `damaged ${i}`, lastPlan.table, lastPlan.sudoers);
});
