// Faults in the middle of apply (issue 6): a full disk, a read-only sudoers directory, a visudo that rejects,
// an nft that fails while loading, a missing iptables. Each must exit 1, say why, and leave the previous state
// exactly as it was — every byte of every file, the ruleset, the viewer — with no stray temp files.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exec } from '../../helper/src/system/exec.js';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { differingParts, fakeTools, fill, must, observe, onTmpfs, runHelper, status, type HelperRun, type Observed } from './support/harness.js';

const unavailable = await rootTestsUnavailable();

/** Temp files the helper may have left beside its files (named `.<name>.<hex>.tmp`). */
async function strayTemps(sb: Sandbox): Promise<string[]> {
  const out: string[] = [];
  for (const dir of [sb.sudoersDir, sb.stateDir, path.join(sb.stateDir, 'views')]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (n.endsWith('.tmp')) out.push(path.join(dir, n));
  }
  return out;
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`apply under faults (${backend}): exit 1, say why, keep everything as it was`, { skip: unavailable ?? false }, () => {
    let sb: Sandbox;
    let alice: TestUser, bob: TestUser;
    let oldFile: string, newFile: string;
    let before0: Observed;
    let viewerGid: number;
    let tempsBefore: string[];

    const policyFor = (users: TestUser[], title: string) =>
      sb.policy(
        `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
vms:
  vm1: { server: s4, tls-port: 20002, title: "${title}" }
entitlements:
  - { vm: vm1, users: [${users.map((u) => u.name).join(', ')}] }
`,
        { backend },
      );

    before(async () => {
      sb = await Sandbox.create();
      [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
      await sb.listen([20002]);
      oldFile = path.join(sb.dir, 'old.yaml');
      newFile = path.join(sb.dir, 'new.yaml');
      await writeFile(oldFile, policyFor([alice], 'Old'), { mode: 0o600 });
      await writeFile(newFile, policyFor([alice, bob], 'New'), { mode: 0o600 });
    });
    after(async () => sb?.cleanup());

    /** Applies the old policy cleanly; the fault test then applies the new one under a fault. */
    async function startFromOld(): Promise<void> {
      const r = await runHelper(sb, ['apply', '--policy', oldFile]);
      assert.equal(r.code, 0, r.stderr);
      before0 = await observe(sb);
      viewerGid = await sb.viewerGid();
      tempsBefore = await strayTemps(sb);
    }

    /** The promise of issue 6 for one faulty apply. */
    async function assertKept(r: { code: number; stderr: string }, why: RegExp): Promise<void> {
      assert.equal(r.code, 1, `apply should fail with exit 1; it exited ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.deepEqual(differingParts(await observe(sb), before0), [], 'the previous state was not kept');
      assert.deepEqual(await observe(sb), before0, 'the previous state was not kept byte for byte');
      assert.deepEqual((await strayTemps(sb)).filter((t) => !tempsBefore.includes(t)), [], 'temp files were left behind');
      const s = await status(sb, oldFile);
      assert.equal(s.code, 0, `status with the old policy: ${s.raw}`);
      // And it still behaves as the old policy: alice (viewer group) in, bob (viewer group) out.
      assert.equal(await sb.connect('127.0.0.1', 20002, alice, viewerGid), true);
      assert.equal(await sb.connect('127.0.0.1', 20002, bob, viewerGid), false);
    }

    test('a full disk under the sudoers directory', async () => {
      await startFromOld();
      const undo = await onTmpfs(sb.sudoersDir, 64);
      try {
        await fill(sb.sudoersDir);
        before0 = await observe(sb); // the filler files are not ours; everything else must stay
        const r = await runHelper(sb, ['apply', '--policy', newFile]);
        await exec(['rm', '-f', path.join(sb.sudoersDir, 'zz-filler'), path.join(sb.sudoersDir, 'zz-tail')]);
        before0 = { ...before0, sudoersIncluded: before0.sudoersIncluded.filter((n) => !n.startsWith('zz-')) };
        await assertKept(r, /sudoers: .*no space left on device.*nothing was changed/i);
      } finally {
        await undo();
      }
    });

    test('a full disk under the state directory (rolled back after the firewall and sudoers changed)', async () => {
      await startFromOld();
      const undo = await onTmpfs(sb.stateDir, 256);
      try {
        await fill(sb.stateDir);
        const r = await runHelper(sb, ['apply', '--policy', newFile]);
        await exec(['rm', '-f', path.join(sb.stateDir, 'zz-filler'), path.join(sb.stateDir, 'zz-tail')]);
        await assertKept(r, /(state directory|saved firewall): .*no space left on device.*previous state restored/i);
      } finally {
        await undo();
      }
    });

    test('a read-only sudoers directory', async () => {
      await startFromOld();
      await must(['mount', '--bind', sb.sudoersDir, sb.sudoersDir]);
      try {
        await must(['mount', '-o', 'remount,bind,ro', sb.sudoersDir]);
        const r = await runHelper(sb, ['apply', '--policy', newFile]);
        await assertKept(r, /sudoers: .*read-only file system.*nothing was changed/i);
      } finally {
        await must(['umount', sb.sudoersDir]);
      }
    });

    test('a visudo that rejects the file', async () => {
      await startFromOld();
      const env = await fakeTools(sb, 'visudo', { visudo: 'case "$1" in --version) exec /usr/sbin/visudo "$@";; esac\necho ">>> consolegate: syntax error near line 4 <<<" >&2\nexit 1' });
      const r = await runHelper(sb, ['apply', '--policy', newFile], { env });
      await assertKept(r, /visudo rejected the rendered sudoers file: .*syntax error near line 4/);
    });

    const failingLoad = (tool: string, only: 'first' | 'every') => {
      // Feeds the real tool half of its input, so it really fails mid-load (a syntax error at a cut line).
      const body = `if [[ ${tool === 'nft' ? '" $* " == *" -f "*' : 'true'} ]] && ${only === 'first' ? '[[ ! -e "$0.failed" ]]' : 'true'}; then
  : > "$0.failed"; input=$(cat); printf '%s' "\${input:0:$((\${#input} / 2))}" | /usr/sbin/${tool} "$@"; exit 1
fi
exec /usr/sbin/${tool} "$@"`;
      return body;
    };

    if (backend === 'nftables') {
      test('a first apply whose nft load fails leaves no staged views directory; the next one puts every view in place', async () => {
        await startFromOld();
        assert.equal((await runHelper(sb, ['remove'])).code, 0);
        const env = await fakeTools(sb, 'nft-first-apply', { nft: failingLoad('nft', 'first') });
        const r = await runHelper(sb, ['apply', '--policy', newFile], { env });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /firewall \(nftables\): `nft -f \S+` exited 1/);
        assert.deepEqual(await strayTemps(sb), [], 'staged files or directories were left behind');
        assert.deepEqual(await readdir(path.join(sb.stateDir, 'views')).catch(() => []), []);
        assert.equal(await sb.connect('127.0.0.1', 20002, bob, await sb.viewerGid()), false);
        const ok = await runHelper(sb, ['apply', '--policy', newFile]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.deepEqual((await readdir(path.join(sb.stateDir, 'views'))).sort(), [`${alice.uid}.json`, `${bob.uid}.json`].sort());
      });

      for (const only of ['first', 'every'] as const) {
        test(`an nft that fails mid-load (${only === 'first' ? 'once: rollback works' : 'every time: rollback fails too'})`, async () => {
          await startFromOld();
          const env = await fakeTools(sb, `nft-${only}`, { nft: failingLoad('nft', only) });
          const r = await runHelper(sb, ['apply', '--policy', newFile], { env });
          await assertKept(r, only === 'first' ? /firewall \(nftables\): `nft -f \S+` exited 1.*previous state restored/s : /firewall \(nftables\): `nft -f \S+` exited 1/s);
        });
      }
    } else {
      test('an iptables-restore that fails mid-load (IPv4 loads, IPv6 fails; both rolled back)', async () => {
        await startFromOld();
        const env = await fakeTools(sb, 'ip6t', { 'ip6tables-restore': failingLoad('ip6tables-restore', 'first') });
        const r = await runHelper(sb, ['apply', '--policy', newFile], { env });
        await assertKept(r, /firewall \(iptables\): `ip6tables-restore --wait --noflush` exited 1.*previous state restored/s);
      });
    }

    test(`iptables missing while the policy asks for backend iptables`, async () => {
      await startFromOld();
      // Hide every iptables binary in the helper's private mount namespace (they are links to one multi-call binary).
      const real = (await exec(['sh', '-c', 'readlink -f "$(command -v iptables-restore)"'])).stdout.trim();
      const hide: HelperRun = { preamble: `mount --bind /dev/null '${real}'` };
      const ipt = path.join(sb.dir, 'new-iptables.yaml');
      await writeFile(ipt, policyFor([alice, bob], 'New').replace('backend: nftables', 'backend: iptables'), { mode: 0o600 });
      const r = await runHelper(sb, ['apply', '--policy', ipt], hide);
      await assertKept(r, /firewall backend iptables: .*iptables-restore.* not installed/);
    });
  });
}

describe('a backend switch whose old rules cannot be removed', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  before(async () => {
    sb = await Sandbox.create();
    [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
    await sb.listen([20002]);
  });
  after(async () => sb?.cleanup());

  test('is drift for status and repaired by the next apply (left-over rules still decide who connects)', async () => {
    const body = (u: TestUser) => `servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${u.name}] }\n`;
    const nftFile = path.join(sb.dir, 'nft.yaml');
    const iptFile = path.join(sb.dir, 'ipt.yaml');
    await writeFile(nftFile, sb.policy(body(alice), { backend: 'nftables' }), { mode: 0o600 });
    await writeFile(iptFile, sb.policy(body(bob), { backend: 'iptables' }), { mode: 0o600 });
    assert.equal((await runHelper(sb, ['apply', '--policy', nftFile])).code, 0);
    const gid = await sb.viewerGid();

    // Switch to iptables with an nft that cannot load anything: the old table cannot be deleted.
    const env = await fakeTools(sb, 'nft-broken', { nft: '[[ " $* " == *" -f "* ]] && { echo "nft: broken" >&2; exit 1; }\nexec /usr/sbin/nft "$@"' });
    const r = await runHelper(sb, ['apply', '--policy', iptFile], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /could not remove the previous backend's rules/);
    // bob is entitled now, but the old nft table still rejects him: that must not read as "in sync".
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), false);
    const s = await status(sb, iptFile);
    assert.equal(s.code, 3, s.raw);
    assert.match(s.raw, /nft table inet consolegate is still loaded/);

    const again = await runHelper(sb, ['apply', '--policy', iptFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await status(sb, iptFile)).code, 0);
    assert.equal(await sb.connect('127.0.0.1', 20002, bob, gid), true);
    assert.equal(await sb.connect('127.0.0.1', 20002, alice, gid), false);
  });
});
