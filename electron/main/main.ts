// Electron main: lifecycle only. One instance, one window; every IPC call goes through registerHandlers → dispatch.
import path from 'node:path';
import { app, BrowserWindow, ipcMain } from 'electron';
import { channel } from '../contract.js';
import { createSecretStore } from '../services/secrets.js';
import { stateDirFrom } from '../services/views.js';
import type { Push } from './features/feature.js';
import { createFeatures } from './features/index.js';
import { ourWindowOnly, registerHandlers } from './ipc.js';
import { createMainWindow } from './windows.js';

// Bundled to dist/electron/main.cjs; the renderer sits next to it in dist/renderer.
const rendererDir = path.join(__dirname, '..', 'renderer');
const paths = { preload: path.join(__dirname, 'preload.cjs'), html: path.join(rendererDir, 'index.html'), rendererDir };

if (!app.requestSingleInstanceLock()) {
  // A second start just brings the first window forward (see 'second-instance').
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  const source = { stateDir: stateDirFrom(process.env), uid: process.getuid?.() ?? -1 };
  const f = createFeatures({ source, secrets: createSecretStore() });

  // Only our window's top frame may call in; anything else (another window, a subframe) is refused.
  const ipc = { ipcMain, isTrustedSender: ourWindowOnly(BrowserWindow, () => win) };
  const push: Push = (event, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send(channel(event), payload);
  };

  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  // Viewers run detached in their own process groups, so quitting here leaves open consoles running.
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => f.stop());

  void app.whenReady().then(() => {
    registerHandlers(ipc, f.handlers);
    f.start(push);
    win = createMainWindow(BrowserWindow, paths);
    win.on('closed', () => (win = null));
  });
}
