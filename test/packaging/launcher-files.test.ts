// The launcher's desktop integration files (issue 5): desktop entry, AppStream metainfo, hicolor icons.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { exec, missing, REPO } from './support/env.js';

const DIR = path.join(REPO, 'packaging/launcher');

it('desktop-file-validate accepts consolegate.desktop', { skip: await missing('desktop-file-validate', 'desktop-file-utils') }, async () => {
  const r = await exec(['desktop-file-validate', path.join(DIR, 'consolegate.desktop')]);
  assert.equal(r.stdout + r.stderr, '');
  assert.equal(r.code, 0);
});

it('appstreamcli validate --no-net accepts the metainfo without errors or warnings', { skip: await missing('appstreamcli', 'appstream') }, async () => {
  // --pedantic is not used: its one remark is that the id (fixed by the brief) has capitals.
  const r = await exec(['appstreamcli', 'validate', '--no-net', '--no-color', path.join(DIR, 'org.consolegate.Launcher.metainfo.xml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /^[EWI]: /m);
});

it('the metainfo launches the desktop file and its icon exists in every size', async () => {
  const xml = await readFile(path.join(DIR, 'org.consolegate.Launcher.metainfo.xml'), 'utf8');
  assert.match(xml, /<launchable type="desktop-id">consolegate\.desktop<\/launchable>/);
  const desktop = await readFile(path.join(DIR, 'consolegate.desktop'), 'utf8');
  assert.match(desktop, /^Icon=consolegate$/m);
  const icons = await readdir(path.join(DIR, 'icons'));
  assert.ok(icons.includes('consolegate.svg'), 'scalable SVG');
  for (const size of [16, 24, 32, 48, 64, 128, 256, 512]) {
    const png = await readFile(path.join(DIR, 'icons', `${size}x${size}.png`));
    // IHDR: width and height at bytes 16 and 20.
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [size, size], `${size}x${size}.png`);
  }
});
