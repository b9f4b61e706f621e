// Views are staged in batches: each batch of temp files gets its ACLs from one setfacl while the next batch is
// written (apply/view-files.ts). Real files, real setfacl and getfacl: every view gets its own ACL whichever batch
// it fell in, and a failing batch leaves nothing behind, not even files another batch's setfacl was still on.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAcls, stageViewDir, stageViews, viewAcl, viewFile, type ViewWrite } from '../../helper/src/apply/view-files.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';

const unavailable = (await exec(['sh', '-c', 'command -v setfacl && command -v getfacl'])).code === 0 ? null : 'setfacl/getfacl missing (package acl)';

// More than two batches of ACL_BATCH (1024), the last one partial.
const COUNT = 2500;

describe('view staging in batches', { skip: unavailable ?? false }, () => {
  let dir: string;
  const spec = { mode: 0o640, uid: process.getuid!(), gid: process.getgid!() };
  const writes = (): ViewWrite[] =>
    Array.from({ length: COUNT }, (_, i) => ({ file: viewFile(dir, 3_000_000 + i), content: `{"uid":${3_000_000 + i}}\n`, spec, acl: viewAcl(3_000_000 + i) }));

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cg-views-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('every view, in every batch, gets its own ACL; commit puts them in place and leaves no temp file', async () => {
    const staged = await stageViews(exec, writes());
    const temps = await readdir(dir);
    assert.equal(temps.length, COUNT);
    assert.ok(temps.every((n) => /^\.\d+\.json\.[0-9a-f]{12}\.tmp$/.test(n)), 'only temp names before commit');
    staged.commit();
    const acls = await readAcls(exec, dir);
    const wrong = Array.from({ length: COUNT }, (_, i) => 3_000_000 + i).filter((uid) => acls.get(viewFile(dir, uid))?.join('\n') !== viewAcl(uid).join('\n'));
    assert.deepEqual(wrong, []);
    // Created 0600 and never chmod-ed: the ACL sets the permission bits.
    for (const uid of [3_000_000, 3_001_500]) assert.equal((await stat(viewFile(dir, uid))).mode & 0o7777, 0o640);
    assert.equal((await readdir(dir)).length, COUNT);
    for (const n of await readdir(dir)) await rm(path.join(dir, n));
  });

  test('a failing setfacl fails the staging after every other batch has ended, and nothing is left', async () => {
    let calls = 0;
    let firstEnded = false;
    const run: Exec = async (argv, options) => {
      if (argv[0] !== 'setfacl') return exec(argv, options);
      const call = ++calls;
      if (call === 2) return { code: 1, stdout: '', stderr: 'setfacl: Operation not supported' };
      // The first batch is slow: its files must not be removed under it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const r = await exec(argv, options);
      if (call === 1) firstEnded = true;
      return r;
    };
    await assert.rejects(stageViews(run, writes()), /views: .*Operation not supported.*package acl/);
    assert.ok(calls >= 2);
    assert.equal(firstEnded, true, 'staging gave up while a batch was still running');
    assert.deepEqual(await readdir(dir), []);
  });

  test('into an empty directory, the views are staged as a root-only directory and renamed over it on commit', async () => {
    const views = path.join(dir, 'views');
    await mkdir(views, { mode: 0o755 });
    const all = writes().map((w) => ({ ...w, file: viewFile(views, Number(path.basename(w.file, '.json'))) }));
    const staged = await stageViewDir(exec, views, all);
    assert.deepEqual(await readdir(views), [], 'nothing visible before commit');
    const [staging] = (await readdir(dir)).filter((n) => n !== 'views');
    assert.match(staging!, /^\.views\.[0-9a-f]{12}\.tmp$/);
    assert.equal((await stat(path.join(dir, staging!))).mode & 0o777, 0o700);
    staged.commit();
    assert.deepEqual((await readdir(dir)).sort(), ['views']);
    assert.equal((await stat(views)).mode & 0o777, 0o755);
    const acls = await readAcls(exec, views);
    const wrong = all.filter((w, i) => acls.get(w.file)?.join('\n') !== viewAcl(3_000_000 + i).join('\n'));
    assert.deepEqual(wrong.map((w) => w.file), []);
    assert.equal(await readFile(all[7]!.file, 'utf8'), all[7]!.content);
    await rm(views, { recursive: true });
  });

  test('a views directory that is no longer empty at commit is not replaced, and the staging goes', async () => {
    const views = path.join(dir, 'views');
    await mkdir(views, { mode: 0o755 });
    const all = writes().slice(0, 10).map((w) => ({ ...w, file: viewFile(views, Number(path.basename(w.file, '.json'))) }));
    const staged = await stageViewDir(exec, views, all);
    await writeFile(path.join(views, 'someone.json'), '{}');
    assert.throws(() => staged.commit(), /views: .*(ENOTEMPTY|EEXIST)/);
    assert.deepEqual((await readdir(dir)).sort(), ['views']);
    assert.deepEqual(await readdir(views), ['someone.json']);
    await rm(views, { recursive: true });
  });
});
