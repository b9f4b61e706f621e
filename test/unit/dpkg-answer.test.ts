// Whether dpkg owns the viewer (apply/viewer.ts dpkgAnswer): the real dpkg-query, asked again only when the path or
// dpkg's database (its status and diversions files, here stand-ins in a temp dir) changed since the answer recorded.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dpkgAnswer } from '../../helper/src/apply/viewer.js';
import { exec, hasCommand, type Exec } from '../../helper/src/system/exec.js';

const missing = (await hasCommand('dpkg-query')) && (await hasCommand('dpkg-statoverride')) ? null : 'dpkg-query/dpkg-statoverride missing (not a dpkg system)';

test('dpkg is asked once per path and state of its database', { skip: missing ?? false }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-dpkg-'));
  try {
    const db = [path.join(dir, 'status'), path.join(dir, 'diversions')];
    await writeFile(db[0]!, 'Package: a\n');
    let asked = 0;
    const run: Exec = (argv, options) => {
      if (argv[0] === 'dpkg-query') asked++;
      return exec(argv, options);
    };
    const owned = '/usr/bin/dpkg'; // dpkg's own binary
    const asking = dpkgAnswer(run, owned, null, db);
    // Started before dpkgAnswer returns: apply asks, then renders without yielding for a second or so.
    assert.equal(asked, 1, 'dpkg-query was not started at once');
    const first = await asking;
    assert.equal(first.owns, true);
    assert.equal(asked, 1);
    assert.deepEqual(await dpkgAnswer(run, owned, first, db), first);
    assert.equal(asked, 1, 'asked again with the same path and database');

    const notOwned = path.join(dir, 'viewer');
    const other = await dpkgAnswer(run, notOwned, first, db);
    assert.equal(other.owns, false);
    assert.equal(asked, 2);

    // An install rewrites the status file (a new inode): the answer is asked for again.
    await writeFile(`${db[0]}-new`, 'Package: a\n\nPackage: b\n');
    await rename(`${db[0]}-new`, db[0]!);
    const again = await dpkgAnswer(run, owned, first, db);
    assert.equal(asked, 3);
    assert.notEqual(again.database, first.database);
    // So does a diversion (the diversions file appears).
    await writeFile(db[1]!, '/usr/bin/x\n/usr/bin/x.real\nlocal\n');
    await dpkgAnswer(run, owned, again, db);
    assert.equal(asked, 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
