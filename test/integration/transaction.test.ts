// Apply is one transaction: a failing step leaves the previous state (or closed ports) and exits 1;
// remove touches nothing that is not ours; audit reads the denied attempts back from the kernel log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

/** A directory of fake commands that fail, put first on PATH to make one step of apply fail. */
async function failing(sb: Sandbox, name: string, script: string): Promise<Record<string, string>> {
  const dir = path.join(sb.dir, `fail-${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, name), `#!/bin/bash\n${script}\n`);
  await chmod(path.join(dir, name), 0o755);
  return { PATH: `${dir}:${process.env.PATH}` };
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`transaction with ${backend}`, { skip: unavailable ?? false }, () => {
    let sb: Sandbox;
    let alice: TestUser, bob: TestUser;
    const policyFor = (users: TestUser[]) =>
      sb.policy(
        `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
  s6: { host: "::1", ca: $CA, host-subject: "CN=s6" }
vms:
  vm1: { server: s4, tls-port: 20002 }
  vm6: { server: s6, tls-port: 20004 }
entitlements:
  - { vm: vm1, users: [${users.map((u) => u.name).join(', ')}] }
  - { vm: vm6, users: [${users.map((u) => u.name).join(', ')}] }
`,
        { backend },
      );

    before(async () => {
      sb = await Sandbox.create();
      [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
      await sb.listen([20002, 20004]);
    });
    after(async () => sb?.cleanup());

    test('a first apply that fails leaves the protected ports closed to everyone', async () => {
      await sb.writePolicy(policyFor([alice]));
      const env = await failing(sb, 'visudo', 'case "$1" in --version) echo "visudo 1.9";; *) echo "fake: syntax error" >&2; exit 1;; esac');
      const r = await sb.helper(['apply'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /visudo rejected the rendered sudoers file: fake: syntax error.*protected ports are closed/);
      await assert.rejects(stat(sb.sudoersFile));
      assert.equal(await sb.connect('127.0.0.1', 20002), false);
      assert.equal(await sb.connect('::1', 20004, alice), false);
    });

    test('after a good apply, a rejected sudoers file changes nothing', async () => {
      assert.equal((await sb.helper(['apply'])).code, 0);
      const before = await readFile(sb.sudoersFile, 'utf8');
      await sb.writePolicy(policyFor([alice, bob]));
      const env = await failing(sb, 'visudo', 'case "$1" in --version) echo "visudo 1.9";; *) echo "fake: syntax error" >&2; exit 1;; esac');
      const r = await sb.helper(['apply'], env);
      assert.equal(r.code, 1);
      assert.equal(await readFile(sb.sudoersFile, 'utf8'), before);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob, await sb.viewerGid()), false);
      await sb.writePolicy(policyFor([alice]));
      assert.equal((await sb.helper(['status'])).code, 0, 'still exactly the old policy');
    });

    test('a firewall load that fails midway restores the previous rules and exits 1', async () => {
      await sb.writePolicy(policyFor([alice, bob]));
      // nft: fail every load (`-f`); iptables: IPv4 loads, IPv6 fails, so the IPv4 change must be rolled back.
      const env =
        backend === 'nftables'
          ? await failing(sb, 'nft', `if [ "$1" = "-f" ]; then echo "fake nft: out of memory" >&2; exit 1; fi; exec /usr/sbin/nft "$@"`)
          : await failing(sb, 'ip6tables-restore', 'echo "fake ip6tables-restore: line 3 failed" >&2; exit 1');
      const r = await sb.helper(['apply'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /firewall \((nftables|iptables)\): .*fake .*previous state restored/);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob, await sb.viewerGid()), false, 'bob was not let in');
      assert.equal(await sb.connect('127.0.0.1', 20002, alice, await sb.viewerGid()), true, 'alice kept her access');
      await sb.writePolicy(policyFor([alice]));
      assert.equal((await sb.helper(['status'])).code, 0, 'firewall, sudoers and views are the old policy');
    });

    test('a failure after the firewall step (state directory unwritable) rolls the firewall back too', async () => {
      await sb.writePolicy(policyFor([alice, bob]));
      const views = path.join(sb.stateDir, 'views');
      // A read-only bind mount over the views directory makes the last step fail after the others applied.
      const r = await sb.run(['bash', '-c', `mount --bind -o ro "$0" "$0" && exec node "$1" apply`, views, (await import('../support/sandbox.js')).HELPER]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /state directory: .*previous state restored/);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob, await sb.viewerGid()), false);
      await sb.writePolicy(policyFor([alice]));
      assert.equal((await sb.helper(['status'])).code, 0);
    });

    test('audit lists denied attempts with the uid and destination', async () => {
      await sb.enableNetnsLogging();
      const since = new Date(Date.now() - 1000).toISOString();
      assert.equal(await sb.connect('127.0.0.1', 20002, bob), false);
      const r = await sb.helper(['audit', '--json', '--since', since]);
      assert.equal(r.code, 0, r.stderr);
      const events = JSON.parse(r.stdout).events as { uid: number; user: string; dst: string; dport: number }[];
      assert.ok(events.some((e) => e.uid === bob.uid && e.user === bob.name && e.dst === '127.0.0.1' && e.dport === 20002), r.stdout);
    });

    test('remove: foreign rules and sudoers files stay exactly as they were; the viewer is restored', async () => {
      const foreignNft = 'table inet foreign {\n\tchain out {\n\t\ttype filter hook output priority 10; policy accept;\n\t\ttcp dport 9 counter accept\n\t}\n}\n';
      assert.equal((await sb.run(['nft', '-f', '-'], { input: foreignNft })).code, 0);
      assert.equal((await sb.run(['iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9', '-j', 'ACCEPT'])).code, 0);
      await writeFile(path.join(sb.sudoersDir, 'foreign'), '# not ours\n', { mode: 0o440 });
      const snapshot = async () => [
        (await sb.run(['nft', '-s', 'list', 'table', 'inet', 'foreign'])).stdout,
        (await sb.run(['iptables', '-S', 'OUTPUT'])).stdout.replace(/^-A OUTPUT -j CONSOLEGATE\n/m, ''),
        await readFile(path.join(sb.sudoersDir, 'foreign'), 'utf8'),
      ];
      const before = await snapshot();
      const r = await sb.helper(['remove']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await snapshot(), before);
      assert.notEqual((await sb.run(['nft', 'list', 'table', 'inet', 'consolegate'])).code, 0);
      assert.doesNotMatch((await sb.run(['iptables-save'])).stdout, /CONSOLEGATE/);
      assert.doesNotMatch((await sb.run(['ip6tables-save'])).stdout, /CONSOLEGATE/);
      await assert.rejects(stat(sb.sudoersFile));
      const st = await stat(sb.viewer);
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o755, 0, 0]);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob), true, 'nothing of ours is left in the way');
    });

    test('the next apply removes the temp files a killed apply staged, and no one else\'s', async () => {
      const views = path.join(sb.stateDir, 'views');
      await mkdir(views, { recursive: true });
      const hex = '0123456789ab';
      // What a kill during staging leaves: views and firewall.json under temp names, the sudoers candidate.
      const ours = [path.join(views, `.${alice.uid}.json.${hex}.tmp`), path.join(sb.stateDir, `.firewall.json.${hex}.tmp`), path.join(sb.sudoersDir, `.consolegate.${hex}.tmp`)];
      // Host mode's file beside ours (its own lock), another program's in sudoers.d, a name of another shape.
      const theirs = [path.join(sb.stateDir, `.host.json.${hex}.tmp`), path.join(sb.sudoersDir, `.other.${hex}.tmp`), path.join(views, `.${alice.uid}.json.tmp`)];
      for (const f of [...ours, ...theirs]) await writeFile(f, 'left behind\n', { mode: 0o600 });
      // A first apply's views staged as one directory (stageViewDir), with a view in it.
      const stagedDir = path.join(sb.stateDir, `.views.${hex}.tmp`);
      await mkdir(stagedDir, { mode: 0o700 });
      await writeFile(path.join(stagedDir, `${alice.uid}.json`), 'left behind\n', { mode: 0o600 });
      await sb.writePolicy(policyFor([alice]));
      const r = await sb.helper(['apply']);
      assert.equal(r.code, 0, r.stderr);
      for (const f of [...ours, stagedDir]) await assert.rejects(stat(f), `${f} should be gone`);
      for (const f of theirs) assert.equal(await readFile(f, 'utf8'), 'left behind\n', `${f} is not ours`);
    });
  });
}
