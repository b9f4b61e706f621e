// The helper's systemd units (issue 5): they verify cleanly and their sandbox rates well.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, helperPackages, missing, mustExec } from './support/env.js';

const UNITS = ['consolegate-apply-early.service', 'consolegate-apply.service', 'consolegate-apply.path', 'consolegate-refresh.timer', 'consolegate-watch.service'];
/** The exposure docs/packaging.md states (systemd 252); a change to the sandbox must update both. */
const MAX_EXPOSURE = 2.5;

describe('systemd units', { skip: await missing('systemd-analyze', 'systemd') }, () => {
  // A root with systemd's own units (targets we order against) and the installed .deb, so verify sees
  // the drop-in, the ExecStart binary and the man page exactly where the package puts them.
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cg-units-'));
    await mkdir(path.join(root, 'lib/systemd'), { recursive: true });
    await cp('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    await mustExec(exec, ['dpkg-deb', '--extract', (await helperPackages()).deb, root]);
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('systemd-analyze verify accepts every unit, man page reference included', async () => {
    const r = await exec(['systemd-analyze', 'verify', `--root=${root}`, '--man=yes', ...UNITS], {
      env: { ...process.env, MANPATH: path.join(root, 'usr/share/man') },
    });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  for (const unit of ['consolegate-apply-early.service', 'consolegate-apply.service', 'consolegate-watch.service']) {
    it(`systemd-analyze security rates ${unit} at most ${MAX_EXPOSURE}`, async () => {
      const r = await mustExec(exec, ['systemd-analyze', 'security', '--offline=yes', `--root=${root}`, unit]);
      const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.ok(Number(m[1]) <= MAX_EXPOSURE, `exposure ${m[1]} > ${MAX_EXPOSURE}`);
      // The sandbox comes from the shared drop-in consolegate-.service.d/hardening.conf.
      assert.match(r.stdout, /✓ CapabilityBoundingSet=~CAP_SYS_ADMIN\s+Service has no administrator privileges/);
    });
  }

  it('the refresh timer fires at every hour boundary, where DST changes happen', async () => {
    const r = await mustExec(exec, ['systemd-analyze', 'calendar', '--iterations=8', '*-*-* *:00/15:00']);
    const minutes = [...r.stdout.matchAll(/\d{4}-\d\d-\d\d \d\d:(\d\d):00/g)].map((m) => m[1]);
    assert.ok(minutes.includes('00'), r.stdout);
    assert.deepEqual([...new Set(minutes)].sort(), ['00', '15', '30', '45']);
  });
});
