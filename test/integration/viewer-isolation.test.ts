// Issue 11: the viewer group gives a user nothing. The viewer is treated as the user's own code (a spy viewer that
// reports what it can read and reach), another user runs a setgid-viewer-group copy she left behind, sudo keeps
// a "safe" TZ, and a user holds a lease on her view file while apply revokes her.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { exec } from '../../helper/src/system/exec.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

async function unavailable(): Promise<string | null> {
  const base = await rootTestsUnavailable();
  if (base) return base;
  for (const [cmd, pkg] of [['/usr/bin/python3', 'python3'], ['getfacl', 'acl']]) {
    if ((await exec(['sh', '-c', `command -v ${cmd}`])).code !== 0) return `\`${cmd}\` is missing (apt install ${pkg})`;
  }
  return null;
}
const skip = await unavailable();

interface Spy {
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  groups: number[];
  env: string[];
  stdin: string;
  argv: string[];
  fds: Record<string, string>;
  readable: Record<string, string>;
  result: string;
}

describe('issue 11: the viewer group and the view files give a user nothing', { skip: skip ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser;
  let bob: TestUser;
  let gid: number;
  const tag = Math.random().toString(36).slice(2, 8);
  const bobVm = `bobvm-${tag}`;
  const bobTitle = `Bob-secret-${tag}`;
  const policy = (extra = '') => `
servers:
  s: { host: 127.0.0.1, ca: $CA, host-subject: "CN=x" }
vms:
  vm1: { server: s, tls-port: 20002 }
  ${bobVm}: { server: s, tls-port: 20012, title: ${bobTitle} }
${extra}entitlements:
  - { vm: vm1, users: [${alice.name}] }
  - { vm: ${bobVm}, users: [${bob.name}] }
`;

  /** The command the launcher runs: the one in the user's view, word for word. */
  async function viewCommand(user: TestUser, vm: string): Promise<string[]> {
    const view = JSON.parse(await readFile(path.join(sb.stateDir, 'views', `${user.uid}.json`), 'utf8')) as { vms: { id: string; command: string[] }[] };
    return view.vms.find((v) => v.id === vm)!.command;
  }

  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    bob = await sb.addUser('b');
    await copyFile(path.join(ROOT, 'test/fixtures/spy-viewer.py'), sb.viewer);
    await chmod(sb.viewer, 0o755);
    await sb.listen([20002, 20012]);
    await sb.writePolicy(sb.policy(policy()));
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    gid = await sb.viewerGid();
  });
  after(async () => sb?.cleanup());

  test('the viewer runs as the caller with the viewer group, no supplementary groups, an allow-listed environment and only its .vv on stdin', async () => {
    const cmd = await viewCommand(alice, 'vm1');
    const r = await sb.run(cmd, { user: alice, env: { DISPLAY: ':99', LANG: 'C.UTF-8', TZ: 'UTC-14', LD_LIBRARY_PATH: '/tmp/evil', GTK_MODULES: 'evil' } });
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 300));
    const spy = JSON.parse(r.stdout) as Spy;
    assert.equal(spy.result, 'CONNECTED');
    assert.deepEqual([spy.uid, spy.euid, spy.gid, spy.egid], [alice.uid, alice.uid, gid, gid]);
    assert.deepEqual(spy.groups, [], 'no supplementary groups');
    for (const k of spy.env) assert.match(k, /^(DISPLAY|XAUTHORITY|WAYLAND_DISPLAY|XDG_RUNTIME_DIR|LANG|LANGUAGE|LC_[A-Z]+|HOME|USER|LOGNAME|SHELL|PATH)$/, `${k} reached the viewer`);
    assert.ok(spy.env.includes('DISPLAY') && spy.env.includes('LANG'));
    assert.match(spy.stdin, /^\[virt-viewer\]\ntype=spice\nhost=127\.0\.0\.1\ntls-port=20002\n/);
    assert.deepEqual(spy.argv, ['--debug', '-']);
    // 0-2 and the descriptor os.listdir itself had open: nothing of open-console's leaked into the viewer.
    const extra = Object.entries(spy.fds).filter(([fd, target]) => Number(fd) > 2 && !/^\/proc\/\d+\/fd$/.test(target));
    assert.deepEqual(extra, []);
  });

  test('nothing the viewer (her own code) can read reveals another user: no table, no other view, no sudoers', async () => {
    const r = await sb.run(await viewCommand(alice, 'vm1'), { user: alice });
    const spy = JSON.parse(r.stdout) as Spy;
    assert.ok(Object.keys(spy.readable).length > 0, 'the walk read something (its own view at least)');
    assert.ok(spy.readable[path.join(sb.stateDir, 'views', `${alice.uid}.json`)] !== undefined, 'her own view is readable');
    for (const [file, content] of Object.entries(spy.readable)) {
      for (const needle of [bob.name, bobVm, bobTitle, `"uid": ${bob.uid}`, `#${bob.uid} `]) {
        assert.ok(!content.includes(needle), `${file} shows ${needle}`);
      }
    }
    assert.equal(spy.readable[path.join(sb.stateDir, 'console-table.json')], undefined, 'the console table');
    // The same walk with the viewer's credentials outside the viewer, so this does not depend on the spy running.
    const table = await sb.run(['cat', path.join(sb.stateDir, 'console-table.json')], { user: alice, gid });
    assert.notEqual(table.code, 0, 'the table is root only');
    const other = await sb.run(['cat', path.join(sb.stateDir, 'views', `${bob.uid}.json`)], { user: alice, gid });
    assert.notEqual(other.code, 0, "bob's view is bob's only");
  });

  test('another user running a setgid-viewer-group copy she left behind gains nothing', async () => {
    const drop = path.join(sb.dir, 'drop');
    await mkdir(drop, { mode: 0o755 });
    await chown(drop, alice.uid, alice.gid);
    // Her own code in the viewer (uid alice, gid viewer group) leaves setgid copies of cat and bash behind.
    const leave = await sb.run(['sh', '-c', 'cp /bin/cat "$0/cat" && cp /bin/bash "$0/bash" && chmod 2755 "$0/cat" "$0/bash"', drop], { user: alice, gid });
    assert.equal(leave.code, 0, leave.stderr);
    assert.equal((await stat(path.join(drop, 'cat'))).gid, gid, 'the copy carries the viewer group');
    assert.equal(((await stat(path.join(drop, 'cat'))).mode & 0o2000) !== 0, true, 'and is setgid');

    const readTable = await sb.run([path.join(drop, 'cat'), path.join(sb.stateDir, 'console-table.json')], { user: bob });
    assert.notEqual(readTable.code, 0, `bob read the table: ${readTable.stdout.slice(0, 200)}`);
    const readView = await sb.run([path.join(drop, 'cat'), path.join(sb.stateDir, 'views', `${alice.uid}.json`)], { user: bob });
    assert.notEqual(readView.code, 0, "bob read alice's view");
    const id = await sb.run([path.join(drop, 'bash'), '-p', '-c', 'id -g; id -G'], { user: bob });
    assert.equal(id.stdout.split('\n')[0], String(gid), 'the copy does run with the viewer group');
    const reach = await sb.run([path.join(drop, 'bash'), '-p', '-c', 'exec 3<>/dev/tcp/127.0.0.1/20002'], { user: bob });
    assert.notEqual(reach.code, 0, "bob reached alice's VM with the viewer group");
  });

  test('sudo keeps TZ=UTC-14: the window is still judged on the policy clock', async () => {
    // A window that is open now in UTC+14 (what TZ=UTC-14 means) and closed now on this machine's clock.
    const now = new Date();
    const ahead = new Date(now.getTime() + 14 * 3600_000);
    const day = DAY_NAMES[ahead.getUTCDay()]!;
    const h = ahead.getUTCHours();
    const hours = `${String(h).padStart(2, '0')}:00-${String(h + 1).padStart(2, '0')}:00`;
    const localHour = now.getHours();
    if (DAY_NAMES[now.getDay()] === day && localHour === h) return assert.fail('this machine runs at UTC+14: the test cannot tell the clocks apart');
    await sb.writePolicy(sb.policy(policy() + `  - { vm: vm1, users: [${bob.name}], when: { days: [${day}], hours: "${hours}" } }\n`));
    const r0 = await sb.helper(['apply']);
    assert.equal(r0.code, 0, r0.stderr);
    const r = await sb.run(await viewCommand(bob, 'vm1'), { user: bob, env: { TZ: 'UTC-14' } });
    assert.equal(r.code, 68, `open-console let bob in outside his window (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
    assert.match(r.stderr, /not available now/);
  });

  test('live updates still reach her: she watches the views directory and reads her root-owned view after an apply', async () => {
    // What the launcher's watchView does (electron/services/views.ts): inotify on the directory, then a read.
    const file = path.join(sb.stateDir, 'views', `${alice.uid}.json`);
    const watcher = `
const fs = require('node:fs');
const file = process.argv[1];
const title = () => JSON.parse(fs.readFileSync(file, 'utf8')).vms.find((v) => v.id === 'vm1').title;
console.log('START ' + title());
fs.watch(require('node:path').dirname(file), () => {
  try { const t = title(); if (t !== 'vm1') { console.log('CHANGED ' + t); process.exit(0); } } catch {}
});
setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 20000);
`;
    const child = spawn('setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--clear-groups', '--', process.execPath, '-e', watcher, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const started = new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => ((out += b.toString()), out.includes('START') && resolve())));
    const ended = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await started;
      assert.match(out, /^START vm1$/m);
      await sb.writePolicy(sb.policy(policy().replace('vm1: { server: s, tls-port: 20002 }', 'vm1: { server: s, tls-port: 20002, title: Renamed }')));
      assert.equal((await sb.helper(['apply'])).code, 0);
      assert.equal(await ended, 0, out);
      assert.match(out, /CHANGED Renamed/);
    } finally {
      child.kill('SIGKILL');
      await sb.writePolicy(sb.policy(policy()));
      assert.equal((await sb.helper(['apply'])).code, 0);
    }
  });

  test('she can signal her viewer, but neither signal nor trace open-console, which runs as root', async () => {
    await sb.writePolicy(sb.policy(policy().replace('vm1: { server: s, tls-port: 20002 }', 'vm1: { server: s, tls-port: 20002, title: hold }')));
    assert.equal((await sb.helper(['apply'])).code, 0);
    // Like Sandbox.run, but long-lived: her command inside the namespace with the sandbox's sudoers.
    const script = 'mount --bind "$0" /etc/sudoers.d && exec ip netns exec "$1" "${@:2}"';
    const as = ['setpriv', `--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--clear-groups', '--'];
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'bash', '-c', script, sb.sudoersDir, sb.ns, ...as, ...(await viewCommand(alice, 'vm1'))], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const { pid, ppid } = await new Promise<{ pid: number; ppid: number }>((resolve) => {
        let text = '';
        child.stdout.on('data', (b: Buffer) => {
          text += b.toString();
          if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!) as { pid: number; ppid: number });
        });
      });
      const status = await readFile(`/proc/${ppid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+0\s+0\s+0\s+0$/m, 'open-console keeps every uid 0');
      const asHer = (argv: string[]) => sb.run(argv, { user: alice, gid });
      assert.notEqual((await asHer(['kill', '-s', 'STOP', String(ppid)])).code, 0, 'she stopped open-console');
      assert.notEqual((await asHer(['cat', `/proc/${ppid}/environ`])).code, 0, "she read open-console's environment");
      assert.notEqual((await asHer(['/usr/bin/python3', '-c', `open('/proc/${ppid}/mem','rb')`])).code, 0, "she opened open-console's memory");
      assert.equal((await asHer(['kill', '-s', '0', String(pid)])).code, 0, 'control: her viewer is hers to signal');
      assert.equal((await asHer(['kill', '-s', 'TERM', String(pid)])).code, 0);
      assert.notEqual(await new Promise((resolve) => child.on('exit', resolve)), null, 'open-console ends with its viewer');
    } finally {
      child.kill('SIGKILL');
      await sb.writePolicy(sb.policy(policy()));
      assert.equal((await sb.helper(['apply'])).code, 0);
    }
  });

  test('a user leasing her view cannot stall apply: the revocation lands in seconds', async () => {
    const view = path.join(sb.stateDir, 'views', `${alice.uid}.json`);
    // As an older consolegate left it: owned by her (so she may take a lease on it), then as this one writes it.
    for (const owned of [true, false]) {
      await sb.writePolicy(sb.policy(policy()));
      assert.equal((await sb.helper(['apply'])).code, 0);
      if (owned) await chown(view, alice.uid, alice.gid);
      const lease = `
import fcntl, os, signal, sys, time
# The lease breaker's SIGIO would end us (its default action): a real holder ignores it and keeps the lease.
signal.signal(signal.SIGIO, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_RDONLY)
for kind in (fcntl.F_WRLCK, fcntl.F_RDLCK):
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, kind)
        print(f'LEASED {kind}', flush=True)
        break
    except OSError as e:
        err = e
else:
    print(f'NOLEASE {err.errno}', flush=True)
time.sleep(120)
`;
      const holder = spawn('setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--clear-groups', '--', '/usr/bin/python3', '-c', lease, view], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const said = await new Promise<string>((resolve) => {
          let text = '';
          holder.stdout.on('data', (b: Buffer) => {
            text += b.toString();
            if (text.includes('\n')) resolve(text.trim());
          });
        });
        if (owned) assert.match(said, /^LEASED/, 'she can lease a file she owns');
        else assert.match(said, /^NOLEASE 13$/, `she cannot lease a root-owned view (EACCES): ${said}`);
        // Revoke alice entirely.
        await sb.writePolicy(sb.policy(policy().replace(`  - { vm: vm1, users: [${alice.name}] }\n`, '')));
        const t0 = Date.now();
        const r = await sb.helper(['apply']);
        const ms = Date.now() - t0;
        assert.equal(r.code, 0, r.stderr);
        assert.ok(ms < 15_000, `apply took ${ms} ms with a lease held (owned by her: ${owned})`);
        assert.equal(await stat(view).then(() => 'there', () => 'gone'), 'gone', 'her view is removed');
        assert.equal((await sb.sudoOpen(alice, 'vm1')).code, 1, 'no sudo rule any more');
        assert.equal(await sb.connect('127.0.0.1', 20002, alice, gid), false, 'the firewall refuses her');
      } finally {
        holder.kill('SIGKILL');
      }
    }
  });
});
