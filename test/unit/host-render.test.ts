// Issue 15: the host tables as text, the in-place script, and the CLI's usage errors for `host`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../helper/src/cli.js';
import { eui64LinkLocal, type HostModel } from '../../helper/src/host/model.js';
import { hostScript } from '../../helper/src/host/nft.js';
import { renderDenyOnly, renderHost } from '../../helper/src/host/render.js';

const MODEL: HostModel = {
  server: 'hv',
  ports: [5900, 5901],
  clientsV4: ['198.51.100.0/24'],
  clientsV6: ['2001:db8:1::/64'],
  guests: [{ vm: 'web1', port: 'vnet0', mac: '52:54:00:00:00:01', v4: ['192.0.2.10'], v6: ['2001:db8::10', 'fe80::5054:ff:fe00:1'] }],
  log: true,
  warnings: [],
};

test('console ports admit only the clients; everything else is logged and reset', () => {
  const { inet } = renderHost(MODEL);
  assert.match(inet, /elements = \{ 198\.51\.100\.0\/24 \}/);
  assert.match(inet, /elements = \{ 2001:db8:1::\/64 \}/);
  assert.match(inet, /elements = \{ 5900, 5901 \}/);
  assert.match(inet, /\tchain console \{\n\t\tip saddr @clients_v4 accept\n\t\tip6 saddr @clients_v6 accept\n.*log prefix "consolegate-host-deny "\n\t\treject with tcp reset/);
  const deny = renderDenyOnly(MODEL);
  assert.doesNotMatch(deny, /198\.51\.100|2001:db8:1::/);
  assert.match(deny, /elements = \{ 5900, 5901 \}/);
});

test('a guest port returns only its own MAC and addresses, NDP targets included, and ends in log + drop', () => {
  const { bridge } = renderHost(MODEL);
  assert.match(bridge, /elements = \{ "vnet0" : jump vm_web1 \}/);
  const chain = /\tchain vm_web1 \{\n([^}]*(?:\{[^}]*\}[^}]*)*)\n\t\}/.exec(bridge)?.[1] ?? '';
  const rules = chain.split('\n').map((l) => l.trim());
  assert.equal(rules[0], 'ether saddr != 52:54:00:00:00:01 goto deny_web1');
  assert.ok(rules.includes('arp saddr ether 52:54:00:00:00:01 arp saddr ip 192.0.2.10 return'));
  assert.ok(rules.includes('icmpv6 type nd-neighbor-advert @th,64,128 != { 0x20010db8000000000000000000000010, 0xfe80000000000000505400fffe000001 } goto deny_web1'));
  assert.equal(rules[rules.length - 1], 'goto deny_web1');
  assert.match(bridge, /\tchain deny_web1 \{\n\t\tlimit rate \S+ burst \d+ packets log prefix "consolegate-host-spoof vm=web1 "\n\t\tdrop\n\t\}/);
});

test('a later apply fills the live tables in place; the deny-only fallback drops stale bindings', () => {
  const t = renderHost(MODEL);
  const script = hostScript({ inet: t.inet, bridge: t.bridge }, t);
  assert.doesNotMatch(script, /delete table/);
  assert.match(script, /flush chain inet consolegate-host console/);
  assert.match(script, /flush chain bridge consolegate-host vm_web1/);
  assert.match(hostScript({ inet: null, bridge: t.bridge }, { inet: renderDenyOnly(MODEL), bridge: null }), /delete table bridge consolegate-host/);
});

test('EUI-64 link-local addresses are canonical', () => {
  assert.equal(eui64LinkLocal('52:54:00:00:00:01'), 'fe80::5054:ff:fe00:1');
  assert.equal(eui64LinkLocal('02:00:00:00:00:01'), 'fe80::ff:fe00:1');
});

test('`host` usage errors exit 64 before anything is read', async () => {
  const env = { CONSOLEGATE_POLICY: '/nonexistent/policy.yaml' };
  const quiet = process.stderr.write;
  process.stderr.write = () => true;
  try {
    assert.equal(await main(['host'], env), 64);
    assert.equal(await main(['host', 'frobnicate', '--server', 'hv'], env), 64);
    assert.equal(await main(['host', 'apply'], env), 64);
    assert.equal(await main(['host', 'status', '--server', 'HV; rm -rf /'], env), 64);
    assert.equal(await main(['host', 'status', 'extra', '--server', 'hv'], env), 64);
    assert.equal(await main(['status', 'extra'], env), 64);
    // A well-formed request reaches the policy loader: unreadable → 1.
    assert.equal(await main(['host', 'status', '--server', 'hv'], env), 1);
  } finally {
    process.stderr.write = quiet;
  }
});
