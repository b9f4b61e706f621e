// uids entitled to the same endpoints share one rule (plan/nft-classes.ts): a map from uid to the class's chain,
// which matches the endpoints. Real nft, real connections: a class grants exactly its members' tuples, classes come
// and go with membership (in place, one transaction), and a foreign element in the class map is drift.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

// 10 members × 9 endpoints: 90 tuples against 10 + 9 elements as a class, which clears CLASS_MIN_SAVING (64);
// with 9 members (81 against 18) it does not, and the grants go back to plain tuples.
const V4_PORTS = [20100, 20101, 20102, 20103, 20104, 20105, 20106, 20107];
const V6_PORT = 20108;
const SOLO_PORT = 20110;

describe('uid classes in nft', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let members: TestUser[];
  let outsider: TestUser;
  let group: string;
  let gid: number;

  const nft = async (args: string[]) => {
    const r = await sb.run(['nft', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const listing = () => nft(['-s', 'list', 'table', 'inet', 'consolegate']);
  const apply = async () => {
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
  };
  const status = async () => (await sb.helper(['status'])).code;
  /** Which of the class's endpoints `user` reaches with the viewer gid. */
  const reached = async (user: TestUser) => {
    const out: string[] = [];
    for (const port of V4_PORTS) if (await sb.connect('127.0.0.1', port, user, gid)) out.push(`127.0.0.1:${port}`);
    if (await sb.connect('::1', V6_PORT, user, gid)) out.push(`[::1]:${V6_PORT}`);
    return out;
  };
  const ALL = [...V4_PORTS.map((p) => `127.0.0.1:${p}`), `[::1]:${V6_PORT}`];

  before(async () => {
    sb = await Sandbox.create();
    members = [];
    for (let i = 0; i < 10; i++) members.push(await sb.addUser(`m${i}`));
    outsider = await sb.addUser('o');
    group = await sb.addGroup('team', members);
    await sb.listen([...V4_PORTS, V6_PORT, SOLO_PORT]);
    const vms = V4_PORTS.map((p, i) => `  c${i}: { server: s4, tls-port: ${p} }`).join('\n');
    await sb.writePolicy(
      sb.policy(`servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
  s6: { host: "::1", ca: $CA, host-subject: "CN=s6" }
vms:
${vms}
  c6v6: { server: s6, tls-port: ${V6_PORT} }
  solo: { server: s4, tls-port: ${SOLO_PORT} }
entitlements:
${V4_PORTS.map((_, i) => `  - { vm: c${i}, groups: [${group}] }`).join('\n')}
  - { vm: c6v6, groups: [${group}] }
  - { vm: solo, users: [${outsider.name}] }
`),
    );
    await apply();
    gid = await sb.viewerGid();
  });
  after(async () => sb?.cleanup());

  test('the members are one class: a map entry each, their endpoints once, no tuple of theirs', async () => {
    const text = await listing();
    assert.match(text, /meta skuid vmap @allow_classes/);
    for (const m of members) assert.match(text, new RegExp(`\\b${m.uid} : jump allow_c[0-9a-f]{12}\\b`));
    for (const m of members) assert.doesNotMatch(text, new RegExp(`\\b${m.uid} \\. `), 'a member is still a tuple');
    assert.match(text, new RegExp(`\\b${outsider.uid} \\. 127\\.0\\.0\\.1 \\. ${SOLO_PORT}\\b`), 'the outsider stays a tuple');
    assert.equal(await status(), 0);
  });

  test('every member reaches every class endpoint, IPv4 and IPv6, and nothing else', async () => {
    for (const m of [members[0]!, members[9]!]) {
      assert.deepEqual(await reached(m), ALL, m.name);
      assert.equal(await sb.connect('127.0.0.1', SOLO_PORT, m, gid), false, `${m.name} reached the outsider's VM`);
      assert.equal(await sb.connect('127.0.0.1', V4_PORTS[0]!, m), false, `${m.name} connected without the viewer group`);
    }
  });

  test('a uid outside the class reaches none of its endpoints, and its own tuple still works', async () => {
    assert.deepEqual(await reached(outsider), []);
    assert.equal(await sb.connect('127.0.0.1', SOLO_PORT, outsider, gid), true);
  });

  test('a member leaving the group loses access; the class falls back to tuples, in place', async () => {
    const leaver = members[9]!;
    assert.equal((await sb.run(['gpasswd', '-d', leaver.name, group])).code, 0);
    await apply();
    const text = await listing();
    assert.doesNotMatch(text, /vmap|allow_c[0-9a-f]/, 'nine members are not worth a class');
    assert.deepEqual(await reached(leaver), []);
    assert.deepEqual(await reached(members[0]!), ALL);
    assert.equal(await status(), 0);
  });

  test('joining again makes the class again; access follows', async () => {
    const joiner = members[9]!;
    assert.equal((await sb.run(['gpasswd', '-a', joiner.name, group])).code, 0);
    await apply();
    assert.match(await listing(), /meta skuid vmap @allow_classes/);
    assert.deepEqual(await reached(joiner), ALL);
    assert.equal(await status(), 0);
  });

  test('restore at boot loads the classes from firewall.json alone, in one transaction', async () => {
    await nft(['delete', 'table', 'inet', 'consolegate']);
    assert.deepEqual(await reached(outsider), ALL, 'without our table nothing is refused: the test proves nothing');
    const r = await sb.helper(['restore']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await listing(), /meta skuid vmap @allow_classes/);
    assert.deepEqual(await reached(members[0]!), ALL);
    assert.deepEqual(await reached(outsider), []);
    assert.equal(await status(), 0);
  });

  test('a foreign entry in the class map is drift: status says so, apply takes it out', async () => {
    const chain = /jump (allow_c[0-9a-f]{12})/.exec(await listing())![1]!;
    await nft(['add', 'element', 'inet', 'consolegate', 'allow_classes', `{ ${outsider.uid} : jump ${chain} }`]);
    assert.deepEqual(await reached(outsider), ALL, 'the foreign entry did not take effect: the test proves nothing');
    assert.equal(await status(), 3);
    await apply();
    assert.deepEqual(await reached(outsider), []);
    assert.equal(await status(), 0);
  });
});
