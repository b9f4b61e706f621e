// Real-Electron smoke test: the built app starts, shows the user's list through the real preload, and the page has no
// Node. Runs only where an Electron binary exists; otherwise it is reported as skipped with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { _electron } from 'playwright-core';
import { INVOKE_KEYS } from '../../electron/contract.js';

const root = path.resolve(import.meta.dirname, '../..');

// Same lookup as electron's index.js: ELECTRON_OVERRIDE_DIST_PATH, else node_modules/electron/dist.
function electronBinary(): string | null {
  const pkg = path.join(root, 'node_modules', 'electron');
  const rel = existsSync(path.join(pkg, 'path.txt')) ? readFileSync(path.join(pkg, 'path.txt'), 'utf8') : 'electron';
  const bin = process.env.ELECTRON_OVERRIDE_DIST_PATH ? path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, rel) : path.join(pkg, 'dist', rel);
  return existsSync(bin) ? bin : null;
}

test('Electron: the launcher window opens, lists my consoles, and exposes only window.api', async (t) => {
  const bin = electronBinary();
  if (bin === null) {
    t.skip('no Electron binary: ELECTRON_OVERRIDE_DIST_PATH is unset and node_modules/electron/dist is missing (its download is disabled here)');
    return;
  }
  const app = await mkdtemp(path.join(os.tmpdir(), 'cg-electron-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/build-launcher.mjs'), '--outdir', app], { stdio: 'inherit' });
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consolegate', main: 'electron/main.cjs' }));
  const state = path.join(app, 'state');
  const uid = process.getuid?.() ?? 0;
  await mkdir(path.join(state, 'views'), { recursive: true });
  await writeFile(path.join(state, 'views', `${uid}.json`), JSON.stringify({
    version: 1, user: 'me', uid, viewerGroup: 'spicegrp',
    vms: [{ id: 'debianx', title: 'Book-keeping', server: 'mysrv', host: '127.0.0.1', tlsPort: 9, windows: null, command: ['/bin/false'] }],
  }));
  const electron = await _electron.launch({
    executablePath: bin,
    args: [app, ...(uid === 0 ? ['--no-sandbox'] : []), '--disable-gpu'],
    env: { ...process.env, CONSOLEGATE_STATE_DIR: state },
  });
  try {
    const win = await electron.firstWindow();
    await win.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await win.locator('.vm-title').allTextContents(), ['Book-keeping']);
    assert.deepEqual(await win.evaluate(() => [typeof (window as unknown as { require?: unknown }).require, typeof (window as unknown as { process?: unknown }).process]), ['undefined', 'undefined']);
    // The preload's surface is exactly the contract (plus `on`): no ipcRenderer, no Node.
    const keys = await win.evaluate(() => Object.keys((window as unknown as { api: object }).api).sort());
    assert.deepEqual(keys, [...INVOKE_KEYS, 'on'].sort());
    assert.equal(await electron.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length), 1);
    // Navigation away is denied.
    await win.evaluate(() => { location.href = 'https://example.org/'; });
    await new Promise((r) => setTimeout(r, 300));
    assert.match(win.url(), /^file:.*renderer\/index\.html$/);
  } finally {
    await electron.close();
    await rm(app, { recursive: true, force: true });
  }
});
