// A first apply flags the state directory for ext4's Orlov allocator (chattr +T, system/spread-dirs.ts), so that a
// staged views directory is placed away from the inodes `remove` just freed. Real apply, real lsattr; later applies
// and a file system without the flag keep working.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spreadSubdirs } from '../../helper/src/system/spread-dirs.js';
import { exec } from '../../helper/src/system/exec.js';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';

/** The flags lsattr shows for a directory itself, or null when its file system has none. */
async function flagsOf(dir: string): Promise<string | null> {
  const r = await exec(['lsattr', '-d', dir]);
  return r.code === 0 ? r.stdout.trim().split(/\s+/)[0]! : null;
}

const unavailable = (await rootTestsUnavailable()) ?? ((await exec(['sh', '-c', 'command -v chattr && command -v lsattr'])).code !== 0 ? 'chattr/lsattr missing (package e2fsprogs)' : null);

describe('the state directory spreads its subdirectories', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser;
  let why: string | null = null;

  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    const flags = await flagsOf(sb.stateDir);
    if (flags === null) why = `${sb.stateDir}: lsattr cannot read flags on this file system (ext4 needed)`;
    else assert.doesNotMatch(flags, /T/, 'flagged before any apply');
  });
  after(async () => sb?.cleanup());

  const policy = () =>
    sb.policy(`servers:\n  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }\nvms:\n  vm1: { server: s4, tls-port: 20002 }\nentitlements:\n  - { vm: vm1, users: [${alice.name}] }\n`);

  test('a first apply after remove flags the state directory (T) and leaves no staging directory', async (t) => {
    if (why !== null) return t.skip(why);
    await sb.writePolicy(policy());
    assert.equal((await sb.helper(['apply'])).code, 0);
    assert.equal((await sb.helper(['remove'])).code, 0);
    await exec(['chattr', '-T', sb.stateDir]);
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await flagsOf(sb.stateDir))!, /T/);
    assert.deepEqual((await readdir(sb.stateDir)).filter((n) => n.startsWith('.')), []);
    assert.equal((await readdir(path.join(sb.stateDir, 'views'))).length, 1);
  });

  test('where the flag cannot be set (tmpfs), or chattr cannot start, nothing fails and nothing is flagged', async () => {
    const dir = await mkdtemp('/dev/shm/cg-spread-');
    try {
      await spreadSubdirs(exec, dir);
      assert.doesNotMatch((await flagsOf(dir)) ?? '', /T/);
      await spreadSubdirs(async () => Promise.reject(new Error('spawn chattr ENOENT')), dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
