// openConsole() end to end with stand-in commands (no root, no viewer): states, killing a viewer stuck in a
// dialog, stop(), and that the password reaches stdin and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { openConsole } from '../../../electron/services/console.js';
import type { ConsoleState } from '../../../electron/services/console-text.js';
import type { KernelLog } from '../../../electron/services/kmsg.js';

const node = process.execPath;
const unreadableLog = (): KernelLog => ({ check: () => 'unreadable', close: () => undefined });

function run(command: string[], opts: { password?: string; port?: number; connectTimeoutMs?: number; kernelLog?: () => KernelLog } = {}) {
  const states: ConsoleState[] = [];
  const session = openConsole(
    { id: 'vm1', command, host: '127.0.0.1', tlsPort: opts.port ?? 1 },
    { password: opts.password, onState: (s) => states.push(s), pollMs: 10, connectTimeoutMs: opts.connectTimeoutMs, kernelLog: opts.kernelLog ?? unreadableLog },
  );
  return { session, states };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a viewer that reports an auth failure and then waits in its dialog is failed and killed', async () => {
  // Prints its own pid so we can check it is gone, then virt-viewer's debug line, then hangs like the dialog does.
  const script = 'console.log("pid", process.pid); console.log("(remote-viewer:1): virt-viewer-DEBUG: 10:00:00.000: main channel: auth failure (wrong username/password?)"); setInterval(() => {}, 1000)';
  const { session, states } = run([node, '-e', script]);
  const end = await session.done;
  assert.equal(end.state === 'failed' && end.reason, 'wrong-password');
  assert.deepEqual(states.map((s) => s.state), ['launching', 'failed'], 'each state once, nothing after the final one');
  assert.ok(session.pid !== undefined && !alive(session.pid), 'the stuck viewer was ended');
});

test('two sockets of ours to host:port → connected; stop() → closed', async () => {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const script = `const net=require('net'); net.connect(${port},'127.0.0.1'); setTimeout(()=>net.connect(${port},'127.0.0.1'),50); setInterval(()=>{},1000)`;
    const { session, states } = run([node, '-e', script], { port });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (states.some((s) => s.state === 'connected')) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    session.stop();
    const end = await session.done;
    assert.equal(end.state, 'closed');
    assert.deepEqual(states.map((s) => s.state), ['launching', 'connected', 'closed']);
  } finally {
    server.close();
  }
});

test('a certificate refusal printed after two sockets counted → failed tls-error, and the viewer is ended', { timeout: 15_000 }, async () => {
  // The sockets are up (and stay up) before the viewer's verdict, as when a handshake is still under way.
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const line = '(remote-viewer:1): Spice-WARNING **: 10:00:00.000: ../subprojects/spice-common/common/ssl_verify.c:501:openssl_verify: Error in certificate chain verification: self-signed certificate in certificate chain (num=19:depth1:/CN=Stray CA)';
    const script = `const net=require('net'); net.connect(${port},'127.0.0.1'); net.connect(${port},'127.0.0.1'); setTimeout(()=>console.error(${JSON.stringify(line)}),300); setInterval(()=>{},1000)`;
    const { session, states } = run([node, '-e', script], { port });
    const end = await session.done;
    assert.equal(end.state === 'failed' && end.reason, 'tls-error', JSON.stringify(end));
    assert.deepEqual(states.map((s) => s.state), ['launching', 'connected', 'failed']);
    assert.ok(session.pid !== undefined && !alive(session.pid), 'the viewer in its error dialog was ended');
  } finally {
    server.close();
  }
});

test('one socket that comes and goes (a rejected password) is not "connected"', async () => {
  // Held for 150 ms, long enough for the 10 ms poll to see it ESTABLISHED.
  const server = net.createServer((s) => setTimeout(() => s.destroy(), 150));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const script = `const s=require('net').connect(${port},'127.0.0.1'); s.on('error',()=>{}); setTimeout(()=>process.exit(1),300)`;
    const { session, states } = run([node, '-e', script], { port });
    await session.done;
    assert.ok(!states.some((s) => s.state === 'connected'), JSON.stringify(states));
  } finally {
    server.close();
  }
});

test('the password arrives on stdin as one line, and stdin is closed', async () => {
  // Exits 0 only when stdin is exactly the password and a newline, and ended (EOF).
  const script = 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>process.exit(d==="s3cret\\n"?0:3))';
  const end = await run([node, '-e', script], { password: 's3cret' }).session.done;
  assert.deepEqual(end, { state: 'closed', exitCode: 0 });
});

test('open-console\'s exit 68 with its message → outside-window with the message', async () => {
  const script = 'console.error("open-console: vm1 is available to you only Mon (local time); it is not available now"); process.exit(68)';
  const end = await run([node, '-e', script]).session.done;
  assert.equal(end.state === 'failed' && end.reason, 'outside-window');
  assert.match(end.state === 'failed' ? end.message : '', /only Mon/);
});

test('sudo\'s refusal (exit 1, "sudo: a password is required") → no-sudo-rule', async () => {
  const end = await run([node, '-e', 'console.error("sudo: a password is required"); process.exit(1)']).session.done;
  assert.equal(end.state === 'failed' && end.reason, 'no-sudo-rule');
});

test('a command that cannot start → failed, not a hang', async () => {
  const end = await run(['/nonexistent/sudo', '-n']).session.done;
  assert.equal(end.state === 'failed' && end.reason, 'no-sudo-rule');
});

test('a silent viewer that never connects is failed after the time limit and killed', async () => {
  const { session } = run([node, '-e', 'setInterval(() => {}, 1000)'], { connectTimeoutMs: 300 });
  const end = await session.done;
  assert.equal(end.state === 'failed' && end.reason, 'unknown');
  assert.match(end.state === 'failed' ? end.message : '', /gave no reason/);
});

test('a refusal with a deny line in the kernel log is the firewall\'s', async () => {
  const seen = (): KernelLog => ({ check: () => 'deny-seen', close: () => undefined });
  const script = 'console.log("virt-viewer-DEBUG: main channel: failed to connect Could not connect to 127.0.0.1: Connection refused"); setInterval(() => {}, 1000)';
  const end = await run([node, '-e', script], { kernelLog: seen }).session.done;
  assert.equal(end.state === 'failed' && end.reason, 'firewall-refused');
  assert.match(end.state === 'failed' ? end.message : '', /kernel log/);
});
