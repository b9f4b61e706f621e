// Rules that come back (issue 10, finding 4): with `consolegate-helper watch` running, a foreign change to our
// rules (`nft flush ruleset`, one element deleted from our set, our iptables jump deleted or shadowed) is undone
// within 1 s, and a non-entitled user's real connection is refused afterwards.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { HELPER, Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();
const DEADLINE_MS = 1000;

/**
 * Starts `watch` in the sandbox's namespace; resolves once it says it is ready, with everything it logged. With
 * `pidNamespace`, as in a container: nft monitor then reports pids the watcher cannot match with its children's.
 */
async function startWatch(sb: Sandbox, opts: { pidNamespace: boolean }): Promise<{ child: ChildProcess; log: () => string }> {
  // Its own process group (`ip netns exec` and unshare exec or fork into it), which stopWatch signals: unshare
  // ignores SIGTERM itself and waits for the watcher.
  const pidns = opts.pidNamespace ? ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'] : [];
  const child = spawn('ip', ['netns', 'exec', sb.ns, ...pidns, process.execPath, HELPER, 'watch'], {
    env: { ...process.env, ...sb.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      if (/watch: ready/.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`watch exited ${code}: ${text}`)));
    setTimeout(() => reject(new Error(`watch not ready after 10 s: ${text}`)), 10_000).unref();
  });
  return { child, log: () => text };
}

async function stopWatch(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

/** Polls `check` until it holds or the deadline passes; the time it took, or null when it never held. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await check()) return Math.round(performance.now() - start);
    await new Promise((r) => setTimeout(r, 10));
  }
  return (await check()) ? Math.round(performance.now() - start) : null;
}

const policyBody = (alice: TestUser) => `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
vms:
  vm1: { server: s4, tls-port: 20002 }
entitlements:
  - { vm: vm1, users: [${alice.name}] }
`;

describe('watch puts nftables rules back (watch in its own pid namespace, as in a container)', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  let viewerGid: number;
  let watcher: ChildProcess | undefined;
  let log: () => string = () => '';
  const tableBack = async () => (await sb.run(['nft', 'list', 'set', 'inet', 'consolegate', 'protected'])).stdout.includes('20002');

  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    bob = await sb.addUser('b');
    await sb.listen([20002]);
    await sb.writePolicy(sb.policy(policyBody(alice), { protect: '20002' }));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    viewerGid = await sb.viewerGid();
    ({ child: watcher, log } = await startWatch(sb, { pidNamespace: true }));
  });
  after(async () => {
    await stopWatch(watcher);
    await sb?.cleanup();
  });

  test('`nft flush ruleset`: table back within 1 s; bob refused, alice still connects', async (t) => {
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false, 'bob refused before the flush');
    const flushed = await sb.run(['nft', 'flush', 'ruleset']);
    assert.equal(flushed.code, 0, flushed.stderr);
    const ms = await within(DEADLINE_MS, tableBack);
    t.diagnostic(`table back ${ms} ms after \`nft flush ruleset\` returned`);
    assert.notEqual(ms, null, `our table is not back within ${DEADLINE_MS} ms; watch said:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false, 'bob (not entitled) is refused again');
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, viewerGid), true, 'alice (entitled) still connects: the real rules came back, not a deny-all');
  });

  test('one element deleted from our protected set: back within 1 s; bob refused', async () => {
    const del = await sb.run(['nft', 'delete', 'element', 'inet', 'consolegate', 'protected', '{ 20002 }']);
    assert.equal(del.code, 0, del.stderr);
    assert.notEqual(await within(DEADLINE_MS, tableBack), null, `element not back within ${DEADLINE_MS} ms; watch said:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
  });

  test('a foreign grant added to our table is taken away within 1 s', async () => {
    // Whatever the allow set is called, a foreign `accept` rule for bob at the top of our chain is an edit too.
    const add = await sb.run(['nft', 'insert', 'rule', 'inet', 'consolegate', 'output', 'meta', 'skuid', String(bob.uid), 'accept']);
    assert.equal(add.code, 0, add.stderr);
    const gone = await within(DEADLINE_MS, async () => !(await sb.run(['nft', 'list', 'chain', 'inet', 'consolegate', 'output'])).stdout.includes(`skuid ${bob.uid} accept`));
    assert.notEqual(gone, null, `the foreign rule is still there after ${DEADLINE_MS} ms; watch said:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
  });

  test('its own reloads do not wake it again (no loop), and it logs what it repaired', async () => {
    const before = (log().match(/restored the saved/g) ?? []).length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((log().match(/restored the saved/g) ?? []).length, before, `watch kept restoring with nobody changing anything:\n${log()}`);
    assert.match(log(), /restored the saved nftables rules after `delete \w+ inet consolegate [^`]*` by nft\[\d+\]/);
  });

  test('an apply that changes the rules does not wake it: its nft runs as cgapply-nft (pids differ in this namespace)', async () => {
    const before = (log().match(/restored the saved/g) ?? []).length;
    await sb.writePolicy(sb.policy(`${policyBody(alice)}  - { vm: vm1, users: [${bob.name}] }\n`, { protect: '20002' }));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 700));
    assert.equal((log().match(/restored the saved/g) ?? []).length, before, `watch reloaded after an apply:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), true, 'the apply\'s grant stands');
  });
});

describe('watch puts the iptables chain and jump back', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let bob: TestUser;
  let viewerGid: number;
  let watcher: ChildProcess | undefined;
  let log: () => string = () => '';
  const ourJumpFirst = async (tool: string) => /^-A OUTPUT -j CONSOLEGATE/.test((await sb.run([tool, '-S', 'OUTPUT'])).stdout.split('\n').find((l) => l.startsWith('-A OUTPUT ')) ?? '');

  before(async () => {
    sb = await Sandbox.create();
    const alice = await sb.addUser('a');
    bob = await sb.addUser('b');
    await sb.listen([20002]);
    await sb.writePolicy(sb.policy(policyBody(alice), { backend: 'iptables', protect: '20002' }));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    viewerGid = await sb.viewerGid();
    ({ child: watcher, log } = await startWatch(sb, { pidNamespace: false }));
  });
  after(async () => {
    await stopWatch(watcher);
    await sb?.cleanup();
  });

  for (const tool of ['iptables', 'ip6tables']) {
    test(`\`${tool} -D OUTPUT -j CONSOLEGATE\`: jump back within 1 s`, async () => {
      const del = await sb.run([tool, '-D', 'OUTPUT', '-j', 'CONSOLEGATE']);
      assert.equal(del.code, 0, del.stderr);
      assert.notEqual(await within(DEADLINE_MS, () => ourJumpFirst(tool)), null, `no jump after ${DEADLINE_MS} ms; watch said:\n${log()}`);
      if (tool === 'iptables') assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
    });
  }

  test('our FORWARD jump deleted (`ip6tables -D FORWARD -j CONSOLEGATE-FWD`): back first within 1 s', async () => {
    const del = await sb.run(['ip6tables', '-D', 'FORWARD', '-j', 'CONSOLEGATE-FWD']);
    assert.equal(del.code, 0, del.stderr);
    const first = async () => /^-A FORWARD -j CONSOLEGATE-FWD/.test((await sb.run(['ip6tables', '-S', 'FORWARD'])).stdout.split('\n').find((l) => l.startsWith('-A FORWARD ')) ?? '');
    assert.notEqual(await within(DEADLINE_MS, first), null, `no FORWARD jump after ${DEADLINE_MS} ms; watch said:\n${log()}`);
  });

  test('`iptables -F CONSOLEGATE`: rules back within 1 s; bob refused', async () => {
    const flush = await sb.run(['iptables', '-F', 'CONSOLEGATE']);
    assert.equal(flush.code, 0, flush.stderr);
    const back = await within(DEADLINE_MS, async () => (await sb.run(['iptables', '-S', 'CONSOLEGATE'])).stdout.includes('20002'));
    assert.notEqual(back, null, `chain still empty after ${DEADLINE_MS} ms; watch said:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
  });

  test('a foreign ACCEPT inserted ahead of our jump: ours first again within 1 s; bob refused', async () => {
    const ins = await sb.run(['iptables', '-I', 'OUTPUT', '1', '-p', 'tcp', '-j', 'ACCEPT']);
    assert.equal(ins.code, 0, ins.stderr);
    assert.notEqual(await within(DEADLINE_MS, () => ourJumpFirst('iptables')), null, `our jump is not first after ${DEADLINE_MS} ms; watch said:\n${log()}`);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
  });
});
