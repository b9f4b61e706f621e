// Golden files for every rendering; UPDATE_GOLDEN=1 rewrites them (review the diff before committing).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { renderIptables } from '../../helper/src/plan/iptables.js';
import { fakeFacts } from './facts.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../fixtures');

function golden(name: string, actual: string): void {
  const file = path.join(fixtures, 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `rendering differs from ${file}`);
}

function goldenPlan(utcOffsetMinutes: number) {
  const text = readFileSync(path.join(fixtures, 'policies/golden.yaml'), 'utf8');
  const { fragment, diagnostics } = parseFragment('golden.yaml', text);
  assert.deepEqual(diagnostics, []);
  const { policy, diagnostics: d2 } = mergeFragments([fragment]);
  assert.deepEqual(d2, []);
  return makePlan(policy, fakeFacts({ utcOffsetMinutes }), { backend: 'nftables', openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null });
}

test('nft ruleset', () => golden('policy.nft', goldenPlan(0).nft!));
test('nft ruleset converts local windows to UTC (UTC+1: 08:00 local is 07:00 UTC, 22:00-24:00 is 21:00-23:00)', () => {
  golden('policy-utc+1.nft', goldenPlan(60).nft!);
});
test('nft ruleset east of UTC moves early hours to the previous UTC day (UTC+10)', () => {
  const nft = goldenPlan(600).nft!;
  // Wed,Thu 08:00-18:00 at UTC+10 is Tue,Wed 22:00-24:00 UTC plus Wed,Thu 00:00-08:00 UTC.
  assert.match(nft, /meta day \{ "Tuesday", "Wednesday" \} meta hour "22:00"-"23:59:59"/);
  assert.match(nft, /meta day \{ "Wednesday", "Thursday" \} meta hour "00:00"-"07:59:59"/);
});
test('iptables-restore input, IPv4 and IPv6', () => {
  const plan = goldenPlan(0);
  golden('policy.iptables4', renderIptables(plan.firewall, 4, { addJump: true }));
  golden('policy.iptables6', renderIptables(plan.firewall, 6, { addJump: false }));
});
test('sudoers', () => golden('policy.sudoers', goldenPlan(0).sudoers));
test('console table', () => golden('policy.table.json', goldenPlan(0).table));
test('views: one per entitled uid, only their VMs', () => {
  const plan = goldenPlan(0);
  assert.deepEqual([...plan.views.keys()].sort(), [1000, 1001, 1002, 1003]);
  golden('view-1000.json', plan.views.get(1000)!.content);
  golden('view-1002.json', plan.views.get(1002)!.content);
});
test('unknown users are skipped with their position, the rest still renders', () => {
  const plan = goldenPlan(0);
  assert.deepEqual(plan.skipped, [{ where: 'golden.yaml:43:21', message: 'user `ghost` does not exist on this machine; skipped' }]);
});
test('a window covering the whole week joins the always-on set; later windows keep their numbering', async () => {
  const { firewallModel } = await import('../../helper/src/plan/firewall-model.js');
  const base = { user: 'u', addresses: ['192.0.2.1'], ports: [20002], vm: 'v' };
  const all = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
  const model = firewallModel({
    grants: [
      { ...base, uid: 1, window: null },
      { ...base, uid: 2, window: { days: [...all], start: 0, end: 1440, hours: null } },
      { ...base, uid: 3, window: { days: ['Mon'], start: 0, end: 1440, hours: null } },
    ],
    ports: [{ from: 20002, to: 20002 }],
    viewerGid: 990,
    log: false,
    utcOffsetMinutes: 0,
  });
  assert.deepEqual(model.groups.map((g) => [g.name, g.v4.map((t) => t.uid)]), [['allow', [1, 2]], ['window1', [3]]]);
});
