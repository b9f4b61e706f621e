// Issue 15: reading a VM's bridge port and console ports from a recorded `virsh dumpxml`, carefully.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDomainXml, type DomainInfo } from '../../helper/src/host/libvirt.js';
import { hostModel, type Domains } from '../../helper/src/host/model.js';
import { parseXml } from '../../helper/src/host/xml.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';

const WEB1 = readFileSync(new URL('../fixtures/libvirt/web1.xml', import.meta.url), 'utf8');

test('a running domain: its bridge port (not the user-mode NIC), MAC in lower case, nwfilter addresses, SPICE ports', () => {
  assert.deepEqual(parseDomainXml(WEB1), {
    name: 'Web-1',
    interfaces: [{ dev: 'vnet7', mac: '52:54:00:6b:3c:21', source: 'br0', ips: [{ family: 4, text: '192.0.2.21' }, { family: 6, text: '2001:db8::21' }] }],
    consolePorts: [5907, 5908],
    rejected: [],
  });
});

test('a stopped domain has no port name and unallocated console ports', () => {
  const stopped = WEB1.replace("<target dev='vnet7'/>", '').replace("port='5907' tlsPort='5908'", "port='-1' tlsPort='-1'");
  const d = parseDomainXml(stopped);
  assert.equal(d.interfaces[0]!.dev, null);
  assert.deepEqual(d.consolePorts, []);
});

test('hostile values from libvirt are dropped, never passed on', () => {
  const evil = WEB1.replace("<target dev='vnet7'/>", `<target dev='vnet7"; accept'/>`)
    .replace("address='52:54:00:6B:3C:21'", "address='ff:ff:ff:ff:ff:ff'")
    .replace("value='192.0.2.21'", "value='192.0.2.0/24'")
    .replace("tlsPort='5908'", "tlsPort='99999'");
  const d = parseDomainXml(evil);
  assert.deepEqual(d.interfaces[0], { dev: null, mac: null, source: 'br0', ips: [{ family: 6, text: '2001:db8::21' }] });
  assert.deepEqual(d.consolePorts, [5907]);
  assert.equal(d.rejected.length, 4, d.rejected.join('\n'));
});

test('entities are decoded; malformed XML, declarations and foreign documents are refused', () => {
  assert.equal(parseXml(`<a b='x&amp;y&#x41;&#66;'>t&lt;</a>`).attrs.get('b'), 'x&yAB');
  for (const bad of [
    '<!DOCTYPE domain [<!ENTITY x "y">]><domain/>',
    '<domain><name>a</domain>',
    '<domain/><domain/>',
    '<domain a="1" a="2"/>',
    '<domain a="&bogus;"/>',
    '<domain a="&"/>',
    '<domain><name>a</name>',
    'junk<domain/>',
    '<domain a=1/>',
  ]) {
    assert.throws(() => parseXml(bad), /XML:/, bad);
  }
  assert.throws(() => parseDomainXml('<network><name>default</name></network>'), /expected a <domain>/);
});

const POLICY = `version: 1
clients: [198.51.100.0/24]
servers:
  hv: { host: 192.0.2.1, ca: /etc/ca.pem, host-subject: "CN=hv" }
vms:
  web1: { server: hv, tls-port: 5908, domain: Web-1, bridge-port: { ips: [192.0.2.21] } }
  db: { server: hv, tls-port: 5910 }
`;

function policy(text: string) {
  const p = parseFragment('p.yaml', text);
  const m = mergeFragments([p.fragment]);
  assert.deepEqual([...p.diagnostics, ...m.diagnostics], []);
  return m.policy;
}

test('the model takes name and MAC from libvirt, addresses from the policy, and adds libvirt console ports', () => {
  const domains: Domains = new Map<string, DomainInfo | string | null>([
    ['web1', parseDomainXml(WEB1)],
    ['db', 'virsh dumpxml db: error: failed to get domain'],
  ]);
  const m = hostModel(policy(POLICY), 'hv', domains);
  assert.deepEqual(m.ports, [5907, 5908, 5910]);
  assert.deepEqual(m.guests, [{ vm: 'web1', port: 'vnet7', mac: '52:54:00:6b:3c:21', v4: ['192.0.2.21'], v6: [] }]);
  assert.equal(m.warnings.length, 1);
  assert.match(m.warnings[0]!, /db.*failed to get domain/);
});

test('without libvirt a VM without bridge port is left unbound with a warning; one libvirt cannot pin down is an error', () => {
  const none = hostModel(policy(POLICY), 'hv', new Map([['web1', null], ['db', null]]));
  assert.deepEqual(none.guests, []);
  assert.equal(none.warnings.length, 2);
  const twoNics = parseDomainXml(WEB1.replace("<interface type='user'>", "<interface type='network'>"));
  assert.throws(() => hostModel(policy(POLICY), 'hv', new Map([['web1', twoNics]])), (e: Error & { diagnostics?: { message: string }[] }) =>
    /has 2 bridge\/network interfaces/.test(e.diagnostics?.[0]?.message ?? ''),
  );
});
