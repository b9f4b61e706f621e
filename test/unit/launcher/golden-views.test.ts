// The launcher reads what the helper writes (issue 14): the views and the console table that plan-golden.test.ts
// renders from the golden policy go through the boundary's validators and the launcher's own reading path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseTable, parseView, viewPath } from '../../../helper/src/boundary/index.js';
import { loadView } from '../../../electron/services/views.js';

const golden = path.resolve(import.meta.dirname, '../../fixtures/golden');
const viewFiles = (await readdir(golden)).filter((f) => /^view-\d+\.json$/.test(f));

test('every golden view the helper rendered is a valid view for the launcher, field for field', async () => {
  assert.ok(viewFiles.length >= 2, `golden views: ${viewFiles.join(', ')}`);
  for (const f of viewFiles) {
    const raw = JSON.parse(await readFile(path.join(golden, f), 'utf8'));
    const view = parseView(raw);
    // Nothing the helper writes is lost or invented on the way in.
    assert.deepEqual(view, raw, f);
    assert.equal(`view-${view.uid}.json`, f);
  }
});

test('the launcher lists a golden view through loadView, with a schedule and availability for each VM', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-golden-'));
  try {
    await mkdir(path.join(dir, 'views'));
    for (const f of viewFiles) {
      const raw = JSON.parse(await readFile(path.join(golden, f), 'utf8'));
      await writeFile(viewPath(dir, raw.uid), JSON.stringify(raw));
      const { view, snapshot } = await loadView({ stateDir: dir, uid: raw.uid, now: () => new Date(2026, 0, 5, 10, 0) });
      assert.equal(snapshot.status, 'ok', `${f}: ${JSON.stringify(snapshot)}`);
      if (snapshot.status !== 'ok') continue;
      assert.deepEqual(snapshot.vms.map((v) => v.id), raw.vms.map((v: { id: string }) => v.id));
      for (const e of snapshot.vms) assert.ok(e.schedule !== '' && e.availability.label !== '', JSON.stringify(e));
      // The command the launcher will run is the helper's, unchanged.
      assert.deepEqual(view?.vms.map((v) => v.command), raw.vms.map((v: { command: string[] }) => v.command));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the golden console table is valid for open-console\'s reader', async () => {
  const raw = JSON.parse(await readFile(path.join(golden, 'policy.table.json'), 'utf8'));
  assert.deepEqual(parseTable(raw), raw);
});
