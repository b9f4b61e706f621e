// Entitlements from a real directory (issue 12): slapd + sssd in the sandbox, names as the directory spells them,
// proven end to end through apply, sudo (open-console) and the firewall; only numbers reach the rendered files.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';
import { Directory, directoryUnavailable, type LdapUser } from './support/directory.js';

const unavailable = (await rootTestsUnavailable()) ?? (await directoryUnavailable());

// The launcher's command, as the issue 11 sudoers shape has it: open-console runs as root and drops to SUDO_UID.
function openArgv(sb: Sandbox, vm: string): string[] {
  return ['sudo', '-n', sb.openConsole, '--state-dir', sb.stateDir, vm];
}

// What a sudoers line may look like when only numbers, VM ids, our paths and our alias names reach it.
const SUDOERS_LINE =
  /^(#.*|Defaults!\/[\w./-]+ env_keep \+= "[A-Z_ ]+"|Cmnd_Alias CG_[A-Z0-9_]+ = \/[\w./-]+( --state-dir \/[\w./-]+)? [a-z0-9_-]+|User_Alias CG_U_\d+ = %?#\d+(, %?#\d+)*|(%?#\d+|CG_U_\d+) ALL=\(root\) NOPASSWD: CG_[A-Z0-9_]+(, CG_[A-Z0-9_]+)*)$/;
const GROUP_GID = 2700100;

describe('entitlements from a real directory (slapd + sssd)', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let dir: Directory;
  let alice: LdapUser, bob: LdapUser, carol: LdapUser, dave: LdapUser, erin: LdapUser, evil: LdapUser, hash: LdapUser, ctl: LdapUser;
  let gid: number;

  const open = async (u: TestUser, vm: string) => dir.run(openArgv(sb, vm), { user: u });
  const apply = async () => {
    const r = await dir.helper(['apply']);
    assert.equal(r.code, 0, `apply: ${r.stdout}\n${r.stderr}\n${dir.log}`);
    return r;
  };

  before(async () => {
    sb = await Sandbox.create();
    dir = await Directory.start(sb);
    alice = await dir.addUser('alice', 2700001);
    bob = await dir.addUser('BOB', 2700002);
    carol = await dir.addUser('carol', 2700003);
    dave = await dir.addUser('dave', 2700004);
    erin = await dir.addUser('erin', 2700005);
    // Names a directory may hold and sudoers or a terminal would read as syntax.
    evil = await dir.addUser('evil ALL=(ALL) ALL', 2700006);
    hash = await dir.addUser('#0', 2700007);
    ctl = await dir.addUser('ctl\x1b]0;pwned\x07', 2700008);
    await dir.addGroup('Domain Users', GROUP_GID, ['carol', evil.name, hash.name, ctl.name]);
    await sb.listen([20002, 20004, 20006, 20008]);
    await sb.writePolicy(
      sb.policy(`servers:
  s1: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s1" }
vms:
  vma: { server: s1, tls-port: 20002, title: "Alice's desk" }
  vmb: { server: s1, tls-port: 20004 }
  vmg: { server: s1, tls-port: 20006 }
  vme: { server: s1, tls-port: 20008 }
entitlements:
  - { vm: vma, users: ["alice@corp.example.com"] }
  - { vm: vmb, users: [BOB] }
  - { vm: vmg, groups: ["Domain Users"] }
  - { vm: vme, users: [erin] }
`),
    );
  });
  after(async () => {
    await dir?.stop();
    await sb?.cleanup();
  });

  test('sssd answers only inside the test: the host does not know the directory users', async () => {
    assert.equal((await dir.getent('passwd', 'alice@corp.example.com')).stdout.split(':')[2], String(alice.uid));
    const { exec } = await import('../../helper/src/system/exec.js');
    assert.equal((await exec(['getent', 'passwd', 'alice@corp.example.com'])).code, 2, 'the host NSS must not resolve directory users');
  });

  test('a fully-qualified name, an uppercase name and a group of LDAP-only members: sudo and the firewall let each in', async () => {
    await dir.helper(['plan']); // looks erin up once: the "directory down" test below needs her cached
    await apply();
    gid = await sb.viewerGid();
    for (const [u, vm, port] of [[alice, 'vma', 20002], [bob, 'vmb', 20004], [carol, 'vmg', 20006]] as const) {
      const r = await open(u, vm);
      assert.equal(r.code, 0, `${u.name} → ${vm}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^CONNECTED 127\\.0\\.0\\.1 ${port} uid=${u.uid} gid=${gid}`));
    }
    // Members of nothing: sudo refuses and the firewall drops, even with the viewer group.
    assert.equal((await open(alice, 'vmg')).code, 1);
    assert.equal(await dir.connect(20006, alice, gid), false);
    assert.equal(await dir.connect(20002, bob, gid), false);
  });

  test('only numbers reach sudoers, nft and the console table; names stay in the views, as JSON', async () => {
    const sudoers = await readFile(sb.sudoersFile, 'utf8');
    for (const line of sudoers.split('\n').filter(Boolean)) assert.match(line, SUDOERS_LINE, `sudoers line ${JSON.stringify(line)}`);
    for (const u of [alice, bob]) assert.match(sudoers, new RegExp(`^#${u.uid} ALL=\\(root\\) NOPASSWD: `, 'm'), u.name);
    // The group is one `%#gid` (sudo checks the caller's groups); its members are listed by uid in nft and the table.
    assert.match(sudoers, new RegExp(`^%#${GROUP_GID} ALL=\\(root\\) NOPASSWD: CG_VMG$`, 'm'));
    for (const u of [carol, evil, hash]) assert.doesNotMatch(sudoers, new RegExp(`#${u.uid}\\b`), u.name);
    assert.doesNotMatch(sudoers, /alice|BOB|carol|evil|Domain|pwned|@|\x1b/);
    const v = await dir.run(['visudo', '-cf', sb.sudoersFile]);
    assert.equal(v.code, 0, v.stderr + v.stdout);

    const nft = (await dir.run(['nft', 'list', 'table', 'inet', 'consolegate'])).stdout;
    assert.doesNotMatch(nft, /alice|BOB|carol|evil|Domain|pwned|ALL|\x1b/);
    for (const u of [alice, bob, carol, evil, hash]) assert.match(nft, new RegExp(`\\b${u.uid} \\. 127\\.0\\.0\\.1 \\. 200\\d\\d\\b`), `${u.uid} in the set`);

    const table = await readFile(path.join(sb.stateDir, 'console-table.json'), 'utf8');
    assert.doesNotMatch(table, /alice|BOB|carol|evil|Domain|pwned|\\u001b/);
    for (const u of [carol, evil, hash]) assert.match(table, new RegExp(`"uid": ${u.uid}\\b`), `${u.name} in the table`);
    // A name with control characters is refused (and never rendered); the others are granted by their numbers
    // and can use only their own VM.
    assert.doesNotMatch(sudoers + nft, new RegExp(`\\b${ctl.uid}\\b`));
    const r = await open(evil, 'vmg');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await open(evil, 'vma')).code, 1);
  });

  test('names a person reads are escaped for a terminal (plan, status, apply output)', async () => {
    for (const cmd of [['plan'], ['status'], ['apply'], ['validate']]) {
      const r = await dir.helper(cmd);
      assert.doesNotMatch(r.stdout + r.stderr, /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/, `${cmd[0]} printed a raw control character`);
    }
    const r = await dir.helper(['validate']);
    assert.match(r.stdout + r.stderr, /group `Domain Users`: member "ctl\\u001b\]0;pwned\\u0007" skipped/);
  });

  test('a member added in LDAP gets access after the next apply (sudo: from a new login session)', async () => {
    const oldSession = { user: dave, groups: [dave.gid] };
    const newSession = { user: dave, groups: [dave.gid, GROUP_GID] };
    assert.equal((await open(dave, 'vmg')).code, 1, 'not a member yet');
    await dir.addMember('Domain Users', 'dave');
    await dir.waitForCacheExpiry();
    // sudo matches `%#gid` against her groups at once, but open-console reads the table, which only apply writes.
    assert.equal((await dir.run(openArgv(sb, 'vmg'), newSession)).code, 67, 'the table changes only when apply runs');
    assert.equal(await dir.connect(20006, dave, gid), false, 'the firewall changes only when apply runs');
    await apply();
    const r = await dir.run(openArgv(sb, 'vmg'), newSession);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^CONNECTED 127\.0\.0\.1 20006/);
    // A session that started before she was added has no such group: sudo refuses until she logs in again.
    assert.equal((await dir.run(openArgv(sb, 'vmg'), oldSession)).code, 1);
  });

  test('a member removed in LDAP loses access at the next apply: sudo and the firewall', async () => {
    assert.equal(await dir.connect(20006, carol, gid), true);
    await dir.removeMember('Domain Users', 'carol');
    await dir.waitForCacheExpiry();
    await apply();
    const r = await open(carol, 'vmg');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    // A session from before the removal still carries the group, so sudo lets it pass: open-console refuses her.
    const old = await dir.run(openArgv(sb, 'vmg'), { user: carol, groups: [carol.gid, GROUP_GID] });
    assert.equal(old.code, 67, old.stdout + old.stderr);
    assert.equal(await dir.connect(20006, carol, gid), false, 'the firewall must refuse her now');
    assert.equal(await dir.connect(20006, dave, gid), true, 'the others keep theirs');
  });

  test('the directory down at apply: cached answers keep working, nothing opens, no crash', async () => {
    await dir.stopSlapd();
    await dir.waitForCacheExpiry();
    const r = await dir.helper(['apply', '--json']);
    assert.equal(r.code, 0, r.stderr);
    // sssd serves its cache while offline: every grant stays as it was.
    for (const [u, vm] of [[alice, 'vma'], [bob, 'vmb'], [dave, 'vmg'], [erin, 'vme']] as const) assert.equal((await open(u, vm)).code, 0, `${u.name} → ${vm}`);
    assert.equal(await dir.connect(20006, carol, gid), false, 'a removal stays removed');
  });

  test('sssd itself down at apply: unknown names are skipped with a warning and their access ends (fail closed)', async () => {
    await dir.stopSssd();
    const r = await dir.helper(['apply', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { skipped: { message: string }[] };
    const said = out.skipped.map((s) => s.message).join('\n');
    assert.match(said, /user `alice@corp\.example\.com` does not exist on this machine; skipped/);
    assert.match(said, /group `Domain Users` does not exist on this machine; skipped/);
    for (const [u, port] of [[alice, 20002], [dave, 20006], [erin, 20008]] as const) assert.equal(await dir.connect(port, u, gid), false, `${u.name} must be refused`);
    const sudoers = await readFile(sb.sudoersFile, 'utf8');
    assert.doesNotMatch(sudoers, /^%?#27001?\d\d /m);
  });
});
