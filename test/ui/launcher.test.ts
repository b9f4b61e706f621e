// UI tests: the built renderer in Debian's Chromium, window.api bound to the real services (view file, console
// service, keyring over a private gnome-keyring). Screenshots of the main states go to test-artifacts/ui/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { startKeyring, type TestKeyring } from '../support/keyring.js';
import { buildRenderer, openLauncher, recordStates, startBrowser, type LauncherPage } from './support/harness.js';
import { rootTestsUnavailable } from '../support/sandbox.js';
import { missingLine } from '../e2e/support/deps.js';
import { ConsoleLab } from '../e2e/support/lab.js';
import { DAYS, localClock } from '../../helper/src/boundary/index.js';
import { createSecretStore } from '../../electron/services/secrets.js';
import type { ConsoleSession } from '../../electron/services/console.js';

const root = path.resolve(import.meta.dirname, '../..');
const shots = path.join(root, 'test-artifacts', 'ui');
const UID = 1001;
// The real-console test needs what the e2e lab needs (root, QEMU, remote-viewer, Xvfb, …); the reason names the packages.
const labSkip = (await rootTestsUnavailable()) ?? missingLine();

let keyring: TestKeyring | undefined;
let browser: { context: BrowserContext; close(): Promise<void> } | undefined;
let build: { html: string; dir: string } | undefined;
let work = '';
let listener: net.Server | undefined;
let port: number;
const sockets = new Set<net.Socket>();

before(async () => {
  keyring = await startKeyring();
  // keytar (libsecret) reads the bus address on first use; this process never touches another keyring.
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  build = await buildRenderer();
  browser = await startBrowser();
  work = await mkdtemp(path.join(os.tmpdir(), 'cg-ui-'));
  await mkdir(shots, { recursive: true });
  // Stands in for the SPICE server's TLS port: accepts connections and holds them.
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  listener = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  // Viewers outlive the launcher by design, so the test ends its stand-ins itself, by the PIDs they wrote.
  for (const f of work && existsSync(work) ? await readdir(work, { recursive: true }) : []) {
    if (!String(f).endsWith('.pid')) continue;
    const pid = Number(await readFile(path.join(work, String(f)), 'utf8'));
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const s of sockets) s.destroy();
  if (listener) await new Promise((r) => listener?.close(r));
  await browser?.close();
  await keyring?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  if (build) await rm(build.dir, { recursive: true, force: true });
});

// Stand-ins for `sudo … open-console VM` (the console service runs them exactly as it runs the real command).
// "viewer": reads the password from stdin like open-console, then (after a viewer-like start-up pause: the console
// service snapshots existing sockets when it starts) holds two connections like SPICE's channels.
// "auth-failure": prints remote-viewer's real debug line for a rejected password and exits 1.
async function standIn(dir: string, kind: 'viewer' | 'auth-failure'): Promise<string> {
  const file = path.join(dir, `open-console-${kind}`);
  const body = kind === 'viewer'
    ? `cat > "${dir}/stdin-$1"\necho $$ > "${dir}/$1.pid"\nsleep 0.5\nexec 3<>/dev/tcp/127.0.0.1/${port} 4<>/dev/tcp/127.0.0.1/${port}\nexec sleep 300`
    : 'cat >/dev/null\necho "(remote-viewer:4242): virt-viewer-DEBUG: 10:00:00.000: main channel: auth failure"\nexit 1';
  await writeFile(file, `#!/bin/bash\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

interface VmSpec { id: string; title: string; server?: string; windows?: unknown; command?: string[] }

// A state dir with views/<uid>.json written the way apply does (temp file + rename).
async function stateDir(name: string, vms: VmSpec[] | 'no-policy' | 'no-vms'): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  if (vms === 'no-policy') return dir;
  await mkdir(path.join(dir, 'views'), { recursive: true });
  if (vms === 'no-vms') return dir;
  await writeView(dir, vms);
  return dir;
}

async function writeView(dir: string, vms: VmSpec[]): Promise<void> {
  const view = {
    version: 1, user: 'alice', uid: UID, viewerGroup: 'spicegrp',
    vms: vms.map((v) => ({ server: 'mysrv', host: '127.0.0.1', tlsPort: port, windows: null, command: ['/bin/false', v.id], ...v })),
  };
  const tmp = path.join(dir, 'views', `.${UID}.tmp`);
  await writeFile(tmp, JSON.stringify(view));
  await rename(tmp, path.join(dir, 'views', `${UID}.json`));
}

// A window that is certainly closed now: only on the day after tomorrow.
const later = () => [{ days: [DAYS[(localClock(new Date()).day + 2) % 7]], hours: '08:00-17:00' }];

async function open(dir: string, opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<LauncherPage> {
  return openLauncher(browser!.context, build!.html, { source: { stateDir: dir, uid: UID, pollMs: 200 }, viewerPath: '/usr/bin/remote-viewer', ...opts });
}

async function finish(l: LauncherPage): Promise<void> {
  // Every page must run clean under the strict CSP: a blocked script or style would be reported here.
  assert.deepEqual(l.errors, []);
  await l.close();
}

test('lists my consoles with availability and follows view changes without a restart', async () => {
  const dir = await stateDir('list', [
    { id: 'debianx', title: 'Book-keeping' },
    { id: 'leaptest', title: 'Leap test machine', windows: later() },
    { id: 'payroll', title: 'Payroll', server: 'hrsrv', windows: [{ hours: '00:00-24:00' }] },
  ]);
  const l = await open(dir);
  const { page } = l;
  assert.deepEqual(await page.locator('.vm-title').allTextContents(), ['Book-keeping', 'Leap test machine', 'Payroll']);
  assert.match(await page.locator('#who').textContent() ?? '', /Signed in as alice · 3 consoles/);
  const leap = page.locator('li.vm[data-vm="leaptest"]');
  assert.match(await leap.locator('.avail').textContent() ?? '', /^Opens \w{3} 08:00$/);
  assert.equal(await leap.getByRole('button', { name: 'Open console' }).isDisabled(), true);
  assert.equal(await page.locator('li.vm[data-vm="debianx"] .avail').textContent(), 'Available now');
  assert.equal(await page.locator('#search-row').isHidden(), true, 'no search box for a short list');
  await page.screenshot({ path: path.join(shots, 'list.png') });
  await copyFile(path.join(shots, 'list.png'), path.join(root, 'docs', 'launcher.png'));

  await writeView(dir, [{ id: 'debianx', title: 'Book-keeping' }, { id: 'newvm', title: 'New console' }]);
  await page.locator('li.vm[data-vm="newvm"]').waitFor();
  assert.deepEqual(await page.locator('.vm-title').allTextContents(), ['Book-keeping', 'New console']);
  await finish(l);
});

test('password prompt: remember stores it in the keyring once connected; a second open does not start a second viewer; forget removes it', async () => {
  const dir = await stateDir('prompt', []);
  const cmd = await standIn(dir, 'viewer');
  await writeView(dir, [{ id: 'debianx', title: 'Book-keeping', command: [cmd, 'debianx'] }]);
  const l = await open(dir);
  const { page } = l;
  const row = page.locator('li.vm[data-vm="debianx"]');
  await row.getByRole('button', { name: 'Open console' }).click();
  const dialog = page.getByRole('dialog', { name: 'Password for Book-keeping' });
  await dialog.waitFor();
  assert.equal(await page.locator('#pw-input').evaluate((e) => e === document.activeElement), true, 'focus starts in the password field');
  await page.keyboard.type('hunter2');
  await page.getByLabel('Remember this password on this computer').check();
  await page.screenshot({ path: path.join(shots, 'password-prompt.png') });
  await page.keyboard.press('Enter');
  await row.getByText('The console is open.').waitFor({ timeout: 15_000 });
  assert.equal(await readFile(path.join(dir, 'stdin-debianx'), 'utf8'), 'hunter2\n', 'password reached open-console on stdin');
  await row.getByRole('button', { name: /Forget the saved password/ }).waitFor();
  assert.equal(await createSecretStore().get('debianx'), 'hunter2', 'remembered in the real keyring');
  await page.screenshot({ path: path.join(shots, 'connected.png') });

  await row.getByRole('button', { name: 'Open console' }).click();
  await row.getByText('This console is already open.').waitFor();
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.pid')).length, 1, 'still one viewer');

  await row.getByRole('button', { name: /Forget the saved password/ }).click();
  await row.getByRole('button', { name: /Forget the saved password/ }).waitFor({ state: 'detached' });
  assert.equal(await createSecretStore().get('debianx'), null);
  await finish(l);
});

test('a remembered password that is rejected: reason and next step in plain words, and the password is forgotten', async () => {
  const dir = await stateDir('failed', []);
  const cmd = await standIn(dir, 'auth-failure');
  await writeView(dir, [{ id: 'payroll', title: 'Payroll', command: [cmd, 'payroll'] }, { id: 'debianx', title: 'Book-keeping' }]);
  await createSecretStore().remember('payroll', 'outdated');
  const l = await open(dir);
  const { page } = l;
  const row = page.locator('li.vm[data-vm="payroll"]');
  await row.getByRole('button', { name: /Forget the saved password/ }).waitFor();
  await row.getByRole('button', { name: 'Open console' }).click();
  const state = row.locator('.state-failed');
  await state.waitFor({ timeout: 15_000 });
  assert.equal(await state.locator('strong').textContent(), 'The console password was not accepted.');
  assert.match(await state.locator('.hint').textContent() ?? '', /Try again with the right password/);
  assert.equal(await page.getByRole('dialog').count(), 0, 'no prompt: the remembered password was used');
  await row.getByRole('button', { name: /Forget the saved password/ }).waitFor({ state: 'detached' });
  assert.equal(await createSecretStore().get('payroll'), null);
  await page.screenshot({ path: path.join(shots, 'failed.png') });
  await finish(l);
});

test('empty states explain why: no policy on this computer vs. nothing assigned to me', async () => {
  const none = await open(await stateDir('no-policy', 'no-policy'));
  assert.equal(await none.page.locator('#empty-title').textContent(), 'Consoles are not set up on this computer');
  assert.match(await none.page.locator('#empty-body').textContent() ?? '', /ask them to apply the consolegate policy/);
  await none.page.screenshot({ path: path.join(shots, 'empty-no-policy.png') });
  await finish(none);

  const mine = await open(await stateDir('no-vms', 'no-vms'));
  assert.equal(await mine.page.locator('#empty-title').textContent(), 'No consoles are assigned to you');
  assert.match(await mine.page.locator('#empty-body').textContent() ?? '', /ask your administrator to give you access/);
  await mine.page.screenshot({ path: path.join(shots, 'empty-no-vms.png') });
  await finish(mine);
});

test('search and keyboard: "/" focuses search, typing filters, arrows move between consoles with a visible focus ring', async () => {
  const titles = ['Accounting', 'Book-keeping', 'Build server', 'Leap test machine', 'Payroll', 'Sales desk', 'Warehouse'];
  const dir = await stateDir('search', titles.map((title, i) => ({ id: `vm${i}`, title })));
  const l = await open(dir);
  const { page } = l;
  assert.equal(await page.locator('#search-row').isVisible(), true, 'search box once there are more than 5');
  await page.keyboard.press('/');
  assert.equal(await page.locator('#search').evaluate((e) => e === document.activeElement), true);
  await page.keyboard.type('leap');
  assert.deepEqual(await page.locator('.vm-title').allTextContents(), ['Leap test machine']);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  assert.equal(await page.locator('.vm-title').count(), 7);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const focused = page.locator(':focus');
  assert.equal(await focused.getAttribute('data-vm'), 'vm1');
  assert.equal(await focused.evaluate((e) => getComputedStyle(e).outlineStyle), 'solid', 'focus is visible');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.locator(':focus').getAttribute('data-vm'), 'vm0');
  await page.screenshot({ path: path.join(shots, 'search-keyboard.png') });
  await finish(l);
});

test('diagnostics panel shows every check with a verdict', async () => {
  const dir = await stateDir('diag', [{ id: 'debianx', title: 'Book-keeping', command: ['sudo', '-n', '/usr/libexec/consolegate/open-console', 'debianx'] }]);
  const l = await open(dir);
  const { page } = l;
  await page.getByRole('button', { name: 'Diagnostics', exact: true }).click();
  await page.locator('#diag-list .check-icon').first().waitFor({ timeout: 20_000 });
  const items = page.locator('#diag-list li');
  assert.equal(await items.count(), 6);
  const text = (await items.allTextContents()).join('\n');
  assert.match(text, /Your list of consoles: OK/);
  // Nothing on this machine makes the console port private, and the stand-in server accepts anyone: that must show.
  assert.match(text, /Console ports protected: Problem/);
  assert.equal(await page.getByRole('button', { name: 'Hide diagnostics' }).getAttribute('aria-expanded'), 'true');
  await page.screenshot({ path: path.join(shots, 'diagnostics.png') });
  await finish(l);
});

test('dark theme follows the system', async () => {
  const dir = await stateDir('dark', [
    { id: 'debianx', title: 'Book-keeping' },
    { id: 'leaptest', title: 'Leap test machine', windows: later() },
  ]);
  const l = await open(dir, { colorScheme: 'dark' });
  const bg = await l.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
  assert.ok((r ?? 255) + (g ?? 255) + (b ?? 255) < 150, `dark background, got ${bg}`);
  await l.page.screenshot({ path: path.join(shots, 'dark.png') });
  await finish(l);
});

// The real path: alice's view as apply wrote it, and `open` = the console service run as alice by the e2e lab's driver,
// so "Open console" runs `sudo -n -u alice -g <viewer group> open-console … labvm` → remote-viewer (lab Xvfb) → QEMU.
test('real sudo + open-console + remote-viewer against the end-to-end QEMU VM', { skip: labSkip ?? false, timeout: 180_000 }, async () => {
  const lab = await ConsoleLab.create();
  const sessions: ConsoleSession[] = [];
  let l: LauncherPage | undefined;
  try {
    const r = await lab.apply();
    assert.equal(r.code, 0, `apply failed: ${r.stderr}${r.stdout}`);
    const { alice } = lab;
    const view = JSON.parse(await readFile(lab.viewFile(alice), 'utf8')) as { vms: { id: string; command: string[] }[] };
    assert.deepEqual(view.vms.find((v) => v.id === 'labvm')?.command.slice(0, 3), ['sudo', '-n', lab.sb.openConsole]);
    const service = lab.consoleService(alice);
    l = await openLauncher(browser!.context, build!.html, {
      source: { stateDir: lab.sb.stateDir, uid: alice.uid, pollMs: 200 },
      viewerPath: lab.viewer,
      open: (target, opts) => {
        const session = service(target, opts);
        sessions.push(session);
        return session;
      },
    });
    const { page } = l;
    assert.deepEqual((await page.locator('.vm-title').allTextContents()).sort(), ['Lab VM (SeaBIOS)', 'Lab VM, wrong CA', 'Not today', 'Nothing listens']);

    const row = page.locator('li.vm[data-vm="labvm"]');
    const shown = await recordStates(page, 'labvm');
    await row.getByRole('button', { name: 'Open console' }).click();
    await page.getByRole('dialog', { name: 'Password for Lab VM (SeaBIOS)' }).waitFor();
    await page.keyboard.type(lab.password);
    await page.keyboard.press('Enter');
    await row.getByText('The console is open.').waitFor({ timeout: 30_000 });
    assert.deepEqual(await shown(), ['Starting the console…', 'The console is open. Look for its window on your screen.']);
    await lab.expectViewerConnected(alice);
    await page.screenshot({ path: path.join(shots, 'real-connected.png') });

    sessions.find((s) => s.vmId === 'labvm')?.stop();
    await row.getByText('Console closed.').waitFor({ timeout: 10_000 });
    await lab.viewersGone(alice, 'stop() to end the viewer');
    assert.deepEqual(await shown(), ['Starting the console…', 'The console is open. Look for its window on your screen.', 'Console closed.']);

    const wrong = page.locator('li.vm[data-vm="wrongca"]');
    await wrong.getByRole('button', { name: 'Open console' }).click();
    await page.getByRole('dialog', { name: 'Password for Lab VM, wrong CA' }).waitFor();
    await page.keyboard.type(lab.password);
    await page.keyboard.press('Enter');
    const failed = wrong.locator('.state-failed');
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.locator('strong').textContent() ?? '', /^The console server could not prove who it is, so the connection was stopped\. \(.*certificate/);
    assert.equal(await failed.locator('.hint').textContent(), 'Do not retry. Tell your administrator: the server certificate does not match.');
    await page.screenshot({ path: path.join(shots, 'real-failed.png'), fullPage: true });
    await finish(l);
    l = undefined;
  } finally {
    for (const s of sessions) s.stop();
    await l?.close();
    await lab.cleanup();
  }
});
