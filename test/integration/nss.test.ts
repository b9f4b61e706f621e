// Users through the machine's real NSS: few names are asked for by key, many answered by one enumeration.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exec } from '../../helper/src/system/exec.js';
import { lookupUsers } from '../../helper/src/system/nss.js';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

describe('user lookup through NSS', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  before(async () => {
    sb = await Sandbox.create();
    [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
  });
  after(async () => sb?.cleanup());

  for (const unknown of [3, 500]) {
    test(`${unknown} unknown names beside two real users: exactly the real ones, with their uid and gid`, async () => {
      const names = [alice.name, ...Array.from({ length: unknown }, (_, i) => `cgnobody${i}`), bob.name, alice.name];
      const found = await lookupUsers(exec, names);
      assert.deepEqual(
        [...found.values()].sort((a, b) => a.uid - b.uid),
        [alice, bob].map((u) => ({ name: u.name, uid: u.uid, gid: u.gid })).sort((a, b) => a.uid - b.uid),
      );
    });
  }

  test('a user enumeration does not list is still found by key', async () => {
    const found = await lookupUsers(exec, [alice.name, bob.name], [{ name: bob.name, uid: bob.uid, gid: bob.gid }]);
    assert.equal(found.get(alice.name)?.uid, alice.uid);
    assert.equal(found.get(bob.name)?.uid, bob.uid);
  });
});
