// The console feature: command from the view only, password from keyring or prompt, no second viewer, remember on success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConsoleEvent } from '../../../electron/contract.js';
import type { ConsoleSession, ConsoleTarget, openConsole } from '../../../electron/services/console.js';
import type { ConsoleState } from '../../../electron/services/console-text.js';
import { createSecretStore, type KeytarLike } from '../../../electron/services/secrets.js';
import { consoleFeature } from '../../../electron/main/features/console.js';

const COMMAND = ['sudo', '-n', '-u', 'alice', '-g', 'spicegrp', '/usr/libexec/consolegate/open-console', 'debianx'];

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-feat-'));
  await mkdir(path.join(dir, 'views'));
  await writeFile(path.join(dir, 'views', '1001.json'), JSON.stringify({
    version: 1, user: 'alice', uid: 1001, viewerGroup: 'spicegrp',
    vms: [{ id: 'debianx', title: 'Book-keeping', server: 'mysrv', host: 'h', tlsPort: 20002, windows: null, command: COMMAND }],
  }));
  return dir;
}

function memoryKeytar(): KeytarLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getPassword: async (_s, a) => data.get(a) ?? null,
    setPassword: async (_s, a, p) => void data.set(a, p),
    deletePassword: async (_s, a) => data.delete(a),
    findCredentials: async () => [...data].map(([account, password]) => ({ account, password })),
  };
}

// A console service stand-in: records what it was asked to run and lets the test drive the states.
function fakeOpen() {
  const started: Array<{ vm: ConsoleTarget; password?: string; emit: (s: ConsoleState) => void; finish: (s: ConsoleState) => void }> = [];
  const open: typeof openConsole = (vm, opts) => {
    let finish!: (s: ConsoleState) => void;
    const done = new Promise<ConsoleState>((r) => (finish = r));
    const emit = (s: ConsoleState): void => opts.onState?.(s);
    started.push({ vm, password: opts.password, emit, finish: (s) => (emit(s), finish(s)) });
    emit({ state: 'launching' });
    const session: ConsoleSession = { vmId: vm.id, pid: 4242, done, stop: () => {} };
    return session;
  };
  return { open, started };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

test('no remembered password: ask first; then run the view\'s own command with the password; no second viewer', async () => {
  const dir = await stateDir();
  const kt = memoryKeytar();
  const { open, started } = fakeOpen();
  const f = consoleFeature({ source: { stateDir: dir, uid: 1001 }, secrets: createSecretStore({ keytar: () => kt }), open });
  const events: ConsoleEvent[] = [];
  f.start?.((e, p) => { if (e === 'consoleState') events.push(p as ConsoleEvent); });

  const first = await f.handlers.openConsole({ vmId: 'debianx' });
  assert.equal(first.kind, 'needs-password');
  assert.equal(started.length, 0);

  const second = await f.handlers.openConsole({ vmId: 'debianx', password: 'pw', remember: true });
  assert.deepEqual(second, { kind: 'state', state: { state: 'launching' }, alreadyOpen: false });
  assert.deepEqual(started[0]?.vm.command, COMMAND);
  assert.equal(started[0]?.password, 'pw');
  assert.equal(kt.data.size, 0, 'not remembered before it worked');

  const again = await f.handlers.openConsole({ vmId: 'debianx' });
  assert.deepEqual(again, { kind: 'state', state: { state: 'launching' }, alreadyOpen: true });
  assert.equal(started.length, 1);

  started[0]?.emit({ state: 'connected' });
  await tick();
  assert.equal(kt.data.get('debianx'), 'pw', 'remembered once connected');
  assert.deepEqual(await f.handlers.consoleStates(), { debianx: { state: 'connected' } });
  assert.deepEqual(events.map((e) => e.state.state), ['launching', 'connected']);

  // After it closes, opening again starts a new viewer with the remembered password, without asking.
  started[0]?.finish({ state: 'closed', exitCode: 0 });
  await tick();
  const reopened = await f.handlers.openConsole({ vmId: 'debianx' });
  assert.equal(reopened.kind, 'state');
  assert.equal(started.length, 2);
  assert.equal(started[1]?.password, 'pw');
  await rm(dir, { recursive: true });
});

test('two clicks at once start one viewer', async () => {
  const dir = await stateDir();
  const kt = memoryKeytar();
  kt.data.set('debianx', 'pw');
  const { open, started } = fakeOpen();
  const f = consoleFeature({ source: { stateDir: dir, uid: 1001 }, secrets: createSecretStore({ keytar: () => kt }), open });
  const [a, b] = await Promise.all([f.handlers.openConsole({ vmId: 'debianx' }), f.handlers.openConsole({ vmId: 'debianx' })]);
  assert.equal(started.length, 1);
  assert.deepEqual([a, b].map((r) => r.kind === 'state' && r.alreadyOpen).sort(), [false, true]);
  await rm(dir, { recursive: true });
});

test('a remembered password that is rejected is forgotten, so the next open asks', async () => {
  const dir = await stateDir();
  const kt = memoryKeytar();
  kt.data.set('debianx', 'old');
  const { open, started } = fakeOpen();
  const f = consoleFeature({ source: { stateDir: dir, uid: 1001 }, secrets: createSecretStore({ keytar: () => kt }), open });
  f.start?.(() => {});
  await f.handlers.openConsole({ vmId: 'debianx' });
  started[0]?.finish({ state: 'failed', reason: 'wrong-password', message: 'm', hint: 'h' });
  await tick();
  assert.equal(kt.data.has('debianx'), false);
  assert.equal((await f.handlers.openConsole({ vmId: 'debianx' })).kind, 'needs-password');
  await rm(dir, { recursive: true });
});

test('a VM that is not in my view is refused without running anything', async () => {
  const dir = await stateDir();
  const { open, started } = fakeOpen();
  const f = consoleFeature({ source: { stateDir: dir, uid: 1001 }, secrets: createSecretStore({ keytar: () => memoryKeytar() }), open });
  const r = await f.handlers.openConsole({ vmId: 'someoneelses', password: 'x' });
  assert.ok(r.kind === 'state' && r.state.state === 'failed' && r.state.reason === 'not-entitled');
  assert.equal(started.length, 0);
  await rm(dir, { recursive: true });
});
