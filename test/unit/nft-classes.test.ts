// uid classes (plan/nft-classes.ts) change how the nft table spells the grants, never which grants it holds: the
// rendered table, read back (tuple sets, then each class map entry through its chain to its endpoint sets), must
// give exactly the model's tuples, window by window, for every generated case (kernel side:
// test/integration/nft-classes.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FirewallModel, TupleGroup } from '../../helper/src/plan/firewall-model.js';
import { CLASS_MIN_SAVING, classify } from '../../helper/src/plan/nft-classes.js';
import { elementsOf, splitTable } from '../../helper/src/plan/nft-replace.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { CASE_SPECS, renderCase } from '../support/render-cases.js';

const OPTS = { openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: '/var/lib/cg-test' };

/** `uid addr port` of every tuple a rendered table grants, by window group name. */
function grantsOf(text: string): Map<string, Set<string>> {
  const objects = new Map(splitTable(text).objects.map((o) => [`${o.kind} ${o.name}`, o]));
  const elements = (key: string) => (objects.has(key) ? elementsOf(objects.get(key)!).elements : []);
  const out = new Map<string, Set<string>>();
  const add = (group: string, uid: string, endpoint: string) => {
    if (!out.has(group)) out.set(group, new Set());
    out.get(group)!.add(`${uid} ${endpoint.replace(' . ', ' ')}`);
  };
  const output = objects.get('chain output')!.lines.join('\n');
  for (const [, group, family] of output.matchAll(/ @(\w+?)_(v4|v6) accept/g)) {
    for (const e of elements(`set ${group}_${family}`)) {
      const [uid, ...endpoint] = e.split(' . ');
      add(group!, uid!, endpoint.join(' . '));
    }
  }
  for (const [, group] of output.matchAll(/meta skuid vmap @(\w+)_classes/g)) {
    for (const e of elements(`map ${group}_classes`)) {
      const [, uid, chain] = /^(\d+) : jump (\w+)$/.exec(e)!;
      const rules = objects.get(`chain ${chain}`)!.lines.join('\n');
      for (const [, set] of rules.matchAll(/ @(\w+) accept/g)) for (const endpoint of elements(`set ${set}`)) add(group!, uid!, endpoint);
    }
  }
  return out;
}

function tuplesOf(m: FirewallModel): Map<string, Set<string>> {
  return new Map(m.groups.map((g) => [g.name, new Set([...g.v4, ...g.v6].map((t) => `${t.uid} ${t.addr} ${t.port}`))]));
}

for (const spec of CASE_SPECS) {
  test(`${spec.name}: the rendered table grants exactly the model's tuples`, () => {
    const c = renderCase(spec);
    const plan = makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS });
    assert.deepEqual(grantsOf(plan.nft!), tuplesOf(plan.firewall));
  });
}

test('the group cases are spelled as classes, so the comparison above covers them', () => {
  const c = renderCase(CASE_SPECS.find((s) => s.shape === 'group')!);
  const plan = makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS });
  assert.ok(plan.firewall.groups.some((g) => classify(g).classes.length > 0));
  assert.match(plan.nft!, /meta skuid vmap @allow_classes/);
});

const group = (uids: number[], ports: number[], extra: TupleGroup['v4'] = []): TupleGroup => ({
  name: 'allow',
  slots: null,
  v4: [...uids.flatMap((uid) => ports.map((port) => ({ uid, addr: '192.0.2.1', port }))), ...extra].sort((a, b) => a.uid - b.uid || a.port - b.port),
  v6: [],
});

test('a class is made only where it saves at least CLASS_MIN_SAVING elements', () => {
  const ports = Array.from({ length: 9 }, (_, i) => 5900 + i);
  const ten = Array.from({ length: 10 }, (_, i) => 1000 + i);
  assert.equal(10 * 9 - 10 - 9 >= CLASS_MIN_SAVING, true);
  assert.equal(9 * 9 - 9 - 9 >= CLASS_MIN_SAVING, false);
  assert.equal(classify(group(ten, ports)).classes.length, 1);
  assert.equal(classify(group(ten.slice(1), ports)).classes.length, 0);
});

test('a uid with one endpoint more is not in the class; it keeps all its tuples', () => {
  const ports = Array.from({ length: 9 }, (_, i) => 5900 + i);
  const uids = Array.from({ length: 11 }, (_, i) => 1000 + i);
  const g = classify(group(uids, ports, [{ uid: 1010, addr: '192.0.2.1', port: 6000 }]));
  assert.deepEqual(g.classes.map((c) => c.uids), [uids.slice(0, 10)]);
  assert.deepEqual(g.v4.map((t) => t.port), [...ports, 6000]);
  assert.ok(g.v4.every((t) => t.uid === 1010));
});

test("a class's name follows its endpoints, not its members: adding a member renames nothing", () => {
  const ports = Array.from({ length: 9 }, (_, i) => 5900 + i);
  const uids = Array.from({ length: 12 }, (_, i) => 1000 + i);
  const [a, b] = [classify(group(uids.slice(0, 10), ports)), classify(group(uids, ports))];
  assert.equal(a.classes[0]!.id, b.classes[0]!.id);
  assert.notEqual(classify(group(uids, ports.slice(1))).classes[0]!.id, a.classes[0]!.id);
});
