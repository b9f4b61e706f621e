// Diagnostics: each check's verdict from what the system answers, and honesty about what a user cannot see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runDiagnostics, sudoListCommand, targetProgram, tcpProbe, type Check } from '../../../electron/services/diagnostics.js';

const byId = (checks: Check[], id: Check['id']): Check => checks.find((c) => c.id === id) as Check;

async function stateWithView(vms: object[]): Promise<{ dir: string; program: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-diag-'));
  const program = path.join(dir, 'open-console');
  await writeFile(program, '#!/bin/sh\n');
  await mkdir(path.join(dir, 'views'));
  const command = (id: string) => ['sudo', '-n', '-u', 'alice', '-g', 'spicegrp', program, id];
  await writeFile(path.join(dir, 'views', '1001.json'), JSON.stringify({
    version: 1, user: 'alice', uid: 1001, viewerGroup: 'spicegrp',
    vms: vms.map((v) => ({ server: 'mysrv', host: '127.0.0.1', tlsPort: 20002, windows: null, command: command((v as { id: string }).id), ...v })),
  }));
  return { dir, program };
}

test('sudoListCommand asks sudo about the exact rule without running it', () => {
  assert.deepEqual(sudoListCommand(['sudo', '-n', '-u', 'alice', '-g', 'g', '/x/open-console', 'vm']), ['sudo', '-l', '-n', '-u', 'alice', '-g', 'g', '/x/open-console', 'vm']);
  assert.equal(sudoListCommand(['/x/open-console', 'vm']), null);
  assert.equal(targetProgram(['sudo', '-n', '-u', 'alice', '-g', 'g', '/x/open-console', '--state-dir', '/s', 'vm']), '/x/open-console');
});

// A locked viewer is root-owned with no permission for others. Only root can make one; anyone else (npm run check
// as a contributor) borrows a system file that is locked the same way.
async function lockedViewer(dir: string): Promise<string | null> {
  if (process.getuid?.() === 0) {
    const viewer = path.join(dir, 'remote-viewer');
    await writeFile(viewer, '');
    await chmod(viewer, 0o750);
    return viewer;
  }
  for (const f of ['/etc/shadow', '/etc/gshadow']) {
    const st = await stat(f).catch(() => null);
    if (st && st.uid === 0 && (st.mode & 0o007) === 0) return f;
  }
  return null;
}

test('all good: view, opener, sudo rule per VM, locked viewer, refused direct connection', async (t) => {
  const { dir } = await stateWithView([{ id: 'debianx', title: 'Book-keeping' }, { id: 'leaptest', title: 'Leap' }]);
  const viewer = await lockedViewer(dir);
  if (viewer === null) return t.skip('not root, and no root-owned file without permissions for others (/etc/shadow) to stand in for a locked viewer');
  const ran: string[][] = [];
  const r = await runDiagnostics({ stateDir: dir, uid: 1001, viewerPath: viewer, run: async (argv) => (ran.push(argv), { exitCode: 0, stderr: '' }), probe: async () => 'refused' });
  for (const id of ['view', 'open-console', 'sudo', 'viewer', 'direct'] as const) assert.equal(byId(r.checks, id).status, 'ok', id);
  assert.equal(ran.filter((a) => a.includes('-l')).length, 2, 'one sudo -l per VM');
  await rm(dir, { recursive: true });
});

test('problems are named: missing sudo rule per VM, viewer usable by anyone, port reachable directly', async () => {
  const { dir } = await stateWithView([{ id: 'debianx', title: 'Book-keeping' }, { id: 'leaptest', title: 'Leap' }]);
  const viewer = path.join(dir, 'remote-viewer');
  await writeFile(viewer, '');
  await chmod(viewer, 0o755);
  const r = await runDiagnostics({
    stateDir: dir, uid: 1001, viewerPath: viewer,
    run: async (argv) => ({ exitCode: argv.at(-1) === 'leaptest' ? 1 : 0, stderr: '' }),
    probe: async () => 'connected',
  });
  assert.equal(byId(r.checks, 'sudo').status, 'problem');
  assert.match(byId(r.checks, 'sudo').detail, /No sudo rule for: Leap\./);
  assert.equal(byId(r.checks, 'viewer').status, 'problem');
  assert.equal(byId(r.checks, 'direct').status, 'problem');
  await rm(dir, { recursive: true });
});

test('no policy: the view check says so and the rest are "unknown", not a false OK', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-diag-'));
  const r = await runDiagnostics({ stateDir: dir, uid: 1001, viewerPath: path.join(dir, 'nope'), run: async () => ({ exitCode: 0, stderr: '' }), probe: async () => 'refused' });
  assert.equal(byId(r.checks, 'view').status, 'problem');
  assert.match(byId(r.checks, 'view').detail, /No consolegate policy/);
  for (const id of ['open-console', 'sudo', 'viewer', 'direct'] as const) assert.equal(byId(r.checks, id).status, 'unknown', id);
  await rm(dir, { recursive: true });
});

test('the firewall table is reported as not checkable for a normal user, and nothing is run for it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-diag-'));
  const asked: string[] = [];
  const r = await runDiagnostics({ stateDir: dir, uid: 1001, asRoot: false, run: async (argv) => (asked.push(argv[0] ?? ''), { exitCode: 0, stderr: '' }), probe: async () => 'refused' });
  assert.equal(byId(r.checks, 'firewall').status, 'unknown');
  assert.match(byId(r.checks, 'firewall').detail, /Only an administrator/);
  assert.deepEqual(asked, []);
  await rm(dir, { recursive: true });
});

test('as root the firewall check asks nft, then iptables', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-diag-'));
  const asked: string[] = [];
  const r = await runDiagnostics({ stateDir: dir, uid: 1001, asRoot: true, run: async (argv) => (asked.push(argv[0] ?? ''), { exitCode: 1, stderr: '' }), probe: async () => 'refused' });
  assert.deepEqual(asked, ['nft', 'iptables']);
  assert.equal(byId(r.checks, 'firewall').status, 'problem');
  await rm(dir, { recursive: true });
});

test('tcpProbe tells a listening port from a closed one', async () => {
  const net = await import('node:net');
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  assert.equal(await tcpProbe('127.0.0.1', port), 'connected');
  await new Promise((r) => server.close(r));
  assert.equal(await tcpProbe('127.0.0.1', port), 'refused');
});
