// intersectModels (issue 10): what a failed apply loads is never more open than the rules in force and the new
// policy both allow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intersectModels } from '../../helper/src/plan/fail-closed.js';
import type { FirewallModel, Tuple } from '../../helper/src/plan/firewall-model.js';
import type { UtcSlot } from '../../helper/src/plan/utc.js';

const t = (uid: number, port = 20002, addr = '192.0.2.1'): Tuple => ({ uid, addr, port });
const always = (tuples: Tuple[]) => ({ name: 'allow', slots: null, v4: tuples.filter((x) => !x.addr.includes(':')), v6: tuples.filter((x) => x.addr.includes(':')) });
const windowed = (slots: UtcSlot[], tuples: Tuple[]) => ({ ...always(tuples), name: 'window1', slots });
const model = (groups: FirewallModel['groups'], ports = [{ from: 20000, to: 20999 }], viewerGid: number | string = 900): FirewallModel => ({ viewerGid, groups, ports, log: false });
/** Every (tuple, slots) the model allows, as sortable strings. */
const allowed = (m: FirewallModel | null) => (m === null ? null : m.groups.flatMap((g) => [...g.v4, ...g.v6].map((x) => `${x.uid} ${x.addr} ${x.port} ${JSON.stringify(g.slots)}`)).sort());
const MON_9_17: UtcSlot[] = [{ days: [0], start: 540, end: 1020 }];
const TUE_9_17: UtcSlot[] = [{ days: [1], start: 540, end: 1020 }];

test('a revocation takes effect and a new grant waits', () => {
  const inForce = model([always([t(1001), t(1003)])]);
  const wanted = model([always([t(1001), t(1002)])]);
  assert.deepEqual(allowed(intersectModels(inForce, wanted)), ['1001 192.0.2.1 20002 null']);
});

test('no rules in force: only the new policy\'s deny rules; unreadable new policy: only the old deny rules', () => {
  const m = model([always([t(1001)])], [{ from: 5900, to: 5900 }]);
  assert.deepEqual(intersectModels(null, m), { ...m, groups: [] });
  assert.deepEqual(intersectModels(m, null), { ...m, groups: [] });
  assert.equal(intersectModels(null, null), null);
});

test('protected ports are the union, and a port only one side protects keeps that side\'s grants', () => {
  const inForce = model([always([t(1001, 5900)])], [{ from: 5900, to: 5900 }]);
  const wanted = model([always([t(1002, 20002)])], [{ from: 20000, to: 20999 }]);
  const both = intersectModels(inForce, wanted)!;
  assert.deepEqual(both.ports, [{ from: 5900, to: 5900 }, { from: 20000, to: 20999 }]);
  // 5900 is open to everyone under the new policy, so the old grant is what both allow; the same for 20002.
  assert.deepEqual(allowed(both), ['1001 192.0.2.1 5900 null', '1002 192.0.2.1 20002 null']);
});

test('overlapping protected ranges are merged (nft rejects overlapping interval elements)', () => {
  const both = intersectModels(model([], [{ from: 20000, to: 20500 }]), model([], [{ from: 20400, to: 20999 }, { from: 21000, to: 21000 }]))!;
  assert.deepEqual(both.ports, [{ from: 20000, to: 21000 }]);
});

test('windows: always ∩ window is the window; two different windows are left out', () => {
  const inForce = model([always([t(1001), t(1002)]), windowed(TUE_9_17, [t(1003)])]);
  const wanted = model([windowed(MON_9_17, [t(1001)]), always([t(1002)]), windowed(MON_9_17, [t(1003)])]);
  assert.deepEqual(allowed(intersectModels(inForce, wanted)), ['1001 192.0.2.1 20002 [{"days":[0],"start":540,"end":1020}]', '1002 192.0.2.1 20002 null']);
});

test('a changed address (DNS moved) or viewer gid allows nothing of the old grant', () => {
  assert.deepEqual(allowed(intersectModels(model([always([t(1001)])]), model([always([t(1001, 20002, '192.0.2.9')])]))), []);
  assert.deepEqual(allowed(intersectModels(model([always([t(1001)])], undefined, 900), model([always([t(1001)])], undefined, 901))), []);
});

test('IPv6 tuples stay in the v6 half', () => {
  const six = t(1001, 20002, '2001:db8::1');
  const both = intersectModels(model([always([six])]), model([always([six])]))!;
  assert.deepEqual(both.groups[0]!.v6, [six]);
  assert.deepEqual(both.groups[0]!.v4, []);
});
