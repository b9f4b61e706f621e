// The console service against real child processes standing in for sudo → open-console → viewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CONNECTED_AFTER_MS, classifyExit, openConsole, type ConsoleState } from '../../../electron/services/console.js';

async function script(body: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-console-'));
  const file = path.join(dir, 'fake-open-console');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return { dir, file };
}

test('open-console exit codes map to reasons (docs/interfaces.md)', () => {
  assert.equal(classifyExit(65, ''), 'no-sudo-rule');
  assert.equal(classifyExit(66, ''), 'no-policy');
  assert.equal(classifyExit(67, ''), 'not-entitled');
  assert.equal(classifyExit(68, ''), 'outside-window');
  assert.equal(classifyExit(69, ''), 'viewer-unavailable');
  assert.equal(classifyExit(1, 'sudo: a password is required\n'), 'no-sudo-rule');
  assert.equal(classifyExit(1, '(remote-viewer:1): Spice-WARNING: ssl_verify.c: subject mismatch'), 'tls-error');
  assert.equal(classifyExit(1, 'main: Authentication failed: password is too long or incorrect'), 'wrong-password');
  assert.equal(classifyExit(1, 'Unable to connect to the graphic server spice://h:20002'), 'unreachable');
  assert.equal(classifyExit(1, ''), 'unknown');
});

test('the password goes to stdin, never argv, and a failure carries plain words', async () => {
  const { dir, file } = await script(`cat > "$(dirname "$0")/stdin"; echo "$@" > "$(dirname "$0")/argv"; echo "open-console: outside your time window; opens Mon 08:00" >&2; exit 68`);
  const states: ConsoleState[] = [];
  const s = openConsole({ id: 'debianx', command: [file, 'debianx'], host: 'h', tlsPort: 1 }, { password: 'hunter2', onState: (x) => states.push(x) });
  const end = await s.done;
  assert.equal(await readFile(path.join(dir, 'stdin'), 'utf8'), 'hunter2\n');
  assert.equal((await readFile(path.join(dir, 'argv'), 'utf8')).includes('hunter2'), false);
  assert.equal(end.state, 'failed');
  assert.ok(end.state === 'failed' && end.reason === 'outside-window' && /opens Mon 08:00/.test(end.message));
  assert.deepEqual(states.map((x) => x.state), ['launching', 'failed']);
  await rm(dir, { recursive: true });
});

test('a viewer that stays up is reported connected, and stop() ends it', async () => {
  const { dir, file } = await script('exec sleep 30');
  const states: string[] = [];
  const s = openConsole({ id: 'debianx', command: [file], host: 'h', tlsPort: 1 }, { onState: (x) => states.push(x.state) });
  await new Promise((r) => setTimeout(r, CONNECTED_AFTER_MS + 300));
  assert.deepEqual(states, ['launching', 'connected']);
  s.stop();
  const end = await s.done;
  assert.equal(end.state, 'closed');
  assert.throws(() => process.kill(s.pid as number, 0), /ESRCH/);
  await rm(dir, { recursive: true });
});
