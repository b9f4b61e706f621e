// A first apply's views are created by a second thread while the plan is still rendered (apply/view-thread.ts).
// The thread runs the built bundle, as the installed helper does; real files, real setfacl and getfacl.
import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAcls, VIEW_SPEC, viewAcl, viewFile, type ViewWrite } from '../../helper/src/apply/view-files.js';
import { setThreadEntry, startViewDir, viewsOnDisk, type Stamping, type ViewsOnDisk } from '../../helper/src/apply/view-thread.js';
import { exec } from '../../helper/src/system/exec.js';
import { digestOf, viewHash } from '../../helper/src/plan/digest.js';
import { joinPieces } from '../../helper/src/plan/json-text.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import type { ViewText } from '../../helper/src/plan/views.js';
import { CASE_SPECS, renderCase } from '../support/render-cases.js';
import { ROOT } from '../support/sandbox.js';

const bundle = path.join(ROOT, 'dist/consolegate-helper.js');
const unavailable =
  process.getuid!() !== 0
    ? 'needs root (views are root:root)'
    : !existsSync(bundle)
      ? `${bundle} missing (run npm run build)`
      : (await exec(['sh', '-c', 'command -v setfacl && command -v getfacl'])).code !== 0
        ? 'setfacl/getfacl missing (package acl)'
        : null;

// More than one batch sent (256) and more than one setfacl (1024).
const COUNT = 1500;
const FIRST_UID = 3_000_000;

/** What a stamping thread answers, taken once it has. */
async function taken(s: Stamping): Promise<ViewsOnDisk | null> {
  await s.settled;
  return s.take();
}

describe('the view writer thread', { skip: unavailable ?? false }, () => {
  let dir: string;
  let views: string;
  // Views as the plan has them (uid → text), and the state step's writes for them.
  const planned = (): Map<number, { content: string }> =>
    new Map(Array.from({ length: COUNT }, (_, i) => [FIRST_UID + i, { content: `{"uid":${FIRST_UID + i},"title":"Büro ✓ ${i}"}\n` }]));
  const writesFor = (p: Map<number, { content: string }>): ViewWrite[] => [...p].map(([uid, v]) => ({ file: viewFile(views, uid), content: v.content, spec: VIEW_SPEC, acl: viewAcl(uid) }));
  const leftovers = async () => (await readdir(dir)).filter((n) => n !== 'views');

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cg-thread-'));
    views = path.join(dir, 'views');
    setThreadEntry(bundle);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('creates every view it is sent, root:root 0640 with its user ACL, byte for byte; its stamps are the seals', async () => {
    await mkdir(views, { mode: 0o755 });
    const early = startViewDir(views);
    assert.ok(early, 'no thread started');
    const p = planned();
    early.send(p);
    const staged = await early.staged(writesFor(p));
    assert.ok(staged, 'the thread did not stage the views');
    assert.deepEqual(await readdir(views), [], 'nothing visible before commit');
    const [staging] = await leftovers();
    assert.equal((await stat(path.join(dir, staging!))).mode & 0o777, 0o700);
    staged.commit();
    assert.deepEqual(await leftovers(), []);
    assert.equal((await readdir(views)).length, COUNT);
    const acls = await readAcls(exec, views);
    for (const [uid, v] of p) {
      const file = viewFile(views, uid);
      assert.equal(await readFile(file, 'utf8'), v.content);
      const st = lstatSync(file, { bigint: true });
      assert.equal(Number(st.mode & 0o7777n), 0o640, `${file} mode`);
      assert.equal(st.uid, 0n);
      assert.equal(st.gid, 0n);
      assert.deepEqual(acls.get(file), viewAcl(uid));
      assert.deepEqual(staged.stamps?.get(uid), [st.ino.toString(), st.ctimeNs.toString(), Number(st.size)], `${file} stamp`);
    }
    await rm(views, { recursive: true });
  });

  test("views sent as pieces: each file is its view's text byte for byte, shared lists or not; the digest hashes those bytes", async () => {
    await mkdir(views, { mode: 0o755 });
    // Entry texts shared between views, as the plan's are; `copy` makes an equal text that is another string.
    const entries = Array.from({ length: 40 }, (_, i) => `    {\n      "id": "vm${i}",\n      "title": "Büro ✓ ${i}"\n    }`);
    const copy = (t: string) => [...t].join('');
    const shared = [entries[0]!, entries[1]!, entries[2]!];
    const lists: (readonly string[])[] = [
      shared,
      [...shared], // the same strings, another array
      shared.map(copy), // equal texts, other strings
      [entries[0]!, entries[1]!, entries[3]!], // same first entries, another last
      [entries[0]!, entries[1]!], // a prefix
      [entries[5]!],
      // More lists with one first entry than are kept: those beyond are put together each time.
      ...Array.from({ length: 24 }, (_, k) => [entries[9]!, entries[10 + (k % 30)]!, ...(k >= 12 ? [entries[k]!] : [])]),
    ];
    const tail = '\n  ]\n}\n';
    const sent = new Map<number, ViewText>();
    for (let i = 0; i < COUNT; i++) {
      const uid = FIRST_UID + i;
      const pieces = { head: `{\n  "uid": ${uid},\n  "user": "ü${i}",\n  "vms": [\n`, items: lists[i % lists.length]!, tail };
      const text = { content: joinPieces(pieces)! };
      sent.set(uid, Object.defineProperty(text, 'pieces', { value: () => pieces, enumerable: false }));
    }
    const early = startViewDir(views)!;
    early.send(sent);
    const staged = await early.staged(writesFor(sent));
    assert.ok(staged, 'the thread did not stage the views');
    staged.commit();
    for (const [uid, v] of sent) assert.equal(await readFile(viewFile(views, uid), 'utf8'), v.content, `view ${uid}`);
    await rm(views, { recursive: true });

    // The plan's own views, and the digest's hashes of them, taken from the bytes sent.
    await mkdir(views, { mode: 0o755 });
    const c = renderCase(CASE_SPECS[0]!);
    const plan = makePlan(c.policy, c.facts, { backend: 'nftables', openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: dir });
    assert.ok(plan.views.size > 1);
    const planEarly = startViewDir(views)!;
    planEarly.send(plan.views);
    const planStaged = await planEarly.staged(writesFor(plan.views));
    assert.ok(planStaged);
    planStaged.commit();
    const hashes = digestOf(plan).views;
    for (const [uid, v] of plan.views) {
      const bytes = await readFile(viewFile(views, uid));
      assert.equal(bytes.toString('utf8'), v.content);
      assert.equal(hashes[uid], viewHash(bytes));
    }
    await rm(views, { recursive: true });
  });

  test('writes other than the views sent are refused (the caller writes them), and the staging goes', async () => {
    await mkdir(views, { mode: 0o755 });
    const early = startViewDir(views)!;
    const p = planned();
    early.send(p);
    const writes = writesFor(p);
    writes[700] = { ...writes[700]!, content: '{"changed":true}\n' };
    assert.equal(await early.staged(writes), null);
    assert.deepEqual(await leftovers(), []);
    assert.deepEqual(await readdir(views), []);
    await rm(views, { recursive: true });
  });

  test('a failing setfacl: nothing is staged and nothing is left', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'setfacl'), '#!/bin/sh\necho "setfacl: Operation not supported" >&2\nexit 1\n');
    await chmod(path.join(bin, 'setfacl'), 0o755);
    const pathBefore = process.env.PATH;
    process.env.PATH = `${bin}:${pathBefore}`; // the thread's environment is a copy taken when it starts
    let early;
    try {
      early = startViewDir(views)!;
    } finally {
      process.env.PATH = pathBefore;
    }
    const p = planned();
    early.send(p);
    assert.equal(await early.staged(writesFor(p)), null);
    assert.deepEqual(await leftovers(), ['bin']);
    assert.equal(existsSync(views), false);
    await rm(bin, { recursive: true });
  });

  test('lists the view files with their stamps: a view that is not a file has none, other names are not views', async () => {
    await mkdir(views, { mode: 0o755 });
    for (const uid of [3_000_001, 3_000_002]) await writeFile(viewFile(views, uid), `{"uid":${uid}}\n`);
    await symlink('/etc/passwd', viewFile(views, 3_000_003));
    await writeFile(path.join(views, 'notes.txt'), 'x');
    const onDisk = await taken(viewsOnDisk(views));
    assert.ok(onDisk, 'no thread answered');
    assert.deepEqual([...onDisk.files].sort(), [3_000_001, 3_000_002, 3_000_003].map((uid) => viewFile(views, uid)));
    assert.deepEqual([...onDisk.stamps.keys()].sort(), [3_000_001, 3_000_002].map((uid) => viewFile(views, uid)));
    const st = lstatSync(viewFile(views, 3_000_002), { bigint: true });
    assert.deepEqual(onDisk.stamps.get(viewFile(views, 3_000_002)), [st.ino.toString(), st.ctimeNs.toString(), Number(st.size)]);
    assert.deepEqual(await taken(viewsOnDisk(path.join(dir, 'missing'))), { files: [], stamps: new Map() });
    // Asked for at once, before the thread can have answered: nothing, and nobody waits.
    assert.equal(await viewsOnDisk(views).take(), null);
    await rm(views, { recursive: true });
  });

  test('discarded while it writes: the thread stops and its directory goes, for good', async () => {
    const early = startViewDir(views)!;
    early.send(planned());
    await early.discard();
    assert.deepEqual(await leftovers(), []);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await leftovers(), [], 'a file was created after the discard');
  });
});
