// `restore` (issue 10, boot): the rules the last apply saved come back without the policy, NSS or DNS — after a
// foreign `flush ruleset`, a flushed chain, or a foreign element — and a valid policy validates as nobody.
import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exec } from '../../helper/src/system/exec.js';
import { HELPER, rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`restore (${backend})`, { skip: unavailable ?? false }, () => {
    let sb: Sandbox;
    let alice: TestUser, bob: TestUser;
    let gid: number;
    before(async () => {
      sb = await Sandbox.create();
      [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
      await sb.listen([20002]);
    });
    after(async () => sb?.cleanup());

    const reach = async () => ({ alice: await sb.connect('127.0.0.1', 20002, alice, gid), bob: await sb.connect('127.0.0.1', 20002, bob, gid) });

    test('with nothing saved it says so and succeeds', async () => {
      const r = await sb.helper(['restore']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /nothing saved/);
    });

    test('after the ruleset was flushed, the saved rules come back without reading the policy', async () => {
      await sb.writePolicy(sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`, { backend }));
      assert.equal((await sb.helper(['apply'])).code, 0);
      gid = await sb.viewerGid();
      assert.deepEqual(await reach(), { alice: true, bob: false });

      const flush = backend === 'nftables' ? ['nft', 'flush', 'ruleset'] : ['sh', '-c', 'iptables -F OUTPUT && ip6tables -F OUTPUT'];
      assert.equal((await sb.run(flush)).code, 0);
      assert.deepEqual(await reach(), { alice: true, bob: true }, 'the flush opened the port (the test would prove nothing otherwise)');

      // The policy is gone: restore must not need it.
      await rm(sb.policyFile);
      const r = await sb.helper(['restore', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { restored: boolean; closedMs: number | null; ms: number };
      assert.equal(out.restored, true);
      // At boot the ports are closed by a first, grant-less load before the grants arrive.
      assert.ok(typeof out.closedMs === 'number' && out.closedMs <= out.ms, r.stdout);
      assert.deepEqual(await reach(), { alice: true, bob: false });
    });

    test('an up-to-date apply saves the rules when firewall.json is missing (an upgrade from a version without it)', async () => {
      await sb.writePolicy(sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`, { backend }));
      assert.equal((await sb.helper(['apply'])).code, 0);
      await rm(path.join(sb.stateDir, 'firewall.json'));
      const again = await sb.helper(['apply']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /up to date/);
      const saved = JSON.parse(await readFile(path.join(sb.stateDir, 'firewall.json'), 'utf8')) as { reason: string; backend: string };
      assert.deepEqual([saved.reason, saved.backend], ['applied', backend]);
    });

    if (backend === 'nftables') {
      test('a foreign element and a foreign rule in our table are removed', async () => {
        assert.equal((await sb.run(['nft', 'add', 'element', 'inet', 'consolegate', 'allow_v4', `{ ${bob.uid} . 127.0.0.1 . 20002 }`])).code, 0);
        assert.equal((await sb.run(['nft', 'insert', 'rule', 'inet', 'consolegate', 'output', 'accept'])).code, 0);
        assert.deepEqual(await reach(), { alice: true, bob: true });
        assert.equal((await sb.helper(['restore'])).code, 0);
        assert.deepEqual(await reach(), { alice: true, bob: false });
      });
    }
  });
}

describe('validate is pure (issue 14)', { skip: unavailable ?? false }, () => {
  test('as nobody, with a user PATH and no firewall tools on it, a valid policy validates', async () => {
    const dir = await exec(['mktemp', '-d']).then((r) => r.stdout.trim());
    try {
      await chmod(dir, 0o755);
      const file = path.join(dir, 'policy.yaml');
      await writeFile(file, 'version: 1\nfirewall: { backend: auto, protect: [ { ports: "20000-20999" } ] }\nservers:\n  s4: { host: 127.0.0.1, ca: /nonexistent.pem, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [nobody] }\n', { mode: 0o644 });
      const r = await exec(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/nonexistent', process.execPath, HELPER, 'validate', '--policy', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /policy is valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
