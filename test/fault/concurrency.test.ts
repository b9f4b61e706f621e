// Twenty `apply` runs at once, each with its own policy (issue 6): the lock must serialise them, and the
// system must end up as exactly the policy of the run that held the lock last.
//
// "Last" is observed, not assumed: wrappers for nft and visudo (run only while the lock is held) log when each
// apply used them, by the apply's PID. The runs' intervals must not overlap; the one that started last is the
// last lock holder, and its policy — and only its policy — must be in sync afterwards.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { fakeTools, observe, runHelper, spawnHelper, status } from './support/harness.js';

const unavailable = await rootTestsUnavailable();
const RUNS = 20;

/** The 20 three-person subsets of six people, in a fixed order: twenty different policies. */
function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, acc: number[]) => {
    if (acc.length === k) return void out.push(acc);
    for (let i = start; i < n; i++) walk(i + 1, [...acc, i]);
  };
  walk(0, []);
  return out;
}

describe('twenty concurrent applies', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  const users: TestUser[] = [];
  before(async () => {
    sb = await Sandbox.create();
    for (let i = 0; i < 6; i++) users.push(await sb.addUser(`u${i}`));
    await sb.listen([20002]);
  });
  after(async () => sb?.cleanup());

  test('are serialised by the lock and leave exactly the last lock holder\'s policy', async (t) => {
    const sets = subsets(6, 3);
    assert.equal(sets.length, RUNS);
    const files: string[] = [];
    for (const [i, set] of sets.entries()) {
      const file = path.join(sb.dir, `policy-${i}.yaml`);
      const body = `servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002, title: "Policy ${i}" }\nentitlements:\n  - { vm: vm1, users: [${set.map((u) => users[u]!.name).join(', ')}] }\n`;
      await writeFile(file, sb.policy(body), { mode: 0o600 });
      files.push(file);
    }
    // A first apply (of a twenty-first policy: nobody entitled) creates the viewer group, so whichever run
    // gets the lock first still has something to change.
    const init = path.join(sb.dir, 'policy-init.yaml');
    await writeFile(init, sb.policy('servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\n'), { mode: 0o600 });
    assert.equal((await runHelper(sb, ['apply', '--policy', init])).code, 0);

    const log = path.join(sb.dir, 'tool-log');
    const wrap = (tool: string) => `echo "start $PPID $(date +%s%N)" >> "$CG_TOOL_LOG"\n/usr/sbin/${tool} "$@"; rc=$?\necho "end $PPID $(date +%s%N)" >> "$CG_TOOL_LOG"\nexit $rc`;
    const env = { ...(await fakeTools(sb, 'log', { nft: wrap('nft'), visudo: wrap('visudo') })), CG_TOOL_LOG: log };

    const runs = files.map((f) => spawnHelper(sb, ['apply', '--policy', f], { env }));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `run ${i}: ${r.stderr}`);
      assert.match(r.stdout, /^applied: /m, `run ${i} did not apply: ${r.stdout}`);
    }

    // Each run's first and last tool use, by PID; sorted by start, they must not overlap.
    const spans = new Map<number, { start: number; end: number }>();
    for (const line of (await readFile(log, 'utf8')).split('\n').filter(Boolean)) {
      const [kind, pid, ns] = line.split(' ');
      const s = spans.get(Number(pid)) ?? { start: Infinity, end: -Infinity };
      const at = Number(BigInt(ns!) / 1000n); // µs: a Number holds it exactly
      if (kind === 'start') s.start = Math.min(s.start, at);
      else s.end = Math.max(s.end, at);
      spans.set(Number(pid), s);
    }
    const byPid = new Map(runs.map((r, i) => [r.child.pid!, i]));
    assert.deepEqual([...spans.keys()].sort(), [...byPid.keys()].sort(), 'every run (and nothing else) used nft/visudo');
    const order = [...spans].sort((a, b) => a[1].start - b[1].start);
    for (let k = 1; k < order.length; k++) {
      const [prevPid, prev] = order[k - 1]!;
      const [pid, cur] = order[k]!;
      assert.ok(prev.end <= cur.start, `run ${byPid.get(prevPid)} (until ${prev.end}) and run ${byPid.get(pid)} (from ${cur.start}) overlapped`);
    }
    const last = byPid.get(order.at(-1)![0])!;
    t.diagnostic(`lock order: ${order.map(([pid]) => byPid.get(pid)).join(' → ')}`);

    // Only the last holder's policy is in sync; the others see drift.
    for (const [i, f] of files.entries()) {
      const s = await status(sb, f);
      assert.equal(s.code, i === last ? 0 : 3, `status with policy ${i} (last was ${last}): ${s.raw}`);
    }
    // Its policy, completely: applying it again changes nothing, and the firewall behaves as it says.
    const observed = await observe(sb);
    const again = await runHelper(sb, ['apply', '--policy', files[last]!]);
    assert.match(again.stdout, /^up to date/m);
    assert.deepEqual(await observe(sb), observed);
    const gid = await sb.viewerGid();
    for (const [u, user] of users.entries()) {
      assert.equal(await sb.connect('127.0.0.1', 20002, user, gid), sets[last]!.includes(u), `user ${u} under policy ${last}`);
    }
  });
});
