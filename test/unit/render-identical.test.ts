// The renderers' output, byte for byte, against hashes recorded from the code before it was made fast: any
// change to the nft script, iptables input, firewall model, console table, views, grants or skipped list of a
// generated policy fails here. UPDATE_RENDER_HASHES=1 rewrites the hashes (only for an intended output change).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { digestOf, hashViewBytes, viewHash } from '../../helper/src/plan/digest.js';
import { intersectModels } from '../../helper/src/plan/fail-closed.js';
import { ITEM_SEPARATOR } from '../../helper/src/plan/json-text.js';
import { renderIptables } from '../../helper/src/plan/iptables.js';
import { canonicalListing, replaceScript, restoreScript } from '../../helper/src/plan/nft-replace.js';
import { makePlan, planFirewall, type Plan } from '../../helper/src/plan/plan.js';
import { CASE_SPECS, renderCase, type RenderCase } from '../support/render-cases.js';

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/golden/render-hashes.json');
const OPTS = { openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: '/var/lib/cg-test' };

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every rendered output of one case, by name. */
function outputs(c: RenderCase): Record<string, string> {
  const plan: Plan = makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS });
  const ipt = makePlan(c.policy, c.facts, { backend: 'iptables', ...OPTS });
  // The same policy with every fifth account gone: a second model to intersect and replace against.
  const fewer = { ...c.facts, users: new Map([...c.facts.users].filter((_, i) => i % 5 !== 4)) };
  const other = makePlan(c.policy, fewer, { backend: 'nftables', ...OPTS });
  // An hour east: every window's slots move, so intersecting leaves the windowed tuples out.
  const shifted = planFirewall(c.policy, { ...c.facts, utcOffsetMinutes: c.facts.utcOffsetMinutes + 60 });
  return {
    nft: plan.nft!,
    iptables4: renderIptables(plan.firewall, 4, { addJump: true, staleJumps: { OUTPUT: 1, FORWARD: 2 } }),
    iptables6: renderIptables(plan.firewall, 6, { addJump: false }),
    firewall: JSON.stringify(plan.firewall),
    planFirewall: JSON.stringify(planFirewall(c.policy, c.facts)),
    table: plan.table,
    sudoers: plan.sudoers,
    // Groups with gids: entitled as a whole, they are `%#gid` lines (plan/sudoers.ts).
    sudoersByGroup: makePlan(c.policy, { ...c.facts, groupGids: new Map([['everyone', 2000], ['shift', 2001]]) }, { backend: 'nftables', ...OPTS }).sudoers,
    views: [...plan.views].map(([uid, v]) => `${uid}\n${v.content}`).join('\0'),
    grants: JSON.stringify(plan.grants),
    skipped: JSON.stringify(plan.skipped),
    viewer: JSON.stringify(plan.viewer),
    iptablesPlan: JSON.stringify({ nft: ipt.nft, firewall: ipt.firewall, table: ipt.table, views: [...ipt.views] }),
    intersectFewer: JSON.stringify(intersectModels(plan.firewall, other.firewall)),
    intersectMore: JSON.stringify(intersectModels(other.firewall, plan.firewall)),
    intersectShifted: JSON.stringify(intersectModels(plan.firewall, shifted)),
    intersectNull: JSON.stringify([intersectModels(null, plan.firewall), intersectModels(plan.firewall, null)]),
    replace: replaceScript(plan.nft!, other.nft!),
    restore: restoreScript(plan.nft!),
    canonical: canonicalListing(plan.nft!),
  };
}

const actual: Record<string, Record<string, string>> = {};
for (const spec of CASE_SPECS) {
  const out = outputs(renderCase(spec));
  actual[spec.name] = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, sha(v)]));
}

if (process.env.UPDATE_RENDER_HASHES === '1') writeFileSync(FILE, JSON.stringify(actual, null, 2) + '\n');
const expected = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, Record<string, string>>;

for (const spec of CASE_SPECS) {
  test(`${spec.name}: every rendering is byte-identical to the recorded one`, () => {
    assert.deepEqual(Object.keys(actual[spec.name]!), Object.keys(expected[spec.name] ?? {}), 'the set of outputs changed');
    for (const [k, h] of Object.entries(actual[spec.name]!)) assert.equal(h, expected[spec.name]![k], `${spec.name}: ${k} differs from the recorded rendering`);
  });
}

test('the cases cover what they claim: windows, IPv6, a skipped server, root and unknown names', () => {
  const c = renderCase(CASE_SPECS.find((s) => s.shape === 'group')!);
  const plan = makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS });
  assert.ok(plan.firewall.groups.length > 2, 'several windows');
  assert.ok(plan.firewall.groups.some((g) => g.v6.length > 0), 'IPv6 tuples');
  assert.ok(plan.skipped.some((s) => s.message.includes('uid 0')), 'root skipped');
  assert.ok(plan.skipped.some((s) => s.message.includes('nosuchgroup')), 'unknown group skipped');
  assert.ok(plan.skipped.some((s) => s.message.includes('down.example.org')), 'unresolved server skipped');
  const p = renderCase(CASE_SPECS[0]!);
  assert.ok(makePlan(p.policy, p.facts, { backend: 'nftables', ...OPTS }).skipped.some((s) => s.message.includes('ghost')), 'unknown user skipped');
});

test("a view's pieces are its text, and its hash from their UTF-8 is its text's", () => {
  let checked = 0;
  for (const spec of CASE_SPECS) {
    const c = renderCase(spec);
    for (const [uid, v] of makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS }).views) {
      const p = v.pieces?.() ?? null;
      assert.ok(p !== null, `${spec.name}: view ${uid} has pieces`);
      // Read before the text: the text is built from the same pieces, which must not change by being read.
      const joined = p.head + p.items.join(ITEM_SEPARATOR) + p.tail;
      assert.equal(joined, v.content, `${spec.name}: view ${uid}`);
      assert.equal(viewHash(Buffer.from(joined)), viewHash(v.content));
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} views checked`);
});

test('the digest takes a view hash given from its bytes, and hashes the text of the others', () => {
  const c = renderCase(CASE_SPECS[0]!);
  const plan = makePlan(c.policy, c.facts, { backend: 'nftables', ...OPTS });
  const [first, second] = [...plan.views];
  assert.ok(first && second);
  // Other bytes than the text's, so that the hash shows which was taken (the writer hashes what it writes).
  hashViewBytes(first[1], Buffer.from('written'));
  const views = digestOf(plan).views;
  assert.equal(views[first[0]], viewHash('written'));
  assert.equal(views[second[0]], viewHash(second[1].content));
});
