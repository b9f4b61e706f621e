// Security settings of the launcher window, the lock-down of its web contents, the CSP, and the preload's surface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import { EVENT_KEYS, INVOKE_KEYS, channel } from '../../../electron/contract.js';
import { RENDERER_CSP, createMainWindow, isAllowedUrl, lockDown, windowOptions, type WindowCtor } from '../../../electron/main/windows.js';

const root = path.resolve(import.meta.dirname, '../../..');

test('window preferences: isolated, sandboxed, no Node, web security on, no webviews', () => {
  const prefs = windowOptions('/app/preload.cjs').webPreferences;
  assert.equal(prefs?.contextIsolation, true);
  assert.equal(prefs?.sandbox, true);
  assert.equal(prefs?.nodeIntegration, false);
  assert.equal(prefs?.nodeIntegrationInWorker, false);
  assert.equal(prefs?.nodeIntegrationInSubFrames, false);
  assert.equal(prefs?.webSecurity, true);
  assert.equal(prefs?.allowRunningInsecureContent, false);
  assert.equal(prefs?.webviewTag, false);
  assert.equal(prefs?.experimentalFeatures, false);
  assert.equal(prefs?.preload, '/app/preload.cjs');
});

test('the renderer\'s CSP meta tag is exactly the strict policy', async () => {
  const html = await readFile(path.join(root, 'renderer/index.html'), 'utf8');
  const metas = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/g)];
  assert.equal(metas.length, 1);
  assert.equal(metas[0]?.[1], RENDERER_CSP);
  assert.equal(RENDERER_CSP, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:");
  // No inline script or style the CSP would have to allow, and nothing loaded from the network.
  assert.doesNotMatch(html, /<script>|<style|\sstyle="|\son[a-z]+="|https?:\/\//);
});

test('only files inside the renderer folder may load', () => {
  assert.equal(isAllowedUrl('file:///opt/consolegate/dist/renderer/index.html', '/opt/consolegate/dist/renderer'), true);
  assert.equal(isAllowedUrl('file:///opt/consolegate/dist/renderer/app.js', '/opt/consolegate/dist/renderer/'), true);
  assert.equal(isAllowedUrl('file:///opt/consolegate/dist/renderer-evil/x.js', '/opt/consolegate/dist/renderer'), false);
  assert.equal(isAllowedUrl('file:///etc/passwd', '/opt/consolegate/dist/renderer'), false);
  assert.equal(isAllowedUrl('https://example.org/x.js', '/opt/consolegate/dist/renderer'), false);
  assert.equal(isAllowedUrl('data:text/html,hi', '/opt/consolegate/dist/renderer'), false);
});

// A fake BrowserWindow with just the pieces createMainWindow/lockDown use; it records what they did.
function fakeElectron() {
  const rec = {
    options: undefined as unknown,
    loaded: '',
    listeners: new Map<string, (event: { preventDefault(): void }) => void>(),
    permission: undefined as undefined | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
    permissionCheck: undefined as undefined | (() => boolean),
    beforeRequest: undefined as undefined | ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void),
    openHandler: undefined as undefined | (() => { action: string }),
  };
  const session = {
    setPermissionRequestHandler: (fn: typeof rec.permission) => (rec.permission = fn),
    setPermissionCheckHandler: (fn: typeof rec.permissionCheck) => (rec.permissionCheck = fn),
    webRequest: { onBeforeRequest: (fn: typeof rec.beforeRequest) => (rec.beforeRequest = fn) },
  };
  const webContents = {
    session,
    setWindowOpenHandler: (fn: typeof rec.openHandler) => (rec.openHandler = fn),
    on: (name: string, fn: (event: { preventDefault(): void }) => void) => rec.listeners.set(name, fn),
  };
  class FakeWindow {
    webContents = webContents;
    constructor(opts: unknown) { rec.options = opts; }
    once(): void {}
    async loadFile(p: string): Promise<void> { rec.loaded = p; }
  }
  return { rec, Ctor: FakeWindow as unknown as WindowCtor };
}

test('createMainWindow denies permissions, remote requests, navigation, redirects, webviews and new windows', () => {
  const { rec, Ctor } = fakeElectron();
  createMainWindow(Ctor, { preload: '/d/electron/preload.cjs', html: '/d/renderer/index.html', rendererDir: '/d/renderer' });
  assert.deepEqual(rec.options, windowOptions('/d/electron/preload.cjs'));
  assert.equal(rec.loaded, '/d/renderer/index.html');
  let granted: boolean | undefined;
  rec.permission?.({}, 'media', (ok) => (granted = ok));
  assert.equal(granted, false);
  assert.equal(rec.permissionCheck?.(), false);
  let cancel: boolean | undefined;
  rec.beforeRequest?.({ url: 'https://evil.example/x.js' }, (r) => (cancel = r.cancel));
  assert.equal(cancel, true);
  rec.beforeRequest?.({ url: 'file:///d/renderer/app.js' }, (r) => (cancel = r.cancel));
  assert.equal(cancel, false);
  assert.deepEqual(rec.openHandler?.(), { action: 'deny' });
  for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
    let prevented = false;
    rec.listeners.get(name)?.({ preventDefault: () => (prevented = true) });
    assert.equal(prevented, true, name);
  }
});

test('lockDown on its own: a path that climbs out of the renderer folder is cancelled, navigation even to our own page is not allowed', () => {
  const { rec, Ctor } = fakeElectron();
  const win = new Ctor({});
  lockDown(win.webContents.session, win.webContents, '/opt/cg/renderer');
  const cancelled = (url: string): boolean | undefined => {
    let c: boolean | undefined;
    rec.beforeRequest?.({ url }, (r) => (c = r.cancel));
    return c;
  };
  assert.equal(cancelled('file:///opt/cg/renderer/styles.css'), false);
  assert.equal(cancelled('file:///opt/cg/renderer/../../../etc/passwd'), true);
  assert.equal(cancelled('file:///opt/cg/renderer%2F..%2F..%2Fetc/passwd'), true);
  assert.equal(cancelled('ws://127.0.0.1:9222/'), true);
  let prevented = false;
  rec.listeners.get('will-navigate')?.({ preventDefault: () => (prevented = true) });
  assert.equal(prevented, true);
});

test('the preload exposes exactly the contract as window.api and never hands the IPC event to the page', async () => {
  const out = await build({ entryPoints: [path.join(root, 'electron/preload.ts')], bundle: true, format: 'cjs', platform: 'node', external: ['electron'], write: false });
  const exposed: Record<string, Record<string, unknown>> = {};
  const invoked: unknown[][] = [];
  const listeners = new Map<string, (...a: unknown[]) => void>();
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: Record<string, unknown>) => (exposed[name] = api) },
    ipcRenderer: {
      invoke: async (...a: unknown[]) => void invoked.push(a),
      on: (ch: string, fn: (...a: unknown[]) => void) => void listeners.set(ch, fn),
      removeListener: (ch: string) => void listeners.delete(ch),
    },
  };
  // The sandboxed preload may require only 'electron'; anything else would fail here too.
  const requireFake = (id: string): unknown => {
    if (id !== 'electron') throw new Error(`preload requires ${id}`);
    return electron;
  };
  vm.runInNewContext(out.outputFiles[0]?.text ?? '', { require: requireFake, module: { exports: {} }, exports: {} });
  const api = exposed.api as Record<string, (...a: unknown[]) => unknown>;
  assert.deepEqual(Object.keys(exposed), ['api']);
  assert.deepEqual(Object.keys(api).sort(), [...INVOKE_KEYS, 'on'].sort());
  await api.openConsole?.({ vmId: 'debianx' });
  assert.deepEqual(invoked, [[channel('openConsole'), { vmId: 'debianx' }]]);
  const got: unknown[][] = [];
  const off = api.on?.('consoleState', (...a: unknown[]) => got.push(a)) as () => void;
  listeners.get(channel('consoleState'))?.({ sender: 'ipcRenderer-would-leak' }, { vmId: 'debianx' });
  assert.deepEqual(got, [[{ vmId: 'debianx' }]]);
  off();
  assert.equal(listeners.size, 0);
  assert.throws(() => api.on?.('not-an-event', () => {}), /Unknown event/);
  // Every event main can push reaches the page on its own channel, with the payload only.
  assert.deepEqual([...EVENT_KEYS].sort(), ['consoleState', 'keyringChanged', 'viewChanged']);
  for (const event of EVENT_KEYS) {
    const seen: unknown[] = [];
    const stop = api.on?.(event, (p: unknown) => seen.push(p)) as () => void;
    listeners.get(channel(event))?.({ sender: 'leak' }, { event });
    assert.deepEqual(seen, [{ event }], event);
    stop();
  }
  assert.equal(listeners.size, 0);
});
