// End to end with the real things: QEMU's SPICE server on a TLS port with a password, the real remote-viewer under
// Xvfb, the built helper's apply, sudo and open-console, and the console service running as the logged-in user.
// Root only (network namespace, test users, sudoers in a private mount); skips with the reason otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConsoleState } from '../../electron/services/console-text.js';
import { openKmsg } from '../../electron/services/kmsg.js';
import { renderVv } from '../../helper/src/vv.js';
import { rootTestsUnavailable, ROOT } from '../support/sandbox.js';
import { missingLine } from './support/deps.js';
import { ConsoleLab, LAB_PORTS } from './support/lab.js';
import { findFrame, lumaStdDev } from './support/image.js';
import type { TestUser } from '../support/sandbox.js';

const skip = (await rootTestsUnavailable()) ?? missingLine();
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'e2e');

const failed = (s: ConsoleState): string => (s.state === 'failed' ? `failed:${s.reason}` : s.state);

describe('real console end to end', { skip: skip ?? false, timeout: 300_000 }, () => {
  let lab: ConsoleLab;
  let viewerGid: number;

  before(async () => {
    lab = await ConsoleLab.create();
    const r = await lab.apply();
    assert.equal(r.code, 0, `apply failed: ${r.stderr}${r.stdout}`);
    viewerGid = await lab.sb.viewerGid();
    await mkdir(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await lab?.cleanup();
  });

  /** A TCP connect from inside the namespace as `user` (with `gid`): 'connected' or the errno, and how long it took. */
  async function tcp(user: TestUser, port: number, gid?: number): Promise<{ result: string; ms: number }> {
    const script = `const s=require('net').connect(${port},'127.0.0.1');const t=Date.now();s.on('connect',()=>{console.log('connected',Date.now()-t);process.exit()});s.on('error',e=>{console.log(e.code,Date.now()-t);process.exit()});setTimeout(()=>{console.log('TIMEOUT',5000);process.exit()},5000)`;
    const r = await lab.sb.run([process.execPath, '-e', script], { user, ...(gid !== undefined ? { gid } : {}) });
    const [result = '', ms = '0'] = r.stdout.trim().split(' ');
    return { result, ms: Number(ms) };
  }

  test('the entitled user gets the VM screen: viewer as user:viewer-group, ESTABLISHED TLS to the VM, not blank', async () => {
    const session = lab.open(lab.alice, 'labvm', { password: lab.password });
    const first = await session.until('connected');
    assert.equal(failed(first.state), 'connected', `states: ${JSON.stringify(session.states)}`);

    // As user:viewer-group, with ESTABLISHED SPICE channels on the TLS-only port.
    await lab.expectViewerConnected(lab.alice);

    // Let SeaBIOS finish printing, then compare the viewer's window with the VM's own framebuffer.
    await new Promise((r) => setTimeout(r, 2500));
    const frame = await lab.vmFrame();
    const shot = await lab.screenshot(path.join(ARTIFACTS, 'entitled-user.png'));
    assert.ok(lumaStdDev(shot) > 5, 'screenshot is not blank');
    const at = findFrame(shot, frame);
    assert.ok(at !== null, `the VM's ${frame.width}x${frame.height} frame appears in the screenshot (see test-artifacts/e2e/entitled-user.png)`);
    assert.ok(lumaStdDev(shot, { x: at.x, y: at.y, width: frame.width, height: frame.height }) > 5, 'the VM area itself is not blank');

    session.stop();
    const end = await session.done;
    assert.equal(end.state.state, 'closed', JSON.stringify(end.state));
    await lab.viewersGone(lab.alice, 'stop() to end the viewer');
  });

  test('a wrong password → wrong-password, and the viewer waiting in its password dialog is ended', async () => {
    const end = await lab.open(lab.alice, 'labvm', { password: 'not-the-password' }).done;
    assert.equal(failed(end.state), 'failed:wrong-password', JSON.stringify(end.state));
    await lab.viewersGone(lab.alice, 'the viewer to be ended');
  });

  test('a policy pointing at another CA → tls-error', async () => {
    const end = await lab.open(lab.alice, 'wrongca', { password: lab.password }).done;
    assert.equal(failed(end.state), 'failed:tls-error', JSON.stringify(end.state));
    assert.match(end.state.state === 'failed' ? end.state.message : '', /certificate/);
  });

  test('the other user through sudo → no-sudo-rule', async () => {
    // bob has no VMs in his view, so he borrows alice's command line word for word: no rule names his uid.
    const target = { id: 'labvm', host: '127.0.0.1', tlsPort: LAB_PORTS.vm, command: ['sudo', '-n', lab.sb.openConsole, '--state-dir', lab.sb.stateDir, 'labvm'] };
    const end = await lab.openTarget(lab.bob, target, { password: lab.password }).done;
    assert.equal(failed(end.state), 'failed:no-sudo-rule', JSON.stringify(end.state));
  });

  test('the other user with his own remote-viewer copy, right CA and password → firewall-refused, from the kernel log', async () => {
    const restore = await lab.sysctl('kernel.dmesg_restrict', '0'); // so bob's console service may read the deny line
    try {
      const bobDir = path.join(lab.dir, 'home', 'bob');
      await mkdir(bobDir, { recursive: true });
      const copy = path.join(bobDir, 'my-remote-viewer');
      await copyFile(lab.viewer, copy);
      await chown(copy, lab.bob.uid, lab.bob.gid);
      await chmod(copy, 0o755);
      const vv = path.join(bobDir, 'labvm.vv');
      await writeFile(vv, renderVv({ host: '127.0.0.1', tlsPort: LAB_PORTS.vm, password: lab.password, ca: lab.pki.caPem, hostSubject: lab.pki.hostSubject, title: 'bob' }), { mode: 0o600 });
      await chown(vv, lab.bob.uid, lab.bob.gid);
      const end = await lab.openTarget(lab.bob, { id: 'labvm', host: '127.0.0.1', tlsPort: LAB_PORTS.vm, command: [copy, '--debug', vv] }).done;
      assert.equal(failed(end.state), 'failed:firewall-refused', JSON.stringify(end.state));
      assert.match(end.state.state === 'failed' ? end.state.message : '', /kernel log/);
    } finally {
      await restore();
    }
  });

  test('the other user\'s plain TCP client is reset at once, and audit shows the attempt with his uid', async () => {
    const kmsg = openKmsg();
    try {
      const r = await tcp(lab.bob, LAB_PORTS.vm);
      assert.equal(r.result, 'ECONNREFUSED');
      assert.ok(r.ms < 1000, `reset, not a timeout (${r.ms} ms)`);
      assert.equal(kmsg.check({ uid: lab.bob.uid, port: LAB_PORTS.vm }), 'deny-seen');
    } finally {
      kmsg.close();
    }
    const audit = await lab.sb.helper(['audit', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    const events = (JSON.parse(audit.stdout) as { events: { uid: number; dport: number }[] }).events;
    assert.ok(events.some((e) => e.uid === lab.bob.uid && e.dport === LAB_PORTS.vm), `audit lists bob: ${audit.stdout}`);
  });

  test('the entitled user\'s own programs (own group, not the sudo path) are reset too', async () => {
    assert.equal((await tcp(lab.alice, LAB_PORTS.vm)).result, 'ECONNREFUSED');
    assert.equal((await tcp(lab.alice, LAB_PORTS.vm, viewerGid)).result, 'connected', 'control: with the viewer group the same probe connects');
  });

  test('an entitlement whose time window excludes now: open-console refuses (68) and so does the firewall', async () => {
    const end = await lab.open(lab.alice, 'later', { password: lab.password }).done;
    assert.equal(failed(end.state), 'failed:outside-window', JSON.stringify(end.state));
    assert.match(end.state.state === 'failed' ? end.state.message : '', /not available now/);
    const kmsg = openKmsg();
    try {
      // A listener is on that port; the same user and group get through to the always-entitled VM port.
      assert.equal((await tcp(lab.alice, LAB_PORTS.later, viewerGid)).result, 'ECONNREFUSED');
      assert.equal(kmsg.check({ uid: lab.alice.uid, port: LAB_PORTS.later }), 'deny-seen');
    } finally {
      kmsg.close();
    }
  });

  test('nothing listening: unreachable when the kernel log shows no deny; an honest "firewall or server" when it is unreadable', async () => {
    const restore = await lab.sysctl('kernel.dmesg_restrict', '0');
    try {
      const end = await lab.open(lab.alice, 'ghost', { password: lab.password }).done;
      assert.equal(failed(end.state), 'failed:unreachable', JSON.stringify(end.state));
    } finally {
      await restore();
    }
    const restricted = await lab.sysctl('kernel.dmesg_restrict', '1');
    try {
      const end = await lab.open(lab.alice, 'ghost', { password: lab.password }).done;
      assert.equal(failed(end.state), 'failed:firewall-refused', JSON.stringify(end.state));
      assert.match(end.state.state === 'failed' ? end.state.message : '', /firewall or the server/);
    } finally {
      await restricted();
    }
  });
});
