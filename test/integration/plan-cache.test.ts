// Issue 13: an up-to-date apply and status skip parsing and rendering when the policy files and every answer the
// plan depends on (NSS, DNS, CA files) are unchanged. The cache must never hide a change: a member added to an
// entitled group, a policy edit, a CA file replaced, or a stale cache file put back must each be seen.
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

describe('the plan cache', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  let grp: string;
  let gid: number;
  const cacheFile = () => path.join(sb.stateDir, 'plan-cache.json');
  const body = (extra = '') =>
    `servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\n  vmg: { server: s4, tls-port: 20004 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n  - { vm: vmg, groups: [${grp}] }\n${extra}`;

  /** A helper command as JSON: its exit code and output. */
  async function json(args: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
    const r = await sb.helper([...args, '--json']);
    assert.ok(r.stdout.trim().startsWith('{'), `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return { code: r.code, out: JSON.parse(r.stdout) as Record<string, unknown> };
  }

  before(async () => {
    sb = await Sandbox.create();
    [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
    grp = await sb.addGroup('g', [alice]);
    await sb.listen([20002, 20004]);
    await sb.writePolicy(sb.policy(body()));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    gid = await sb.viewerGid();
  });
  after(async () => sb?.cleanup());

  test('an up-to-date apply and status use the cached plan; the file is root-only', async () => {
    const a = await json(['apply']);
    assert.equal(a.code, 0);
    assert.deepEqual([a.out.upToDate, a.out.plan], [true, 'cached']);
    const s = await json(['status']);
    assert.deepEqual([s.code, s.out.inSync, s.out.plan], [0, true, 'cached']);
    const st = await stat(cacheFile());
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600]);
  });

  test('a member added to an entitled group in NSS (no policy change) is seen, and apply lets him in', async () => {
    assert.equal(await sb.connect('127.0.0.1', 20004, bob, gid), false);
    await sb.run(['gpasswd', '-a', bob.name, grp]);
    const s = await json(['status']);
    assert.equal(s.code, 3, JSON.stringify(s.out));
    assert.equal(s.out.plan, 'rendered');
    const a = await json(['apply']);
    assert.deepEqual([a.code, a.out.applied], [0, true]);
    assert.equal(await sb.connect('127.0.0.1', 20004, bob, gid), true);
    assert.equal((await json(['status'])).out.plan, 'cached');
  });

  test('a policy edit and a replaced CA file are seen', async () => {
    await sb.writePolicy(sb.policy(body(`  - { vm: vm1, users: [${bob.name}] }\n`)));
    const s = await json(['status']);
    assert.deepEqual([s.code, s.out.plan], [3, 'rendered']);
    assert.equal((await json(['apply'])).code, 0);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), true);
    const ca = sb.caFile;
    const pem = await readFile(ca, 'utf8');
    await writeFile(ca, `${pem}\n`);
    try {
      const c = await json(['status']);
      assert.equal(c.out.plan, 'rendered', 'a CA file is an input of the table');
    } finally {
      await writeFile(ca, pem);
    }
  });

  test('a stale cache file put back never widens access; a damaged one is ignored', async () => {
    // The cache while bob may open vm1…
    assert.equal((await json(['apply'])).code, 0);
    const stale = path.join(sb.dir, 'stale-cache.json');
    await copyFile(cacheFile(), stale);
    // …then his grant is revoked, and the old cache file comes back.
    await sb.writePolicy(sb.policy(body()));
    assert.equal((await json(['apply'])).out.applied, true);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false);
    await copyFile(stale, cacheFile());
    const a = await json(['apply']);
    assert.deepEqual([a.code, a.out.upToDate, a.out.plan], [0, true, 'rendered']);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false);
    await writeFile(cacheFile(), '{ not json');
    const s = await json(['status']);
    assert.deepEqual([s.code, s.out.plan], [0, 'rendered']);
    // View keys of the wrong shape (the file's second line) are not trusted or crashed on: a policy edit then
    // hashes every view, and nothing is out of date afterwards.
    assert.equal((await json(['apply'])).code, 0);
    const [digestLine, keysLine] = (await readFile(cacheFile(), 'utf8')).split('\n');
    const { salt } = JSON.parse(keysLine!) as { salt: string };
    await writeFile(cacheFile(), `${digestLine}\n${JSON.stringify({ salt, keys: null })}\n`);
    assert.deepEqual((await json(['status'])).out.plan, 'cached', 'the digest line alone serves a hit');
    await sb.writePolicy(sb.policy(body(`  - { vm: vm1, users: [${bob.name}] }\n`)));
    assert.equal((await json(['apply'])).code, 0);
    const t = await json(['status']);
    assert.deepEqual([t.code, t.out.inSync, t.out.plan], [0, true, 'cached']);
    await sb.writePolicy(sb.policy(body()));
    assert.equal((await json(['apply'])).code, 0);
  });

  test('a policy edit takes the unchanged views\' hashes from the cache: the changed view is new, a damaged one repaired', async () => {
    assert.equal((await json(['apply'])).code, 0);
    const viewOf = (u: TestUser) => path.join(sb.stateDir, 'views', `${u.uid}.json`);
    const vmsIn = async (u: TestUser) => (JSON.parse(await readFile(viewOf(u), 'utf8')) as { vms: { id: string }[] }).vms.map((v) => v.id);
    const alicesView = await readFile(viewOf(alice), 'utf8');
    await writeFile(viewOf(alice), alicesView.replace('"vm1"', '"vmX"'));
    await sb.writePolicy(sb.policy(body(`  - { vm: vm1, users: [${bob.name}] }\n`)));
    const a = await json(['apply']);
    assert.deepEqual([a.code, a.out.applied], [0, true]);
    assert.deepEqual(await vmsIn(bob), ['vm1', 'vmg']);
    assert.equal(await readFile(viewOf(alice), 'utf8'), alicesView);
    // Any wrong hash taken from the cache would show here as a view out of date.
    const s = await json(['status']);
    assert.deepEqual([s.code, s.out.inSync], [0, true], JSON.stringify(s.out));
  });

  test('an edit touching one user renders her view and her VM\'s part of the table only; a kept view found damaged is written whole again', async () => {
    const others = [await sb.addUser('c'), await sb.addUser('d'), await sb.addUser('e'), await sb.addUser('f')];
    const policyWith = (vm1: string) =>
      sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\n  vmg: { server: s4, tls-port: 20004 }\nentitlements:\n  - ${vm1}\n  - { vm: vmg, users: [${others.map((u) => u.name).join(', ')}] }\n`);
    await sb.writePolicy(policyWith(`{ vm: vm1, users: [${alice.name}] }`));
    assert.equal((await json(['apply'])).code, 0);
    const viewOf = (u: TestUser) => path.join(sb.stateDir, 'views', `${u.uid}.json`);
    const [carol, dave] = [others[0]!, others[1]!];
    const [carolsView, davesView] = [await readFile(viewOf(carol), 'utf8'), await readFile(viewOf(dave), 'utf8')];
    const davesInode = (await stat(viewOf(dave))).ino;
    await writeFile(viewOf(carol), carolsView.replace('"vmg"', '"vmX"'));
    // Only alice's grants change (a window): her view is rendered; the others keep theirs from the last plan.
    await sb.writePolicy(policyWith(`{ vm: vm1, users: [${alice.name}], when: { days: [Mon, Tue] } }`));
    assert.deepEqual((await json(['apply'])).out.applied, true);
    const alices = JSON.parse(await readFile(viewOf(alice), 'utf8')) as { vms: { id: string; windows: unknown }[] };
    assert.deepEqual(alices.vms.map((v) => [v.id, v.windows]), [['vm1', [{ days: ['Mon', 'Tue'] }]]]);
    assert.equal(await readFile(viewOf(carol), 'utf8'), carolsView, 'the damaged kept view is whole again');
    assert.equal(await readFile(viewOf(dave), 'utf8'), davesView);
    assert.equal((await stat(viewOf(dave))).ino, davesInode, 'an unchanged view is not written');
    const s = await json(['status']);
    assert.deepEqual([s.code, s.out.inSync], [0, true], JSON.stringify(s.out));
    // Without the cache, status renders everything anew: the table built on the last one is what it renders.
    await rm(cacheFile());
    const whole = await json(['status']);
    assert.deepEqual([whole.code, whole.out.inSync, whole.out.plan], [0, true, 'rendered'], JSON.stringify(whole.out));
    await sb.writePolicy(sb.policy(body()));
    assert.equal((await json(['apply'])).code, 0);
  });

  test('an edit of the entitlements is parsed through the last parse (parse-memo.json); a stale one put back never widens access', async () => {
    const memoFile = path.join(sb.stateDir, 'parse-memo.json');
    await sb.writePolicy(sb.policy(body(`  - { vm: vm1, users: [${bob.name}] }\n`)));
    assert.equal((await json(['apply'])).code, 0);
    const st = await stat(memoFile);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600]);
    const stale = path.join(sb.dir, 'stale-memo.json');
    await copyFile(memoFile, stale);
    // Bob's grant revoked; then the memo from when he had it comes back, and another entitlement is added.
    await sb.writePolicy(sb.policy(body()));
    assert.equal((await json(['apply'])).out.applied, true);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false);
    await copyFile(stale, memoFile);
    await sb.writePolicy(sb.policy(body(`  - { vm: vmg, users: [${bob.name}] }\n`)));
    assert.equal((await json(['apply'])).out.applied, true);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false, 'the stale memo gave back a revoked grant');
    assert.equal(await sb.connect('127.0.0.1', 20004, bob, gid), true);
    // The unchanged items really come from the memo: one forged to drop alice from vm1 drops her, until the memo
    // is gone and the file is parsed whole again.
    const memo = JSON.parse(await readFile(memoFile, 'utf8')) as { files: { items: unknown[][] }[] };
    const item = memo.files[0]!.items.find((it) => it[3] === 'vm1' && (it[4] as string[]).includes(alice.name))!;
    [item[4], item[5]] = [[], []];
    await writeFile(memoFile, JSON.stringify(memo));
    await sb.writePolicy(sb.policy(body()));
    assert.equal((await json(['apply'])).code, 0);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, gid), false);
    await writeFile(memoFile, '{ not json');
    await sb.writePolicy(sb.policy(body(`  - { vm: vmg, users: [${bob.name}] }\n`)));
    assert.equal((await json(['apply'])).code, 0);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, gid), true);
    assert.deepEqual((await json(['status'])).out.inSync, true);
  });
});
