// The .rpm installed with `rpm --root` into a prepared root (issue 5): what its scriptlets and its file
// trigger do. The root is Debian minbase + systemd (a shell, groupadd, systemctl for presets); rpm runs
// the scriptlets chrooted there, which they rightly treat as an image build: no firewall, no apply.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, firstReason, helperPackages, missing, mustExec, notRoot, SUPPORT, UNIT_TARGETS } from './support/env.js';

const skip = await firstReason(
  notRoot('rpm --root installs as root and chroots for the scriptlets'),
  missing('rpm', 'rpm'),
  missing('rpmbuild', 'rpm'),
  missing('debootstrap', 'debootstrap'),
  missing('unshare', 'util-linux'),
);

describe('the .rpm installed with rpm --root', { skip }, () => {
  let root = '';
  let work = '';
  // --nodeps: the root has no RPM database of its dependencies. A private network namespace, so even a
  // scriptlet that wrongly touched the firewall could not reach the host's.
  const rpm = (...args: string[]) => mustExec(exec, ['unshare', '--net', 'rpm', '--root', root, '--define', '_dbpath /var/lib/rpm', ...args]);
  const fakeViewer = async (version: string) =>
    (await mustExec(exec, ['bash', path.join(SUPPORT, 'fake-viewer-rpm.sh'), version, work])).stdout.trim();
  const exists = (p: string) => lstat(path.join(root, p)).then(() => true, () => false);
  /** owner:group (numeric, the root's own ids) and mode of the viewer. */
  const viewer = async () => {
    const s = await stat(path.join(root, 'usr/bin/remote-viewer'));
    return `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)}`;
  };
  const groupId = async (name: string) => {
    const line = (await readFile(path.join(root, 'etc/group'), 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
    assert.ok(line, `group ${name} in the root's /etc/group`);
    return Number(line.split(':')[2]);
  };

  before(async () => {
    const tarball = (await mustExec(exec, ['bash', path.join(SUPPORT, 'bookworm-root.sh'), 'base'])).stdout.trim();
    root = await mkdtemp(path.join(os.tmpdir(), 'cg-rpmroot-'));
    work = await mkdtemp(path.join(os.tmpdir(), 'cg-rpmwork-'));
    await mustExec(exec, ['tar', '-C', root, '-xf', tarball]);
    await rpm('--initdb');
    await rpm('-i', '--nodeps', await fakeViewer('11.0'));
  });
  after(async () => {
    for (const d of [root, work]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('installs: viewer group created, viewer root:spicegrp 0750', async () => {
    assert.equal(await viewer(), '0:0 755', 'the stand-in viewer starts as distributions ship it');
    await rpm('-i', '--nodeps', (await helperPackages()).rpm);
    assert.equal(await viewer(), `0:${await groupId('spicegrp')} 750`);
  });

  it('enables every unit through the shipped preset', async () => {
    for (const [unit, target] of Object.entries(UNIT_TARGETS)) {
      assert.ok(await exists(`usr/lib/systemd/system/${unit}`), unit);
      assert.match(await readlink(path.join(root, `etc/systemd/system/${target}.wants/${unit}`)), new RegExp(`/lib/systemd/system/${unit.replace('.', '\\.')}$`));
    }
  });

  it('the file trigger locks the viewer again after a virt-viewer update', async () => {
    await rpm('-U', '--nodeps', await fakeViewer('11.1'));
    assert.match(await readFile(path.join(root, 'usr/bin/remote-viewer'), 'utf8'), /11\.1/, 'the update replaced the file');
    assert.equal(await viewer(), `0:${await groupId('spicegrp')} 750`);
  });

  it('erase removes our state and units and restores the viewer; the admin\'s policy stays', async () => {
    // What a live system would have after `apply` (in a chroot the scriptlets do not apply).
    await mkdir(path.join(root, 'var/lib/consolegate/views'), { recursive: true });
    await writeFile(path.join(root, 'var/lib/consolegate/state.json'), '{}\n');
    await mkdir(path.join(root, 'etc/sudoers.d'), { recursive: true });
    await writeFile(path.join(root, 'etc/sudoers.d/consolegate'), '# rendered by consolegate-helper\n', { mode: 0o440 });
    await writeFile(path.join(root, 'etc/consolegate/policy.yaml'), 'version: 1\n', { mode: 0o600 });
    await rpm('-e', 'consolegate-helper');
    assert.equal(await viewer(), '0:0 755');
    assert.ok(!(await exists('var/lib/consolegate')));
    assert.ok(!(await exists('etc/sudoers.d/consolegate')));
    assert.ok(!(await exists('usr/sbin/consolegate-helper')));
    for (const [unit, target] of Object.entries(UNIT_TARGETS)) assert.ok(!(await exists(`etc/systemd/system/${target}.wants/${unit}`)), unit);
    assert.ok(await exists('etc/consolegate/policy.yaml'));
  });
});
