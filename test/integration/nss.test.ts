// Users through the machine's real NSS: few names are asked for by key, many answered by one enumeration.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exec } from '../../helper/src/system/exec.js';
import { lookupUsers } from '../../helper/src/system/nss.js';
import { HELPER, ROOT, Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';
import { runHelper } from '../fault/support/harness.js';

const unavailable = await rootTestsUnavailable();

describe('user lookup through NSS', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  before(async () => {
    sb = await Sandbox.create();
    [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
  });
  after(async () => sb?.cleanup());

  for (const unknown of [3, 500]) {
    test(`${unknown} unknown names beside two real users: exactly the real ones, with their uid and gid`, async () => {
      const names = [alice.name, ...Array.from({ length: unknown }, (_, i) => `cgnobody${i}`), bob.name, alice.name];
      const found = await lookupUsers(exec, names);
      assert.deepEqual(
        [...found.values()].sort((a, b) => a.uid - b.uid),
        [alice, bob].map((u) => ({ name: u.name, uid: u.uid, gid: u.gid })).sort((a, b) => a.uid - b.uid),
      );
    });
  }

  test('a user enumeration does not list is still found by key', async () => {
    const found = await lookupUsers(exec, [alice.name, bob.name], [{ name: bob.name, uid: bob.uid, gid: bob.gid }]);
    assert.equal(found.get(alice.name)?.uid, alice.uid);
    assert.equal(found.get(bob.name)?.uid, bob.uid);
  });
});

const SHIM = path.join(ROOT, 'dist/nss-numeric.so');

// nft and iptables look every uid of our rules up as a *name* first. An account whose name is another user's
// uid (LDAP directories hold such things) would then take that user's place in the rules. With the NSS shim
// (helper/native/nss-numeric.c) preloaded, the tools read our numbers as numbers. It also makes them fast.
describe('firewall tools read uids as numbers', { skip: unavailable ?? (existsSync(SHIM) ? false : `${SHIM} was not built: npm run build needs gcc and libc6-dev`) }, () => {
  let sb: Sandbox;
  let alice: TestUser;
  let passwd: string;
  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    await sb.listen([20002]);
    // Seen only by the helper's own mount namespace: an account named "<alice's uid>" with another uid.
    passwd = path.join(sb.dir, 'passwd-with-numeric-name');
    await writeFile(passwd, `${(await readFile('/etc/passwd', 'utf8')).trimEnd()}\n${alice.uid}:x:${alice.uid + 424242}:${alice.gid}::/nonexistent:/usr/sbin/nologin\n`, { mode: 0o644 });
  });
  after(async () => sb?.cleanup());

  for (const backend of ['nftables', 'iptables'] as const) {
    test(`${backend}: an account named like alice's uid does not take her entitlement`, async () => {
      await sb.writePolicy(sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`, { backend }));
      const r = await runHelper(sb, ['apply'], { preamble: `mount --bind "${passwd}" /etc/passwd` });
      assert.equal(r.code, 0, r.stderr);
      const rules = backend === 'nftables' ? (await sb.run(['nft', 'list', 'table', 'inet', 'consolegate'])).stdout : (await sb.run(['iptables-save', '-t', 'filter'])).stdout;
      assert.match(rules, backend === 'nftables' ? new RegExp(`\\b${alice.uid} \\. 127\\.0\\.0\\.1 \\. 20002\\b`) : new RegExp(`--uid-owner ${alice.uid}\\b`));
      assert.doesNotMatch(rules, new RegExp(`${alice.uid + 424242}`));
      assert.equal(await sb.connect('127.0.0.1', 20002, alice, await sb.viewerGid()), true, 'alice with the viewer group must connect');
    });
  }

  test('apply says so when it runs without the shim, and not when the shim is there', async () => {
    const bare = path.join(sb.dir, 'helper-without-shim');
    await mkdir(bare, { recursive: true });
    for (const f of ['consolegate-helper.js', 'package.json']) await copyFile(path.join(path.dirname(HELPER), f), path.join(bare, f));
    await sb.writePolicy(sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}], when: { hours: "00:00-23:00" } }\n`));
    const without = await sb.run(['node', path.join(bare, 'consolegate-helper.js'), 'apply']);
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stderr, /nss-numeric\.so is not beside the helper/);
    await sb.writePolicy(sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`));
    const withShim = await sb.helper(['apply']);
    assert.equal(withShim.code, 0, withShim.stderr);
    assert.doesNotMatch(withShim.stderr, /nss-numeric/);
  });
});
