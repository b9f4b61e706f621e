// Issue 15: the host-mode policy keys (`clients`, `bridge-port`, `domain`) — strict, at file:line:col, ignored by the client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { formatDiagnostic } from '../../helper/src/errors.js';
import { parseCidr, parseGuestAddress } from '../../helper/src/policy/host-names.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { fakeFacts } from './facts.js';

const BASE = `version: 1
servers:
  s1: { host: 10.0.0.1, ca: /etc/ca.pem, host-subject: "CN=s1" }
`;

function load(text: string) {
  const parsed = parseFragment('p.yaml', text);
  const merged = mergeFragments([parsed.fragment]);
  return { policy: merged.policy, errors: [...parsed.diagnostics, ...merged.diagnostics].map(formatDiagnostic) };
}

test('a full host-mode policy is valid and normalised', () => {
  const { policy, errors } = load(`${BASE}clients: [192.0.2.0/24, "2001:DB8:0:0::/64", 198.51.100.7]
vms:
  vm1:
    server: s1
    tls-port: 20002
    domain: Debian-X
    bridge-port: { name: vnet3, mac: "52:54:00:AB:cd:01", ips: [192.0.2.10, "2001:db8:0::10"] }
`);
  assert.deepEqual(errors, []);
  assert.deepEqual(policy.clients?.map((c) => c.text), ['192.0.2.0/24', '2001:db8::/64', '198.51.100.7']);
  const vm = policy.vms.get('vm1')!;
  assert.equal(vm.domain, 'Debian-X');
  assert.deepEqual({ ...vm.bridgePort, pos: undefined }, { name: 'vnet3', mac: '52:54:00:ab:cd:01', ips: [{ family: 4, text: '192.0.2.10' }, { family: 6, text: '2001:db8::10' }], pos: undefined });
});

test('bad interface names, MACs, addresses and networks are rejected at their position', () => {
  const { errors } = load(`${BASE}clients: [10.0.0.1/8, "fe80::/129", example.org, "10.0.0.0/24; drop"]
vms:
  vm1:
    server: s1
    tls-port: 20002
    bridge-port: { name: "vnet0\\"; accept", mac: "01:00:5e:00:00:01", ips: [224.0.0.1, "::", 0.0.0.0] }
  vm2: { server: s1, tls-port: 20004, bridge-port: { name: averyveryverylongname, mac: "52:54:00:00:00:0g" } }
  vm3: { server: s1, tls-port: 20006, domain: "a b" }
`);
  assert.deepEqual(errors, [
    'p.yaml:9:26: Invalid `bridge-port.name` `vnet0\\"; accept`: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ (an interface name of at most 15 characters)',
    'p.yaml:9:50: Invalid `bridge-port.mac` `01:00:5e:00:00:01`: is a multicast/broadcast address, not a guest NIC',
    'p.yaml:9:77: Invalid guest address `224.0.0.1`: must be a unicast IPv4 address',
    'p.yaml:9:88: Invalid guest address `::`: must not be the unspecified address',
    'p.yaml:9:94: Invalid guest address `0.0.0.0`: must not be the unspecified address',
    'p.yaml:10:60: Invalid `bridge-port.name` `averyveryverylongname`: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ (an interface name of at most 15 characters)',
    'p.yaml:10:88: Invalid `bridge-port.mac` `52:54:00:00:00:0g`: must be six colon-separated hex octets like 52:54:00:12:34:56',
    'p.yaml:11:47: Invalid `domain` `a b`: must match ^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$',
    'p.yaml:4:11: Invalid client network `10.0.0.1/8`: has host bits set; the network is 10.0.0.0/8',
    'p.yaml:4:23: Invalid client network `fe80::/129`: prefix must be 0-128',
    'p.yaml:4:37: Invalid client network `example.org`: must be an IPv4 or IPv6 address, optionally with /prefix (like 192.0.2.0/24 or 2001:db8::/64)',
    'p.yaml:4:50: Invalid client network `10.0.0.0/24; drop`: must be an IPv4 or IPv6 address, optionally with /prefix (like 192.0.2.0/24 or 2001:db8::/64)',
  ]);
});

test('a port, MAC or address bound to two VMs of one server is an error at the second', () => {
  const { errors } = load(`${BASE}  s2: { host: 10.0.0.2, ca: /etc/ca.pem, host-subject: "CN=s2" }
vms:
  vm1: { server: s1, tls-port: 20002, bridge-port: { name: vnet0, mac: "52:54:00:00:00:01", ips: [192.0.2.10] } }
  vm2: { server: s1, tls-port: 20004, bridge-port: { name: vnet1, mac: "52:54:00:00:00:01", ips: [192.0.2.10] } }
  vm3: { server: s2, tls-port: 20004, bridge-port: { name: vnet0, mac: "52:54:00:00:00:01", ips: [192.0.2.10] } }
`);
  assert.deepEqual(errors, [
    'p.yaml:7:39: VM `vm2` uses MAC 52:54:00:00:00:01 on server `s1`, already used by VM `vm1` at p.yaml:6:39',
    'p.yaml:7:39: VM `vm2` uses address 192.0.2.10 on server `s1`, already used by VM `vm1` at p.yaml:6:39',
  ]);
});

test('clients from several fragments add up; a policy without them has none', () => {
  const a = parseFragment('a.yaml', 'clients: [192.0.2.0/24]\n').fragment;
  const b = parseFragment('b.yaml', 'clients: ["2001:db8::1"]\n').fragment;
  assert.deepEqual(mergeFragments([a, b]).policy.clients?.map((c) => c.text), ['192.0.2.0/24', '2001:db8::1']);
  assert.deepEqual(mergeFragments([parseFragment('c.yaml', BASE).fragment]).policy.clients, []);
});

test('address parsing: IPv6 forms, embedded IPv4, prefixes', () => {
  assert.deepEqual(parseCidr('::ffff:192.0.2.0/120'), { family: 6, text: '::ffff:c000:200/120' });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { family: 4, text: '0.0.0.0/0' });
  assert.deepEqual(parseCidr('2001:db8:0:1:0:0:0:0/64'), { family: 6, text: '2001:db8:0:1::/64' });
  assert.equal(typeof parseCidr('192.0.2.0/024'), 'string');
  assert.equal(typeof parseCidr('192.0.2.0/33'), 'string');
  assert.deepEqual(parseGuestAddress('fe80::5054:ff:fe00:1'), { family: 6, text: 'fe80::5054:ff:fe00:1' });
  assert.equal(typeof parseGuestAddress('::1'), 'string');
  assert.equal(typeof parseGuestAddress('127.0.0.1'), 'string');
});

test('the schema accepts the host keys and rejects what the loader rejects', () => {
  const schema = JSON.parse(readFileSync(new URL('../../helper/schema/policy.schema.json', import.meta.url), 'utf8'));
  const validate = new Ajv2020({ allErrors: true }).compile(schema);
  const good = parse(`clients: [192.0.2.0/24, "2001:db8::/64"]
vms: { vm1: { server: s1, tls-port: 1, domain: Debian-X, bridge-port: { name: vnet3, mac: "52:54:00:ab:cd:01", ips: [192.0.2.10] } } }
`);
  assert.equal(validate(good), true, JSON.stringify(validate.errors));
  for (const bad of [
    { clients: ['example.org'] },
    { clients: '192.0.2.0/24' },
    { vms: { vm1: { server: 's1', 'tls-port': 1, 'bridge-port': { name: 'vnet0"; accept' } } } },
    { vms: { vm1: { server: 's1', 'tls-port': 1, 'bridge-port': { mac: '01:00:5e:00:00:01' } } } },
    { vms: { vm1: { server: 's1', 'tls-port': 1, 'bridge-port': { port: 'vnet0' } } } },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});

test('the client side ignores the host keys: the same plan with or without them', () => {
  const plain = `version: 1
servers:
  mysrv: { host: mysrv.example.org, ca: /etc/ca.pem, host-subject: "CN=mysrv" }
vms:
  debianx: { server: mysrv, tls-port: 20002 }
entitlements:
  - { vm: debianx, users: [myself] }
`;
  const withHost = plain
    .replace('debianx: { server: mysrv, tls-port: 20002 }', 'debianx: { server: mysrv, tls-port: 20002, domain: Debian-X, bridge-port: { name: vnet3, mac: "52:54:00:12:34:56", ips: [192.0.2.20] } }')
    .concat('clients: [198.51.100.0/24]\n');
  const planOf = (text: string) => {
    const { policy, errors } = load(text);
    assert.deepEqual(errors, []);
    const p = makePlan(policy, fakeFacts(), { backend: 'nftables', openConsole: '/usr/libexec/consolegate/open-console', stateDirArg: null });
    return { nft: p.nft, sudoers: p.sudoers, table: p.table, views: [...p.views] };
  };
  assert.notEqual(withHost, plain);
  assert.deepEqual(planOf(withHost), planOf(plain));
});
