// The one IPC entry point: main registers every call through registerHandlers → dispatch, and refuses any sender that
// is not the top frame of our own window. The last test runs the real main.ts against a fake Electron.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import type { BrowserWindow, IpcMainInvokeEvent, WebContents } from 'electron';
import { ContractError, INVOKE_KEYS, channel, type Handlers } from '../../../electron/contract.js';
import { ourWindowOnly, registerHandlers } from '../../../electron/main/ipc.js';

const root = path.resolve(import.meta.dirname, '../../..');
type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>;

// Windows and their web contents as Electron links them: fromWebContents finds the window a sender belongs to.
function fakeWindows() {
  const byContents = new Map<unknown, unknown>();
  const make = () => {
    const contents = { mainFrame: { name: 'top' } };
    const win = { webContents: contents };
    byContents.set(contents, win);
    return win;
  };
  const lookup = { fromWebContents: (wc: WebContents) => (byContents.get(wc) ?? null) as BrowserWindow | null };
  return { make, lookup };
}

const eventFrom = (win: { webContents: { mainFrame: unknown } }, frame: unknown = win.webContents.mainFrame) =>
  ({ sender: win.webContents, senderFrame: frame }) as unknown as IpcMainInvokeEvent;

test('ourWindowOnly: our top frame passes; another window, a subframe, or no window yet is refused', () => {
  const { make, lookup } = fakeWindows();
  const ours = make();
  const other = make();
  let current: unknown = ours;
  const trusted = ourWindowOnly(lookup, () => current as BrowserWindow | null);
  assert.equal(trusted(eventFrom(ours)), true);
  assert.equal(trusted(eventFrom(other)), false, 'another window');
  assert.equal(trusted(eventFrom(ours, { name: 'iframe' })), false, 'a subframe of our window');
  assert.equal(trusted({ sender: { mainFrame: {} }, senderFrame: {} } as unknown as IpcMainInvokeEvent), false, 'contents with no window');
  current = null;
  assert.equal(trusted(eventFrom(ours)), false, 'before the window exists or after it closed');
});

test('registerHandlers: one prefixed channel per call; the sender is checked, then the arguments, then the handler runs', async () => {
  const registered = new Map<string, Handler>();
  const ran: unknown[][] = [];
  const handlers = Object.fromEntries(INVOKE_KEYS.map((k) => [k, async (...a: unknown[]) => (ran.push([k, ...a]), `ran ${k}`)])) as unknown as Handlers;
  let trusted = false;
  registerHandlers({ ipcMain: { handle: (ch: string, fn: Handler) => void registered.set(ch, fn) } as never, isTrustedSender: () => trusted }, handlers);
  assert.deepEqual([...registered.keys()].sort(), INVOKE_KEYS.map(channel).sort());

  const forget = registered.get(channel('forgetPassword'))!;
  const event = {} as IpcMainInvokeEvent;
  await assert.rejects(forget(event, 'debianx'), /not the launcher window/);
  trusted = true;
  await assert.rejects(forget(event, '$(reboot)'), ContractError);
  await assert.rejects(forget(event), ContractError);
  assert.deepEqual(ran, []);
  assert.equal(await forget(event, 'debianx'), 'ran forgetPassword');
  assert.deepEqual(ran, [['forgetPassword', 'debianx']]);
});

// Runs the bundled main.ts with a fake `electron` module and returns what it registered and the window it made.
async function runMain(stateDir: string) {
  const out = await build({
    entryPoints: [path.join(root, 'electron/main/main.ts')], bundle: true, platform: 'node', format: 'cjs', write: false,
    external: ['electron', 'keytar'], logLevel: 'silent',
    define: { 'import.meta.url': '__metaUrl' },
  });
  const registered = new Map<string, Handler>();
  const appHandlers = new Map<string, () => void>();
  const windows: FakeWindow[] = [];
  const byContents = new Map<unknown, FakeWindow>();
  const noop = (): void => {};
  class FakeWindow {
    webContents = {
      mainFrame: { name: 'top' },
      session: { setPermissionRequestHandler: noop, setPermissionCheckHandler: noop, webRequest: { onBeforeRequest: noop } },
      setWindowOpenHandler: noop, on: noop, send: noop,
    };
    constructor() {
      byContents.set(this.webContents, this);
      windows.push(this);
    }
    static fromWebContents(wc: unknown): FakeWindow | null {
      return byContents.get(wc) ?? null;
    }
    once = noop;
    on = noop;
    isDestroyed = () => false;
    loadFile = async () => {};
  }
  let ready!: () => void;
  const whenReady = new Promise<void>((r) => (ready = r));
  const electron = {
    app: { requestSingleInstanceLock: () => true, quit: noop, on: (name: string, fn: () => void) => void appHandlers.set(name, fn), whenReady: () => whenReady },
    BrowserWindow: FakeWindow,
    ipcMain: { handle: (ch: string, fn: Handler) => void registered.set(ch, fn) },
  };
  const nodeRequire = createRequire(import.meta.url);
  const requireShim = (id: string): unknown => {
    if (id === 'electron') return electron;
    if (id === 'keytar') throw new Error('no keytar in this test');
    return nodeRequire(id);
  };
  const file = path.join(root, 'dist/electron/main.cjs');
  const fn = vm.runInThisContext(`(function (require, module, exports, __filename, __dirname, __metaUrl) {${out.outputFiles[0]?.text}\n})`) as (...a: unknown[]) => void;
  const saved = process.env.CONSOLEGATE_STATE_DIR;
  process.env.CONSOLEGATE_STATE_DIR = stateDir;
  try {
    fn(requireShim, { exports: {} }, {}, file, path.dirname(file), `file://${file}`);
  } finally {
    if (saved === undefined) delete process.env.CONSOLEGATE_STATE_DIR;
    else process.env.CONSOLEGATE_STATE_DIR = saved;
  }
  return { registered, appHandlers, windows, FakeWindow, ready };
}

test('main.ts registers every call through dispatch and refuses a sender that is not its window (issue 14)', async () => {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'cg-ipc-'));
  await mkdir(path.join(stateDir, 'views'));
  await writeFile(path.join(stateDir, 'views', `${process.getuid?.() ?? -1}.json`), JSON.stringify({
    version: 1, user: 'alice', uid: process.getuid?.() ?? -1, viewerGroup: 'spicegrp',
    vms: [{ id: 'debianx', title: 'Book-keeping', server: 'mysrv', host: 'mysrv.example.org', tlsPort: 20002, windows: null, command: ['sudo', '-n', 'x', 'debianx'] }],
  }));
  const main = await runMain(stateDir);
  try {
    main.ready();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...main.registered.keys()].sort(), INVOKE_KEYS.map(channel).sort(), 'every call in the contract has a handler');
    assert.equal(main.windows.length, 1);
    const ours = main.windows[0]!;
    const getView = main.registered.get(channel('getView'))!;

    const snapshot = (await getView(eventFrom(ours))) as { status: string; vms: { id: string }[] };
    assert.equal(snapshot.status, 'ok');
    assert.deepEqual(snapshot.vms.map((v) => v.id), ['debianx']);

    const stranger = new main.FakeWindow();
    await assert.rejects(getView(eventFrom(stranger)), /Refused `getView` from a sender that is not the launcher window/);
    await assert.rejects(getView(eventFrom(ours, { name: 'iframe' })), /not the launcher window/);
    await assert.rejects(getView(eventFrom(ours), 'extra'), /Expected no arguments/);
    const open = main.registered.get(channel('openConsole'))!;
    await assert.rejects(open(eventFrom(stranger), { vmId: 'debianx' }), /not the launcher window/);
    await assert.rejects(open(eventFrom(ours), { vmId: '../../etc' }), /Expected a VM id/);
  } finally {
    main.appHandlers.get('will-quit')?.();
    await rm(stateDir, { recursive: true, force: true });
  }
});
