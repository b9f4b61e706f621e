// The sudoers candidate (apply/sudoers.ts, prepareSudoers): written beside the target, checked by visudo. When visudo
// cannot be started at all, the error says which package is missing and the candidate does not stay behind.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { prepareSudoers, VisudoMissing } from '../../helper/src/apply/sudoers.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';

test('visudo missing: VisudoMissing naming the package, and no candidate left', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-sudoers-'));
  try {
    // What exec does when the program is not there: spawn fails with ENOENT.
    const run: Exec = (argv, options) => exec([argv[0] === 'visudo' ? path.join(dir, 'no-such-visudo') : argv[0]!, ...argv.slice(1)], options);
    const err = await prepareSudoers(run, path.join(dir, 'consolegate'), 'Defaults:root !lecture\n').then(
      () => assert.fail('a candidate was accepted without visudo'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VisudoMissing);
    assert.match(err.message, /visudo is not usable \(package sudo\): .*ENOENT/);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
