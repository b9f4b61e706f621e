// The iptables backend cannot be shadowed (issue 10, finding 6): a foreign rule placed ahead of our jump in
// OUTPUT or FORWARD decides before we do. `status` reports it (exit 3) and `apply` puts our jump first again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

describe('iptables: our jump stays first', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let bob: TestUser;

  /** The first rule of a built-in chain as `iptables -S` prints it. */
  const firstRule = async (tool: string, chain: string) => (await sb.run([tool, '-S', chain])).stdout.split('\n').find((l) => l.startsWith(`-A ${chain} `));

  before(async () => {
    sb = await Sandbox.create();
    const alice = await sb.addUser('a');
    bob = await sb.addUser('b');
    await sb.listen([20002]);
    await sb.writePolicy(
      sb.policy(
        `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
vms:
  vm1: { server: s4, tls-port: 20002 }
entitlements:
  - { vm: vm1, users: [${alice.name}] }
`,
        { backend: 'iptables' },
      ),
    );
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => sb?.cleanup());

  for (const [tool, chain] of [['iptables', 'OUTPUT'], ['ip6tables', 'OUTPUT'], ['iptables', 'FORWARD'], ['ip6tables', 'FORWARD']] as const) {
    test(`a foreign ACCEPT inserted first in ${tool} ${chain}: status exits 3, apply puts our jump first again`, async () => {
      assert.equal((await sb.helper(['status'])).code, 0);
      const ours = await firstRule(tool, chain);
      assert.match(ours ?? '', /^-A \S+ -j CONSOLEGATE/, `after apply our jump is first in ${chain}`);
      const foreign = await sb.run([tool, '-I', chain, '1', '-p', 'tcp', '-j', 'ACCEPT']);
      assert.equal(foreign.code, 0, foreign.stderr);
      if (tool === 'iptables' && chain === 'OUTPUT') {
        assert.equal(await sb.connect('127.0.0.1', 20002, bob), true, 'the foreign rule does shadow ours (otherwise this test proves nothing)');
      }

      const status = await sb.helper(['status']);
      assert.equal(status.code, 3, `status must report the shadowing jump: ${status.stdout}`);
      assert.match(status.stdout, /firewall/);
      assert.equal((await sb.helper(['plan'])).code, 2);

      const fixed = await sb.helper(['apply']);
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.doesNotMatch(fixed.stdout, /up to date/);
      assert.equal(await firstRule(tool, chain), ours, 'our jump is first again');
      const rules = (await sb.run([tool, '-S', chain])).stdout;
      assert.equal(rules.split('\n').filter((l) => / -j CONSOLEGATE(-FWD)?$/.test(l)).length, 1, `exactly one jump of ours:\n${rules}`);
      assert.match(rules, /-A \S+ -p tcp -j ACCEPT/, 'the foreign rule is kept, after ours');
      if (chain === 'OUTPUT' && tool === 'iptables') assert.equal(await sb.connect('127.0.0.1', 20002, bob), false, 'bob is refused again');
      assert.equal((await sb.helper(['status'])).code, 0);
      assert.equal((await sb.run([tool, '-D', chain, '-p', 'tcp', '-j', 'ACCEPT'])).code, 0);
    });
  }
});
