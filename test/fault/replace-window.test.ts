// Replacing the nft table must never leave a moment without protection (issue 6). A never-entitled probe
// hammers a protected port while the table is switched back and forth between two policies as fast as nft
// loads. Deleting and re-creating the table in one transaction lets such a probe through (several hundred
// SYNs in ~3,000 loads here, see helper/src/plan/nft-replace.ts); the in-place replacement must let none.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { nftListOwned, nftReplace } from '../../helper/src/apply/nft.js';
import type { FirewallModel, Tuple } from '../../helper/src/plan/firewall-model.js';
import { renderNft } from '../../helper/src/plan/nft.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { startProbe, type Probe } from './support/harness.js';

const unavailable = await rootTestsUnavailable();
const LOADS = Number(process.env.FAULT_REPLACE_LOADS ?? 600);
const CONTROL_PORT = 21000;

describe('in-place nft replacement', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser, mallory: TestUser;
  let probe: Probe | null = null;

  before(async () => {
    sb = await Sandbox.create();
    [alice, bob, mallory] = [await sb.addUser('a'), await sb.addUser('b'), await sb.addUser('m')];
    await sb.listen([20002, 20004, CONTROL_PORT]);
  });
  after(async () => {
    await probe?.stop().catch(() => undefined);
    await sb?.cleanup();
  });

  const policy = (who: TestUser, when: string) =>
    sb.policy(`servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
vms:
  vm1: { server: s4, tls-port: 20002 }
  vm2: { server: s4, tls-port: 20004 }
entitlements:
  - { vm: vm1, users: [${who.name}]${when} }
  - { vm: vm2, users: [${who.name}] }
`);

  /** Loads the two listings in turn LOADS times while mallory (with the viewer gid) probes 20002 and 20004. */
  const alternate = async (t: TestContext, tables: string[], gid: number, violation: string) => {
    // Many targets per cycle: the probe's short breath between cycles then costs little probing time.
    probe = await startProbe(sb, mallory, gid, CONTROL_PORT, Array.from({ length: 20 }, (_, i) => `127.0.0.1:${i % 2 ? 20004 : 20002}`));
    for (let i = 0; i < LOADS; i++) await nftReplace(inNs(sb), tables[i % 2]!);
    const result = await probe.stop();
    probe = null;
    t.diagnostic(`${result.cycles} probe cycles (${result.cycles * 20} protected connects), ${result.control} control connects`);

    assert.ok(result.control >= 50, `the probe barely ran (${result.control} control connects); it proves nothing`);
    assert.deepEqual(result.violations, [], violation);
    // And the last load left exactly the table it was given.
    assert.equal(await nftListOwned(inNs(sb)), tables[(LOADS - 1) % 2]);
  };

  test(`${LOADS} loads alternating two policies: a never-entitled probe never connects`, async (t) => {
    // The two tables differ in elements and in their sets (B has a time-window set A lacks).
    const tables: string[] = [];
    for (const text of [policy(alice, ''), policy(bob, ', when: { days: [Mon, Tue, Wed, Thu, Fri], hours: "07:00-19:00" }')]) {
      await sb.writePolicy(text);
      const r = await sb.helper(['apply']);
      assert.equal(r.code, 0, r.stderr);
      tables.push((await nftListOwned(inNs(sb)))!);
    }
    assert.notEqual(tables[0], tables[1]);

    await alternate(t, tables, await sb.viewerGid(), 'a never-entitled process connected while the table was being replaced');
  });

  test(`${LOADS} loads alternating uid classes and plain tuples (a class made and unmade each time): the probe never connects`, async (t) => {
    // 10 uids × 9 endpoints is a class (plan/nft-classes.ts); 9 × 9 is not. Switching makes and deletes the class's
    // chain, set and map in the same transactions that refill the tuple set.
    const ports = [20002, 20004, 20010, 20011, 20012, 20013, 20014, 20015, 20016];
    // An apply creates the viewer group (and runs on its own too, if this test is run alone).
    await sb.writePolicy(policy(alice, ''));
    assert.equal((await sb.helper(['apply'])).code, 0);
    const gid = await sb.viewerGid();
    const model = (members: number): FirewallModel => {
      const v4: Tuple[] = [];
      for (let i = 0; i < members; i++) for (const port of ports) v4.push({ uid: 3_100_000 + i, addr: '127.0.0.1', port });
      return { viewerGid: gid, groups: [{ name: 'allow', slots: null, v4, v6: [] }], ports: [{ from: 20000, to: 20999 }], log: false };
    };
    const texts = [renderNft(model(10)), renderNft(model(9))];
    assert.match(texts[0]!, /vmap @allow_classes/);
    assert.doesNotMatch(texts[1]!, /vmap/);
    const tables: string[] = [];
    for (const text of texts) {
      await nftReplace(inNs(sb), text);
      tables.push((await nftListOwned(inNs(sb)))!);
    }
    await alternate(t, tables, gid, 'a never-entitled process connected while classes were made and unmade');
  });
});

/** Runs commands inside the sandbox's network namespace, as the helper would run them on a host. */
function inNs(sb: Sandbox): Exec {
  return (argv, options) => exec(['ip', 'netns', 'exec', sb.ns, ...argv], options);
}
