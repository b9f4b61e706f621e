// View keys (plan/view-keys.ts): a view's hash is taken from the last digest only where salt and key say the text is
// the same. Checked against the texts themselves: every reused hash must be the hash of the view as rendered now.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ViewFile } from '../../helper/src/boundary/index.js';
import { digestOf, viewHash } from '../../helper/src/plan/digest.js';
import { makePlan, type Plan } from '../../helper/src/plan/plan.js';
import { viewKeys } from '../../helper/src/plan/view-keys.js';
import type { Policy } from '../../helper/src/policy/types.js';
import { CASE_SPECS, renderCase, type RenderCase } from '../support/render-cases.js';

const OPTS = { backend: 'nftables' as const, openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null };

const planOf = (c: RenderCase, opts = OPTS): Plan => makePlan(c.policy, c.facts, opts);

/** Every view's hash as its text gives it. */
const direct = (p: Plan) => Object.fromEntries([...p.views].map(([uid, v]) => [String(uid), viewHash(v.content)]));

/** A case with one VM's title changed (renamed in every view that lists it). */
function retitled(c: RenderCase): RenderCase {
  const [id, vm] = [...c.policy.vms][0]!;
  const vms = new Map(c.policy.vms);
  vms.set(id, { ...vm, title: `${vm.title} (moved)` });
  return { ...c, policy: { ...c.policy, vms } as Policy };
}

/** A case where every third account is gone and the first entitlement has a window it did not have. */
function changedGrants(c: RenderCase): RenderCase {
  const users = new Map([...c.facts.users].filter((_, i) => i % 3 !== 1));
  const [first, ...rest] = c.policy.entitlements;
  const when = first!.when ?? { days: ['Mon' as const], hours: null, start: 0, end: 1440 };
  return { name: c.name, facts: { ...c.facts, users }, policy: { ...c.policy, entitlements: [{ ...first!, when }, ...rest] } as Policy };
}

for (const spec of CASE_SPECS) {
  test(`${spec.name}: a digest built on the last one holds exactly the hashes of the views as rendered now`, () => {
    const c = renderCase(spec);
    const before = digestOf(planOf(c));
    void before.views;
    for (const next of [c, changedGrants(c), retitled(c)]) {
      const plan = planOf(next);
      assert.deepEqual(digestOf(plan, before).views, direct(plan), next === c ? 'same policy' : 'changed policy');
    }
  });
}

test('a hash is taken from the last digest where salt and key match, and only there', () => {
  const c = renderCase(CASE_SPECS[0]!);
  const plan = planOf(c);
  const uids = [...plan.views.keys()].map(String);
  // A last digest whose hashes are all wrong: whatever it lends shows.
  const forged = { ...digestOf(plan), views: Object.fromEntries(uids.map((uid) => [uid, 'forged'])) };
  assert.ok(Object.values(digestOf(plan, forged).views).every((h) => h === 'forged'), 'same salt, same keys: every hash reused');

  const changed = planOf(changedGrants(c));
  const lent = digestOf(changed, forged).views;
  const ownKey = (uid: string) => changed.viewKeys.keys[uid] !== plan.viewKeys.keys[uid];
  assert.ok(uids.some(ownKey), 'the change moved some keys');
  for (const [uid, hash] of Object.entries(lent)) assert.equal(hash === 'forged', !ownKey(uid), `uid ${uid}`);

  for (const other of [planOf(retitled(c)), planOf(c, { ...OPTS, openConsole: '/opt/cg/open-console' })]) {
    assert.notEqual(other.viewKeys.salt, plan.viewKeys.salt);
    assert.ok(!Object.values(digestOf(other, forged).views).includes('forged'), 'another salt: nothing reused');
  }
});

test('views whose texts differ have different keys, even where a shared field differs by hand', () => {
  const entry = (title: string): ViewFile['vms'][number] => ({ id: 'vm1', title, server: 's', host: 'h', tlsPort: 5901, command: ['sudo', '-n', 'oc', 'vm1'], windows: null });
  const view = (uid: number, group: string, title: string): ViewFile => ({ version: 1, user: `u${uid}`, uid, viewerGroup: group, vms: [entry(title)] });
  const a = viewKeys(new Map([[1, view(1, 'g', 'A')], [2, view(2, 'g', 'B')], [3, view(3, 'other', 'A')]]));
  const b = viewKeys(new Map([[1, view(1, 'g', 'A')], [2, view(2, 'g', 'A')], [3, view(3, 'g', 'A')]]));
  assert.equal(a.salt, b.salt, 'the first view and each id\'s first entry make the salt');
  assert.equal(a.keys[1], b.keys[1]);
  assert.notEqual(a.keys[2], b.keys[2], 'an entry unlike its VM\'s first keys its own text');
  assert.notEqual(a.keys[3], b.keys[3], 'a head unlike the first view\'s keys its own fields');
});
