// The .deb's systemd units at work (issue 5): the Debian root with the package and a policy is booted
// with systemd-nspawn (its own network namespace), and a probe unit records what the consolegate
// units did under their sandbox: apply at boot, the viewer group created, the statoverride written,
// and a policy fragment applied by the path unit.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readSudoers } from '../support/sudoers-read.js';
import { exec, firstReason, helperPackages, missing, mustExec, notRoot, SUPPORT, testPolicy } from './support/env.js';

// A viewer group that does not exist yet: apply must run groupadd and dpkg-statoverride in the sandbox.
const POLICY = testPolicy('cgviewers');
const FRAGMENT = `version: 1
entitlements:
  - { vm: debianx, users: [bob] }
`;
const PROBE_UNIT = `[Unit]
Description=consolegate packaging test probe
After=multi-user.target consolegate-apply.service consolegate-apply-early.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/cg-probe
[Install]
WantedBy=multi-user.target
`;

const skip = await firstReason(
  notRoot('boots a Debian root with systemd-nspawn'),
  missing('systemd-nspawn', 'systemd-container'),
  missing('debootstrap', 'debootstrap'),
  missing('ip', 'iproute2'),
  missing('openssl', 'openssl'),
);

describe('the .deb booted with systemd-nspawn', { skip }, () => {
  let root = '';
  const netns = `cgpkg-boot-${process.pid}`;
  const probe = (name: string) => readFile(path.join(root, 'probe', name), 'utf8').catch(() => '');

  before(async () => {
    const tarball = (await mustExec(exec, ['bash', path.join(SUPPORT, 'bookworm-root.sh'), 'deps'])).stdout.trim();
    root = await mkdtemp(path.join(os.tmpdir(), 'cg-bootroot-'));
    await mustExec(exec, ['tar', '-C', root, '-xf', tarball]);
    await mustExec(exec, ['ip', 'netns', 'add', netns]);
    const container = (...argv: string[]) => mustExec(exec, ['bash', path.join(SUPPORT, 'container.sh'), '--chroot', root, netns, ...argv]);
    await copyFile((await helperPackages()).deb, path.join(root, 'tmp/consolegate-helper.deb'));
    await container('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'install', '/tmp/consolegate-helper.deb');
    await container('useradd', '--create-home', 'alice');
    await container('useradd', '--create-home', 'bob');
    await mkdir(path.join(root, 'etc/consolegate/ca'), { recursive: true });
    await mustExec(exec, ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
      '-days', '2', '-keyout', '/dev/null', '-out', path.join(root, 'etc/consolegate/ca/local.pem')]);
    await writeFile(path.join(root, 'etc/consolegate/policy.yaml'), POLICY, { mode: 0o600 });
    await writeFile(path.join(root, 'root/50-bob.yaml'), FRAGMENT, { mode: 0o600 });
    await copyFile(path.join(SUPPORT, 'boot-probe.sh'), path.join(root, 'usr/local/sbin/cg-probe'));
    await chmod(path.join(root, 'usr/local/sbin/cg-probe'), 0o755);
    await writeFile(path.join(root, 'etc/systemd/system/cg-probe.service'), PROBE_UNIT);
    await symlink('/etc/systemd/system/cg-probe.service', path.join(root, 'etc/systemd/system/multi-user.target.wants/cg-probe.service'));
    // The probe powers the container off; the timeout only guards against a boot that hangs.
    const boot = await exec(['timeout', '180', 'systemd-nspawn', '--quiet', '--directory', root, '--boot', '--private-network',
      '--register=no', '--keep-unit', '--machine', `cgpkg-${process.pid}`]);
    assert.equal(await probe('finished'), 'done\n', `the probe did not finish; boot exited ${boot.code}:\n${boot.stdout.slice(-3000)}\n${boot.stderr.slice(-2000)}`);
  });
  after(async () => {
    await exec(['ip', 'netns', 'del', netns]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('consolegate-apply-early and consolegate-apply succeed at boot under their sandbox', async () => {
    const units = await probe('units');
    assert.match(units, /^consolegate-apply-early\.service success active$/m, units);
    assert.match(units, /^consolegate-apply\.service success inactive$/m, units);
    assert.match(units, /^consolegate-apply\.path success active$/m, units);
    assert.match(units, /^consolegate-refresh\.timer success active$/m, units);
    const journal = await probe('journal');
    // Both units ran apply: the first loads the policy, the second finds it up to date (or re-applies).
    assert.equal(journal.match(/^(applied|up to date): backend nftables, 1 grant\(s\)/gm)?.length, 2, journal);
    assert.match(journal, /^applied: backend nftables, 1 grant\(s\)/m, journal);
  });

  it('the sandbox lets apply load nft, create the viewer group and write the statoverride and sudoers', async () => {
    assert.match(await probe('nft'), /table inet consolegate/);
    assert.match(await probe('group'), /^cgviewers:x:\d+:$/m);
    assert.equal((await probe('statoverride')).trim(), 'root cgviewers 750 /usr/bin/remote-viewer');
    const alice = (await probe('uid-alice')).trim();
    assert.match(await probe('sudoers'), /^Cmnd_Alias CG_DEBIANX = \/usr\/libexec\/consolegate\/open-console debianx$/m);
    assert.match(await probe('sudoers'), new RegExp(`^#${alice} ALL=\\(root\\) NOPASSWD: CG_DEBIANX$`, 'm'));
    assert.equal((await probe('table')).trim(), 'root:root 600');
    assert.deepEqual((await probe('view-acl')).trim().split('\n'), ['user::rw-', `user:${alice}:r--`, 'group::---', 'mask::r--', 'other::---']);
  });

  it('the path unit applies a fragment dropped into policy.d', async () => {
    // bob and alice now have the same VMs: one User_Alias and one rule (issue 12); read it as sudo resolves it.
    const allows = readSudoers(await probe('sudoers-after-fragment'), '/usr/libexec/consolegate/open-console').allows;
    for (const u of ['alice', 'bob']) assert.deepEqual(allows.get(`#${(await probe(`uid-${u}`)).trim()}`), ['debianx'], u);
  });
});
