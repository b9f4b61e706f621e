// writeNewSync (helper/src/system/fs.ts): creates a file that must not exist; a file already there is never its to
// remove, whatever else fails.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeNewSync } from '../../helper/src/system/fs.js';

test('writeNewSync writes content and mode, and leaves a file that was there untouched', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-write-new-'));
  try {
    const spec = { mode: 0o640, uid: process.getuid!(), gid: process.getgid!() };
    const mine = path.join(dir, 'mine.json');
    writeNewSync(mine, '{"a":1}\n', spec);
    assert.equal(await readFile(mine, 'utf8'), '{"a":1}\n');
    assert.equal((await stat(mine)).mode & 0o777, 0o640);
    const theirs = path.join(dir, 'theirs.json');
    await writeFile(theirs, 'theirs\n', { mode: 0o600 });
    assert.throws(() => writeNewSync(theirs, 'ours\n', spec), /EEXIST/);
    assert.equal(await readFile(theirs, 'utf8'), 'theirs\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
