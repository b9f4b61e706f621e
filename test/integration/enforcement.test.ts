// The behavioural suite, run once per backend: real nft/iptables, sudo, visudo and connections in a namespace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A window around now (today, ±60 min clipped to the day) and one that excludes now (another day). */
function windows(now = new Date()) {
  const m = now.getHours() * 60 + now.getMinutes();
  const hhmm = (x: number) => `${String(Math.floor(x / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`;
  const today = DAYS[now.getDay()]!;
  const other = DAYS[(now.getDay() + 3) % 7]!;
  return { inside: `{ days: [${today}], hours: "${hhmm(Math.max(0, m - 60))}-${hhmm(Math.min(1440, m + 60))}" }`, outside: `{ days: [${other}] }` };
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`enforcement with ${backend}`, { skip: unavailable ?? false }, () => {
    let sb: Sandbox;
    let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
    let gid: number;
    let grp: string;

    const basePolicy = () => {
      const w = windows();
      return sb.policy(
        `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
  s6: { host: "::1", ca: $CA, host-subject: "CN=s6" }
vms:
  vm1: { server: s4, tls-port: 20002, title: "Alice's VM" }
  vm6: { server: s6, tls-port: 20004 }
  vmg: { server: s4, tls-port: 20006 }
  vmin: { server: s4, tls-port: 20008 }
  vmout: { server: s4, tls-port: 20010 }
entitlements:
  - { vm: vm1, users: [${alice.name}] }
  - { vm: vm6, users: [${alice.name}] }
  - { vm: vmg, groups: [${grp}] }
  - { vm: vmin, users: [${alice.name}], when: ${w.inside} }
  - { vm: vmout, users: [${alice.name}], when: ${w.outside} }
`,
        { backend },
      );
    };

    before(async () => {
      sb = await Sandbox.create();
      [alice, bob, carol, dave] = [await sb.addUser('a'), await sb.addUser('b'), await sb.addUser('c'), await sb.addUser('d')];
      grp = await sb.addGroup('grp', [carol]);
      await sb.listen([20002, 20004, 20006, 20008, 20010, 30000]);
      await sb.writePolicy(basePolicy());
      const r = await sb.helper(['apply']);
      assert.equal(r.code, 0, r.stderr);
      gid = await sb.viewerGid();
    });
    after(async () => sb?.cleanup());

    test('the entitled user connects through the sudo path, IPv4 and IPv6', async () => {
      const v4 = await sb.sudoOpen(alice, 'vm1');
      assert.equal(v4.code, 0, v4.stderr);
      assert.match(v4.stdout, new RegExp(`^CONNECTED 127\\.0\\.0\\.1 20002 uid=${alice.uid} gid=${gid}`));
      const v6 = await sb.sudoOpen(alice, 'vm6');
      assert.equal(v6.code, 0, v6.stderr);
      assert.match(v6.stdout, /^CONNECTED ::1 20004/);
    });

    test("the same user's own programs (own group) are refused", async () => {
      assert.equal(await sb.connect('127.0.0.1', 20002, alice), false);
      assert.equal(await sb.connect('::1', 20004, alice), false);
    });

    test('the viewer group with the entitled uid is what the firewall allows (the sudo path, not the program)', async () => {
      assert.equal(await sb.connect('127.0.0.1', 20002, alice, gid), true);
    });

    test('another user is refused: no sudo rule, and their own TCP client is reset even with the viewer gid', async () => {
      const r = await sb.sudoOpen(bob, 'vm1');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /password is required|not allowed/);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob), false);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false);
      assert.equal(await sb.connect('::1', 20004, bob, gid), false);
      assert.equal(await sb.connect('127.0.0.1', 20002), false, 'root is not entitled either');
    });

    test('a group entitlement works for a member and not for a non-member', async () => {
      const member = await sb.sudoOpen(carol, 'vmg');
      assert.equal(member.code, 0, member.stderr);
      assert.match(member.stdout, /^CONNECTED/);
      assert.equal((await sb.sudoOpen(dave, 'vmg')).code, 1);
      assert.equal(await sb.connect('127.0.0.1', 20006, dave, gid), false);
    });

    test('a window that includes now allows; one that excludes now denies (open-console and firewall)', async () => {
      const inside = await sb.sudoOpen(alice, 'vmin');
      assert.equal(inside.code, 0, inside.stderr);
      const outside = await sb.sudoOpen(alice, 'vmout');
      assert.equal(outside.code, 68, outside.stderr);
      assert.match(outside.stderr, /available to you only/);
      assert.equal(await sb.connect('127.0.0.1', 20010, alice, gid), false, 'the firewall denies outside the window too');
      assert.equal(await sb.connect('127.0.0.1', 20008, alice, gid), true);
    });

    test('ports outside the protected ranges are not touched', async () => {
      assert.equal(await sb.connect('127.0.0.1', 30000, bob), true);
    });

    test('sudo -l shows exactly the intended commands; the viewer cannot be run directly', async () => {
      const l = await sb.run(['sudo', '-l', '-U', alice.name]);
      const cmds = [...l.stdout.replace(/\n\s+/g, ' ').matchAll(/NOPASSWD: (\S+(?: \S+)*?)(?= \(|$)/gm)].flatMap((m) => m[1]!.split(', '));
      const want = ['vm1', 'vm6', 'vmin', 'vmout'].map((v) => `${sb.openConsole} --state-dir ${sb.stateDir} ${v}`);
      assert.deepEqual(cmds.sort(), want.sort(), l.stdout);
      assert.match(l.stdout, /\(root\) NOPASSWD/);
      const none = await sb.run(['sudo', '-l', '-U', bob.name]);
      assert.match(none.stdout, /is not allowed to run sudo/);
      const direct = await sb.run([sb.viewer, '-'], { user: alice, input: '[virt-viewer]\nhost=127.0.0.1\ntls-port=20002\n' });
      assert.equal(direct.code, 126, 'exec permission denied for users outside the viewer group');
      const st = await stat(sb.viewer);
      assert.equal(st.mode & 0o7777, 0o750);
      assert.deepEqual([st.uid, st.gid], [0, gid]);
    });

    test('open-console outside sudo, or for a VM that is not yours, is refused', async () => {
      const noSudo = await sb.run([sb.openConsole, '--state-dir', sb.stateDir, 'vm1'], { user: alice, gid });
      assert.equal(noSudo.code, 65);
      const forged = await sb.run([sb.openConsole, '--state-dir', sb.stateDir, 'vm1'], { user: alice, gid, env: { SUDO_UID: String(alice.uid) } });
      assert.equal(forged.code, 65, 'SUDO_UID alone does not make a caller: open-console must run as root');
      assert.equal((await sb.sudoOpen(alice, 'vmg')).code, 1, 'no sudo rule for a VM that is not hers');
    });

    test('files: sudoers 0440 root, table root:root 0600, views root:root 0640 with an ACL for their user', async () => {
      const mode = async (f: string) => {
        const s = await stat(f);
        return [s.mode & 0o7777, s.uid, s.gid];
      };
      assert.deepEqual(await mode(sb.sudoersFile), [0o440, 0, 0]);
      assert.deepEqual(await mode(path.join(sb.stateDir, 'console-table.json')), [0o600, 0, 0]);
      assert.deepEqual(await mode(path.join(sb.stateDir, 'views', `${alice.uid}.json`)), [0o640, 0, 0]);
      const acl = await sb.run(['getfacl', '-n', '-c', path.join(sb.stateDir, 'views', `${alice.uid}.json`)]);
      assert.deepEqual(acl.stdout.trim().split('\n'), ['user::rw-', `user:${alice.uid}:r--`, 'group::---', 'mask::r--', 'other::---']);
      const view = JSON.parse(await readFile(path.join(sb.stateDir, 'views', `${alice.uid}.json`), 'utf8'));
      assert.deepEqual(view.vms.map((v: { id: string }) => v.id), ['vm1', 'vm6', 'vmin', 'vmout']);
      await assert.rejects(stat(path.join(sb.stateDir, 'views', `${bob.uid}.json`)));
    });

    test('status and plan: in sync after apply; drift is reported with exit 3 and repaired by apply', async () => {
      assert.equal((await sb.helper(['status'])).code, 0);
      assert.equal((await sb.helper(['plan'])).code, 0);
      await chmod(sb.viewer, 0o755);
      await writeFile(sb.sudoersFile, (await readFile(sb.sudoersFile, 'utf8')) + `${bob.name} ALL=(ALL) NOPASSWD: ALL\n`);
      const drift = await sb.helper(['status', '--json']);
      assert.equal(drift.code, 3);
      assert.deepEqual(JSON.parse(drift.stdout).drift.map((d: { system: string }) => d.system).sort(), ['sudoers', 'viewer']);
      assert.equal((await sb.helper(['plan'])).code, 2);
      assert.equal((await sb.helper(['apply'])).code, 0);
      assert.equal((await sb.helper(['status'])).code, 0);
    });

    test('re-apply while probes run: the non-entitled user never connects, the entitled one is never refused', async () => {
      const stop = path.join(sb.dir, `stop-${backend}`);
      const loop = (cmd: string) => `n=0; c=0; while [ ! -e ${stop} ]; do if ${cmd} >/dev/null 2>&1; then c=$((c+1)); fi; n=$((n+1)); done; echo "$n $c"`;
      const bobLoop = sb.run(['bash', '-c', loop(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/20002'`)], { user: bob, gid });
      const aliceLoop = sb.run(['bash', '-c', loop(`sudo -n ${sb.openConsole} --state-dir ${sb.stateDir} vm1`)], { user: alice });
      for (let i = 0; i < 6; i++) {
        // Alternate between two policies that both entitle alice to vm1 (one adds bob to vm6).
        const text = basePolicy() + (i % 2 === 0 ? `  - { vm: vm6, users: [${bob.name}] }\n` : '');
        await sb.writePolicy(text);
        const r = await sb.helper(['apply']);
        assert.equal(r.code, 0, r.stderr);
      }
      await mkdir(stop);
      const [b, a] = [(await bobLoop).stdout.trim().split(' ').map(Number), (await aliceLoop).stdout.trim().split(' ').map(Number)];
      assert.ok(b[0]! > 10 && a[0]! > 3, `probes ran: bob ${b[0]}, alice ${a[0]}`);
      assert.equal(b[1], 0, `bob connected ${b[1]} of ${b[0]} times`);
      assert.equal(a[1], a[0], `alice was refused ${a[0]! - a[1]!} of ${a[0]} times`);
    });
  });
}
