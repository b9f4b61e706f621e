// Runs the built renderer in Debian's Chromium with window.api bound to the real Node services (the same features
// Electron's main wires), so the UI tests exercise everything but Electron itself.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { INVOKE_KEYS, dispatch, type EventKey, type EventMap } from '../../../electron/contract.js';
import { createFeatures, type FeatureDeps } from '../../../electron/main/features/index.js';
import { createSecretStore } from '../../../electron/services/secrets.js';

const root = path.resolve(import.meta.dirname, '../../..');

/** Chromium flags for this machine: root needs --no-sandbox; nothing may reach the network. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Builds the launcher into a temp dir with the real build script; returns the renderer's index.html. */
export async function buildRenderer(): Promise<{ html: string; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-ui-build-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/build-launcher.mjs'), '--outdir', dir], { cwd: root, stdio: 'inherit' });
  return { html: path.join(dir, 'renderer', 'index.html'), dir };
}

/** Chromium with a fresh profile directory (Playwright passes it as --user-data-dir); close() removes it. */
export async function startBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'cg-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
    // Keep Chromium off the test keyring's private bus (it would start an accessibility bus there).
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'disabled:' },
    viewport: { width: 880, height: 680 }, reducedMotion: 'reduce',
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// Runs in the page before any of its scripts: window.api with the contract's calls, forwarded to Node.
function shim(keys: string[]): void {
  const w = window as unknown as Record<string, unknown>;
  const invoke = w.__consolegateInvoke as (key: string, args: unknown[]) => Promise<unknown>;
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const api: Record<string, unknown> = {};
  for (const k of keys) api[k] = (...args: unknown[]) => invoke(k, args);
  api.on = (event: string, fn: (p: unknown) => void) => {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event)?.add(fn);
    return () => listeners.get(event)?.delete(fn);
  };
  w.__consolegateEmit = (event: string, payload: unknown) => listeners.get(event)?.forEach((fn) => fn(payload));
  w.api = Object.freeze(api);
}

/** A page showing the launcher for one user's state directory. */
export interface LauncherPage {
  page: Page;
  /** Page errors and console errors (CSP violations show up here). */
  errors: string[];
  close(): Promise<void>;
}

/** Opens the renderer in a new page, wired to features built from `deps` (keytar = the real keyring). */
export async function openLauncher(context: BrowserContext, html: string, deps: Omit<FeatureDeps, 'secrets'> & { colorScheme?: 'light' | 'dark' }): Promise<LauncherPage> {
  const page = await context.newPage();
  await page.emulateMedia({ colorScheme: deps.colorScheme ?? 'light', reducedMotion: 'reduce' });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const f = createFeatures({ ...deps, secrets: createSecretStore() });
  // Untrusted input from the page goes through the same validation as Electron's ipcMain handlers.
  await page.exposeBinding('__consolegateInvoke', (_source, key: unknown, args: unknown) => dispatch(f.handlers, key, Array.isArray(args) ? args : [args]));
  await page.addInitScript(shim, INVOKE_KEYS as string[]);
  const push = <E extends EventKey>(event: E, payload: EventMap[E]): void => {
    // Before the page is ready there is nobody to tell; the page asks for the current state when it starts.
    page.evaluate(([e, p]) => (window as unknown as { __consolegateEmit?: (e: string, p: unknown) => void }).__consolegateEmit?.(e, p), [event, payload] as const).catch(() => {});
  };
  f.start(push);
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('body[data-ready="true"]');
  return {
    page,
    errors,
    async close() {
      f.stop();
      await page.close();
    },
  };
}

/** Records each state text the page shows for `vmId`, in order (a MutationObserver, so brief states are not missed); call the result to read them. */
export async function recordStates(page: Page, vmId: string): Promise<() => Promise<string[]>> {
  await page.evaluate((id) => {
    const seen: string[] = [];
    (window as unknown as Record<string, unknown>)[`__states_${id}`] = seen;
    new MutationObserver(() => {
      const text = document.querySelector(`li.vm[data-vm="${id}"] .state`)?.textContent ?? '';
      if (text !== '' && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, vmId);
  return () => page.evaluate((id) => [...((window as unknown as Record<string, string[]>)[`__states_${id}`] ?? [])], vmId);
}
