// The launcher window and its security settings, all written out. Electron comes in as a parameter so the unit test
// can check every setting with a fake.
import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents } from 'electron';

/** The renderer's Content-Security-Policy; renderer/index.html carries the same string in its meta tag. */
export const RENDERER_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:";

/** Window options: sandboxed, isolated, no Node, no webviews, nothing insecure. */
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 880,
    height: 680,
    minWidth: 520,
    minHeight: 420,
    title: 'Consoles',
    show: false,
    autoHideMenuBar: true,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

/** Only our own files may load: everything else (http, https, ws, data frames…) is cancelled. */
export function isAllowedUrl(url: string, rendererDir: string): boolean {
  if (url.startsWith('devtools://')) return true;
  try {
    const u = new URL(url);
    const file = decodeURIComponent(u.pathname);
    // URL parsing resolves `..` but not an encoded `%2F..%2F`, which reappears once decoded: refuse any `..` left.
    if (file.split('/').includes('..')) return false;
    return u.protocol === 'file:' && file.startsWith(rendererDir.endsWith('/') ? rendererDir : `${rendererDir}/`);
  } catch {
    return false;
  }
}

/** Denies every permission, every request outside the renderer folder, navigation, new windows and webviews. */
export function lockDown(session: Session, contents: WebContents, rendererDir: string): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedUrl(details.url, rendererDir) }));
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** The BrowserWindow constructor, injected. */
export type WindowCtor = new (opts: BrowserWindowConstructorOptions) => BrowserWindow;

/** Creates the one launcher window, locked down, and loads the renderer from disk. */
export function createMainWindow(Ctor: WindowCtor, paths: { preload: string; html: string; rendererDir: string }): BrowserWindow {
  const win = new Ctor(windowOptions(paths.preload));
  lockDown(win.webContents.session, win.webContents, paths.rendererDir);
  win.once('ready-to-show', () => win.show());
  void win.loadFile(paths.html);
  return win;
}
