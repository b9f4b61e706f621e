// Backend choice: `auto` falls back to iptables when nft does not work; switching backends leaves one set of rules.
import assert from 'node:assert/strict';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

describe('backend selection', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser;
  const policy = (backend: string) =>
    sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`).replace(/backend: \w+/, `backend: ${backend}`);

  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    await sb.listen([20002]);
  });
  after(async () => sb?.cleanup());

  test('auto uses iptables when nft is not usable, and enforces the same way', async () => {
    const dir = path.join(sb.dir, 'no-nft');
    await mkdir(dir);
    await writeFile(path.join(dir, 'nft'), '#!/bin/sh\necho "nft: kernel has no nf_tables" >&2\nexit 1\n');
    await chmod(path.join(dir, 'nft'), 0o755);
    await sb.writePolicy(policy('auto'));
    const r = await sb.helper(['apply'], { PATH: `${dir}:${process.env.PATH}` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backend iptables/);
    assert.match((await sb.run(['iptables', '-S', 'OUTPUT'])).stdout, /-A OUTPUT -j CONSOLEGATE/);
    assert.match((await sb.run(['ip6tables', '-S', 'OUTPUT'])).stdout, /-A OUTPUT -j CONSOLEGATE/);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, await sb.viewerGid()), true);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice), false);
  });

  test('switching to nftables removes the iptables chain after loading the table', async () => {
    await sb.writePolicy(policy('nftables'));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch((await sb.run(['iptables-save'])).stdout, /CONSOLEGATE/);
    assert.equal((await sb.run(['nft', 'list', 'table', 'inet', 'consolegate'])).code, 0);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice), false);
    assert.equal((await sb.helper(['status'])).code, 0);
  });

  test('an explicit backend whose tool is missing is a clear error that changes nothing', async () => {
    // A PATH with nft, visudo and groupadd but without any iptables tool.
    const bin = path.join(sb.dir, 'sbin-without-iptables');
    await mkdir(bin);
    for (const tool of ['nft', 'visudo', 'groupadd']) await symlink(`/usr/sbin/${tool}`, path.join(bin, tool));
    await sb.writePolicy(policy('iptables'));
    const r = await sb.helper(['apply'], { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /firewall backend iptables: `iptables-restore`\/`ip6tables-restore` are not installed \(package iptables\)/);
    assert.equal((await sb.run(['nft', 'list', 'table', 'inet', 'consolegate'])).code, 0, 'the nft table from before is still loaded');
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, await sb.viewerGid()), true);
  });
});
