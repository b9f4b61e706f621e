// The .deb installed into a throwaway Debian 12 root (issue 5): what the maintainer scripts do on
// install, on a virt-viewer reinstall, on remove and on purge. The root runs as a small container
// (support/container.sh) with its own network namespace, so its firewall is never the host's.
import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, firstReason, helperPackages, missing, mustExec, notRoot, SUPPORT, testPolicy, UNIT_TARGETS } from './support/env.js';

const POLICY = testPolicy('spicegrp');

const skip = await firstReason(
  notRoot('unpacks a Debian root and runs it in network, PID and mount namespaces'),
  missing('debootstrap', 'debootstrap'),
  missing('ip', 'iproute2'),
  missing('unshare', 'util-linux'),
  missing('openssl', 'openssl'),
);

describe('the .deb in a Debian 12 root', { skip }, () => {
  let root = '';
  const netns = `cgpkg-deb-${process.pid}`;
  const run = (...argv: string[]) => exec(['bash', path.join(SUPPORT, 'container.sh'), root, netns, ...argv]);
  const must = (...argv: string[]) => mustExec(exec, ['bash', path.join(SUPPORT, 'container.sh'), root, netns, ...argv]);
  const apt = (...args: string[]) => must('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', ...args);
  const viewerMode = async () => (await must('stat', '-c', '%U:%G %a', '/usr/bin/remote-viewer')).stdout.trim();
  const exists = (p: string) => lstat(path.join(root, p)).then(() => true, () => false);

  before(async () => {
    // Built once and cached outside the repo (bookworm-root.sh); unpacking takes seconds.
    const tarball = (await mustExec(exec, ['bash', path.join(SUPPORT, 'bookworm-root.sh'), 'deps'])).stdout.trim();
    root = await mkdtemp(path.join(os.tmpdir(), 'cg-debroot-'));
    await mustExec(exec, ['tar', '-C', root, '-xf', tarball]);
    await mustExec(exec, ['ip', 'netns', 'add', netns]);
    await copyFile((await helperPackages()).deb, path.join(root, 'tmp/consolegate-helper.deb'));
  });
  after(async () => {
    await exec(['ip', 'netns', 'del', netns]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('apt installs it: viewer group created, statoverride registered, viewer root:spicegrp 0750', async () => {
    await apt('install', '/tmp/consolegate-helper.deb');
    assert.match((await must('getent', 'group', 'spicegrp')).stdout, /^spicegrp:x:\d+:$/m, 'a group without members');
    assert.equal((await must('dpkg-statoverride', '--list', '/usr/bin/remote-viewer')).stdout.trim(), 'root spicegrp 750 /usr/bin/remote-viewer');
    assert.equal(await viewerMode(), 'root:spicegrp 750');
  });

  it('nss-numeric.so loads into a program of the installed system (right architecture, libc found)', async () => {
    // ld.so only warns, on stderr, when a preloaded object cannot be loaded; the program still runs.
    const r = await must('env', 'LD_PRELOAD=/usr/lib/consolegate/nss-numeric.so', 'getent', 'passwd', 'root');
    assert.equal(r.stderr, '', r.stderr);
    assert.match(r.stdout, /^root:x:0:0:/);
  });

  it('nft-genid runs on the installed system and answers the ruleset generation and the netns cookie', async () => {
    const r = await must('/usr/lib/consolegate/nft-genid');
    assert.match(r.stdout, /^\d+ \d+\n$/, r.stdout + r.stderr);
  });

  it('enables every unit (symlinks in /etc/systemd/system/*.wants)', async () => {
    for (const [unit, target] of Object.entries(UNIT_TARGETS)) {
      assert.ok(await exists(`lib/systemd/system/${unit}`), unit);
      assert.equal(await readlink(path.join(root, `etc/systemd/system/${target}.wants/${unit}`)), `/lib/systemd/system/${unit}`);
    }
  });

  it('a reinstall of virt-viewer keeps the viewer locked', async () => {
    const r = await apt('install', '--reinstall', '--no-download', 'virt-viewer');
    assert.match(r.stdout, /Unpacking virt-viewer/, 'dpkg really replaced /usr/bin/remote-viewer');
    assert.equal(await viewerMode(), 'root:spicegrp 750');
  });

  it('configuring with a policy in place applies it (live system: firewall, sudoers, state)', async () => {
    await must('useradd', '--create-home', 'alice');
    await mkdir(path.join(root, 'etc/consolegate/ca'), { recursive: true });
    await mustExec(exec, ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
      '-days', '2', '-keyout', '/dev/null', '-out', path.join(root, 'etc/consolegate/ca/local.pem')]);
    await writeFile(path.join(root, 'etc/consolegate/policy.yaml'), POLICY, { mode: 0o600 });
    await apt('install', '--reinstall', '/tmp/consolegate-helper.deb');
    const uid = (await must('id', '-u', 'alice')).stdout.trim();
    const sudoers = (await must('cat', '/etc/sudoers.d/consolegate')).stdout;
    assert.match(sudoers, /^Cmnd_Alias CG_DEBIANX = \/usr\/libexec\/consolegate\/open-console debianx$/m);
    assert.match(sudoers, new RegExp(`^#${uid} ALL=\\(root\\) NOPASSWD: CG_DEBIANX$`, 'm'));
    // The table is root's alone; the view is root's, readable by alice through its ACL.
    assert.equal((await must('stat', '-c', '%U:%G %a', '/var/lib/consolegate/console-table.json')).stdout.trim(), 'root:root 600');
    assert.match((await must('getfacl', '-n', '-c', `/var/lib/consolegate/views/${uid}.json`)).stdout, new RegExp(`^user:${uid}:r--$`, 'm'));
    assert.match((await must('nft', 'list', 'table', 'inet', 'consolegate')).stdout, new RegExp(`${uid} \\. 127\\.0\\.0\\.1 \\. 20002`));
    assert.ok(await exists('var/lib/consolegate/state.json'));
    assert.equal((await run('consolegate-helper', 'status')).code, 0, 'in sync');
  });

  it('apt-get remove keeps the policy and what it enforces (fail closed)', async () => {
    await apt('remove', 'consolegate-helper');
    assert.ok(!(await exists('usr/sbin/consolegate-helper')));
    assert.ok(await exists('etc/consolegate/policy.yaml'), 'the policy stays');
    assert.equal(await viewerMode(), 'root:spicegrp 750', 'the viewer stays locked');
    assert.equal((await run('nft', 'list', 'table', 'inet', 'consolegate')).code, 0, 'the firewall table stays until purge or reboot');
  });

  it('purge restores the viewer and leaves no trace of ours (the admin\'s policy file stays)', async () => {
    await apt('purge', 'consolegate-helper');
    assert.equal(await viewerMode(), 'root:root 755');
    assert.notEqual((await run('dpkg-statoverride', '--list', '/usr/bin/remote-viewer')).code, 0, 'no statoverride');
    assert.ok(!(await exists('var/lib/consolegate')));
    assert.ok(!(await exists('etc/sudoers.d/consolegate')));
    assert.notEqual((await run('nft', 'list', 'table', 'inet', 'consolegate')).code, 0, 'no nft table');
    for (const [unit, target] of Object.entries(UNIT_TARGETS)) {
      assert.ok(!(await exists(`etc/systemd/system/${target}.wants/${unit}`)), `${unit} still enabled`);
      assert.ok(!(await exists(`etc/systemd/system/${unit}`)), `${unit} still masked`);
    }
    assert.ok(await exists('etc/consolegate/policy.yaml'));
  });

  it('in a chroot (image build) it configures and locks the viewer but applies nothing', async () => {
    const chroot = (...argv: string[]) => mustExec(exec, ['bash', path.join(SUPPORT, 'container.sh'), '--chroot', root, netns, ...argv]);
    await chroot('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'install', '/tmp/consolegate-helper.deb');
    assert.equal(await viewerMode(), 'root:spicegrp 750');
    assert.ok(!(await exists('etc/sudoers.d/consolegate')), 'apply is left to the first boot');
    assert.notEqual((await run('nft', 'list', 'table', 'inet', 'consolegate')).code, 0);
  });
});
