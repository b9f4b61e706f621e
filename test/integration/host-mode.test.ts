// Issue 15: the same policy applied on the hypervisor, with real packets. A "hypervisor" namespace holds a Linux
// bridge and a real QEMU SPICE/TLS server; two "guest" namespaces hang on the bridge as VM ports; the managed
// client is the sandbox (client-side consolegate applied from the same policy file); a second managed client and
// an unmanaged machine are plain namespaces on the bridge.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressBytes } from '../../helper/src/policy/host-names.js';
import { exec, type ExecResult } from '../../helper/src/system/exec.js';
import { missingLine, type Tool } from '../e2e/support/deps.js';
import { makeServerPki } from '../e2e/support/pki.js';
import { startSpiceVm, type SpiceVm } from '../e2e/support/qemu.js';
import { HELPER, ROOT, Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const TOOLS: Tool[] = [
  { name: 'QEMU', path: '/usr/bin/qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { name: 'SeaBIOS', path: '/usr/share/seabios/bios-256k.bin', pkg: 'seabios' },
  { name: 'openssl', path: '/usr/bin/openssl', pkg: 'openssl' },
  { name: 'python3', path: '/usr/bin/python3', pkg: 'python3-minimal' },
];
const unavailable = (await rootTestsUnavailable()) ?? missingLine(TOOLS);
const FORGE = path.join(ROOT, 'test/fixtures/host-forge.py');

const HV = { v4: '10.77.0.1', v6: 'fd77::1' };
const GUESTS = {
  g1: { mac: '52:54:00:77:00:11', v4: '10.77.0.11', v6: 'fd77::11' },
  g2: { mac: '52:54:00:77:00:12', v4: '10.77.0.12', v6: 'fd77::12' },
};
const CLIENT = { v4: '10.77.0.50', v6: 'fd77::50' }; // the sandbox: consolegate on the client side
const MANAGED2 = { v4: '10.77.0.53', v6: 'fd77::53' }; // managed, no client side installed (host-side checks)
const UNMANAGED = { v4: '10.77.0.60', v6: 'fd77::60' };
const SPOOF_IP = '10.77.0.51'; // inside the managed range, used by nobody
const PORTS = { spice: 5931, plain: 5933, other: 7000 };
/** An address as the kernel's LOG target writes it (IPv6 in full), escaped for a RegExp. */
const logged = (addr: string) => {
  const b = addressBytes(addr)!;
  const text = b.length === 4 ? b.join('.') : Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16).padStart(4, '0')).join(':');
  return text.replaceAll('.', '\\.');
};

async function must(argv: string[]): Promise<string> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

describe('host mode on a hypervisor with a bridge, guests and a SPICE/TLS VM', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser;
  let hv: string, g1: string, g2: string, m2: string, un: string;
  let vm: SpiceVm | null = null;
  let listener: ChildProcess | null = null;
  const namespaces: string[] = [];

  const inNs = (ns: string, argv: string[]) => ['ip', 'netns', 'exec', ns, ...argv];
  const hostHelper = (args: string[]): Promise<ExecResult> =>
    exec(inNs(hv, ['node', HELPER, 'host', ...args]), {
      env: { ...process.env, CONSOLEGATE_POLICY: sb.policyFile, CONSOLEGATE_POLICY_DIR: path.join(sb.dir, 'policy.d'), CONSOLEGATE_STATE_DIR: path.join(sb.dir, 'hoststate'), CONSOLEGATE_VIRSH: path.join(sb.dir, 'virsh') },
    });
  /** 0 connected, 1 refused (reset), 2 timed out (dropped). */
  const connectFrom = async (ns: string, src: string, dst: string, port: number) => (await exec(inNs(ns, ['python3', FORGE, 'connect', src, dst, String(port)]))).code;
  const forge = (ns: string, args: string[]) => must(inNs(ns, ['python3', FORGE, ...args]));
  const neighbour = async (addr: string) => (await must(['ip', '-n', hv, 'neigh', 'show', 'to', addr])).trim();
  const flushNeighbours = () => must(['ip', '-n', hv, 'neigh', 'flush', 'dev', 'br0']);
  /** Kernel log lines after a marker written now, polled until `re` shows up (or ~2 s). */
  const logAfter = async (marker: string, re: RegExp): Promise<string> => {
    let log = '';
    for (let i = 0; i < 20 && !re.test(log); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const all = await must(['dmesg']);
      log = all.slice(all.lastIndexOf(marker));
    }
    return log;
  };
  const mark = async (what: string) => {
    const marker = `cghost${sb.id}${what}${Date.now()}`;
    await must(['sh', '-c', `echo ${marker} > /dev/kmsg`]);
    return marker;
  };

  /** A namespace with `eth0` attached to the hypervisor's bridge through port `port`. */
  async function attach(ns: string, port: string, addr: { v4: string; v6: string }, mac?: string) {
    if (!namespaces.includes(ns)) {
      await must(['ip', 'netns', 'add', ns]);
      namespaces.push(ns);
    }
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', hv, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await must(['ip', '-n', hv, 'link', 'set', port, 'master', 'br0', 'up']);
    if (mac) await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', mac]);
    await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await must(['ip', '-n', ns, 'addr', 'add', `${addr.v4}/24`, 'dev', 'eth0']);
    await must(['ip', '-n', ns, 'addr', 'add', `${addr.v6}/64`, 'dev', 'eth0', 'nodad']);
  }

  before(async () => {
    sb = await Sandbox.create();
    [alice, bob] = [await sb.addUser('a'), await sb.addUser('b')];
    [hv, g1, g2, m2, un] = ['hv', 'g1', 'g2', 'm2', 'un'].map((n) => `${sb.ns}-${n}`) as [string, string, string, string, string];
    await must(['ip', 'netns', 'add', hv]);
    namespaces.push(hv);
    await must(['ip', '-n', hv, 'link', 'set', 'lo', 'up']);
    await must(['ip', '-n', hv, 'link', 'add', 'br0', 'type', 'bridge']);
    await must(['ip', '-n', hv, 'link', 'set', 'br0', 'up']);
    await must(['ip', '-n', hv, 'addr', 'add', `${HV.v4}/24`, 'dev', 'br0']);
    await must(['ip', '-n', hv, 'addr', 'add', `${HV.v6}/64`, 'dev', 'br0', 'nodad']);
    await attach(g1, 'vg1', GUESTS.g1, GUESTS.g1.mac);
    await must(['ip', '-n', g1, 'addr', 'add', `${SPOOF_IP}/32`, 'dev', 'eth0']); // what a guest would try
    await attach(g2, 'vg2', GUESTS.g2, GUESTS.g2.mac);
    await attach(m2, 'vm2', MANAGED2);
    await attach(un, 'vun', UNMANAGED);
    // The sandbox's own namespace is the managed client.
    await must(['ip', '-n', hv, 'link', 'add', 'vcl', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sb.ns]);
    await must(['ip', '-n', hv, 'link', 'set', 'vcl', 'master', 'br0', 'up']);
    await must(['ip', '-n', sb.ns, 'link', 'set', 'eth0', 'up']);
    await must(['ip', '-n', sb.ns, 'addr', 'add', `${CLIENT.v4}/24`, 'dev', 'eth0']);
    await must(['ip', '-n', sb.ns, 'addr', 'add', `${CLIENT.v6}/64`, 'dev', 'eth0', 'nodad']);

    const pki = await makeServerPki(path.join(sb.dir, 'pki'), { org: 'Consolegate Test', cn: 'hv.test', caName: 'Host Test CA' });
    await mkdir(path.join(sb.dir, 'hoststate'), { mode: 0o700 });
    // libvirt is not installed here: a stand-in virsh answers `dumpxml --domain Guest-2` with what libvirt
    // would print for g2 (its port name and MAC are not in the policy; only its addresses are).
    await writeFile(path.join(sb.dir, 'guest2.xml'), `<domain type='kvm' id='3'><name>Guest-2</name><devices>
  <interface type='bridge'><mac address='${GUESTS.g2.mac.toUpperCase()}'/><source bridge='br0'/><target dev='vg2'/><model type='virtio'/></interface>
  <graphics type='spice' port='-1' tlsPort='5937' autoport='no'/></devices></domain>\n`);
    await writeFile(path.join(sb.dir, 'virsh'), `#!/bin/sh\n[ "$*" = "--quiet dumpxml --domain Guest-2" ] || { echo "error: failed to get domain '$4'" >&2; exit 1; }\nexec cat ${path.join(sb.dir, 'guest2.xml')}\n`, { mode: 0o755 });
    vm = await startSpiceVm((argv) => inNs(hv, argv), { dir: sb.dir, x509Dir: pki.x509Dir, password: 'host-test-pw', addr: '0.0.0.0', tlsPort: PORTS.spice });
    listener = spawn('ip', ['netns', 'exec', hv, process.execPath, path.join(ROOT, 'test/support/listener.mjs'), String(PORTS.plain), String(PORTS.other)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.once('data', () => resolve());
      listener!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });

    // One policy for both ends: the client side reads servers/vms/entitlements, the host side clients and bridge ports.
    const port = (g: keyof typeof GUESTS, name: string) => `{ name: ${name}, mac: "${GUESTS[g].mac}", ips: [${GUESTS[g].v4}, "${GUESTS[g].v6}"] }`;
    await sb.writePolicy(
      sb.policy(`clients: [10.77.0.48/29, "fd77::50/124"]
servers:
  hv: { host: ${HV.v4}, ca: ${pki.caFile}, host-subject: "${pki.hostSubject}" }
vms:
  spicevm: { server: hv, tls-port: ${PORTS.spice}, title: "SPICE over TLS" }
  plain: { server: hv, tls-port: ${PORTS.plain} }
  g1: { server: hv, tls-port: 5935, bridge-port: ${port('g1', 'vg1')} }
  g2: { server: hv, tls-port: 5937, domain: Guest-2, bridge-port: { ips: [${GUESTS.g2.v4}, "${GUESTS.g2.v6}"] } }
entitlements:
  - { vm: spicevm, users: [${alice.name}] }
`),
    );
    const client = await sb.helper(['apply']);
    assert.equal(client.code, 0, client.stderr);
    await sb.enableNetnsLogging();
  });

  after(async () => {
    await vm?.stop();
    if (listener && listener.exitCode === null) listener.kill('SIGKILL');
    for (const ns of namespaces) await exec(['ip', 'netns', 'del', ns]);
    await sb?.cleanup();
  });

  test('before host apply: anyone reaches the consoles and a guest can pose as a managed client', async () => {
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 0, 'unmanaged IPv4 reaches the SPICE port');
    assert.equal(await connectFrom(un, UNMANAGED.v6, HV.v6, PORTS.plain), 0, 'unmanaged IPv6 reaches a console port');
    assert.equal(await connectFrom(g1, SPOOF_IP, HV.v4, PORTS.plain), 0, 'g1 with a managed address reaches a console port');
    await flushNeighbours();
    await forge(g1, ['arp', 'eth0', GUESTS.g1.mac, '10.77.0.52', HV.v4]);
    await forge(g1, ['ns', 'eth0', GUESTS.g1.mac, 'fd77::52', HV.v6]);
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await neighbour('10.77.0.52'), new RegExp(`lladdr ${GUESTS.g1.mac}`), 'forged ARP poisons the hypervisor');
    assert.match(await neighbour('fd77::52'), new RegExp(`lladdr ${GUESTS.g1.mac}`), 'forged NS poisons the hypervisor');
  });

  test('host plan shows pending changes (exit 2); host apply loads both tables (exit 0); status is in sync', async () => {
    assert.equal((await hostHelper(['plan', '--server', 'hv'])).code, 2);
    const r = await hostHelper(['apply', '--server', 'hv']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 console port\(s\), 2 client network\(s\), 2 guest port\(s\) bound/);
    assert.equal((await hostHelper(['status', '--server', 'hv'])).code, 0);
    assert.equal((await hostHelper(['plan', '--server', 'hv'])).code, 0);
  });

  test('the managed client opens the SPICE/TLS console through the whole client path', async () => {
    const opened = await sb.sudoOpen(alice, 'spicevm');
    assert.equal(opened.code, 0, opened.stderr);
    assert.match(opened.stdout, new RegExp(`^CONNECTED ${HV.v4.replaceAll('.', '\\.')} ${PORTS.spice}`));
    // A real TLS handshake with the QEMU SPICE server, verified against the policy's CA, as alice with the viewer group.
    const tls = await sb.run(['timeout', '10', 'openssl', 's_client', '-connect', `${HV.v4}:${PORTS.spice}`, '-CAfile', path.join(sb.dir, 'pki/ca-cert.pem'), '-verify_return_error', '-brief'], {
      user: alice,
      gid: await sb.viewerGid(),
      input: '',
    });
    assert.match(tls.stderr + tls.stdout, /Verification: OK|Verify return code: 0/, tls.stderr);
    // The client side still judges users: bob is refused on the client, whatever the host allows.
    assert.equal(await sb.connect(HV.v4, PORTS.spice, bob, await sb.viewerGid()), false);
    // A managed machine reaches consoles over IPv6 too.
    assert.equal(await connectFrom(m2, MANAGED2.v6, HV.v6, PORTS.plain), 0);
    assert.equal(await connectFrom(m2, MANAGED2.v4, HV.v4, PORTS.spice), 0);
  });

  test('an unmanaged address is refused with a reset and logged, IPv4 and IPv6; its other traffic passes', async () => {
    const marker = await mark('deny');
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 1, 'IPv4 console connect is reset');
    assert.equal(await connectFrom(un, UNMANAGED.v6, HV.v6, PORTS.plain), 1, 'IPv6 console connect is reset');
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.other), 0, 'a port that is no console is untouched');
    const log = await logAfter(marker, /consolegate-host-deny .*SRC=fd77/);
    assert.match(log, new RegExp(`consolegate-host-deny IN=br0 .*SRC=${logged(UNMANAGED.v4)} DST=${logged(HV.v4)} .*DPT=${PORTS.spice} `));
    assert.match(log, new RegExp(`consolegate-host-deny IN=br0 .*SRC=${logged(UNMANAGED.v6)} DST=${logged(HV.v6)} .*DPT=${PORTS.plain} `));
  });

  test("a guest posing as a managed client (IP, ARP, NDP) is dropped and logged; its own traffic passes", async () => {
    const marker = await mark('spoof');
    assert.equal(await connectFrom(g1, SPOOF_IP, HV.v4, PORTS.plain), 2, 'a SYN from a borrowed managed address is dropped');
    assert.equal(await connectFrom(g1, GUESTS.g1.v4, HV.v4, PORTS.other), 0, "the guest's own address still works");
    assert.equal(await connectFrom(g1, GUESTS.g1.v6, HV.v6, PORTS.other), 0, "the guest's own IPv6 address still works (NDP passes)");
    assert.equal(await connectFrom(g1, GUESTS.g1.v4, HV.v4, PORTS.plain), 1, 'a guest is no client: its console connect is reset');
    await flushNeighbours();
    await forge(g1, ['arp', 'eth0', GUESTS.g1.mac, '10.77.0.52', HV.v4]);
    await forge(g1, ['ns', 'eth0', GUESTS.g1.mac, 'fd77::52', HV.v6]);
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(await neighbour('10.77.0.52'), /lladdr/, 'forged ARP is dropped before the hypervisor sees it');
    assert.doesNotMatch(await neighbour('fd77::52'), /lladdr/, 'forged NS is dropped before the hypervisor sees it');
    const ns52 = new RegExp(`consolegate-host-spoof vm=g1 IN=vg1 .*SRC=${logged('fd77::52')} .*TYPE=135 `);
    const log = await logAfter(marker, ns52);
    assert.match(log, new RegExp(`consolegate-host-spoof vm=g1 IN=vg1 .*SRC=${logged(SPOOF_IP)} .*DPT=${PORTS.plain} `));
    assert.match(log, new RegExp(`consolegate-host-spoof vm=g1 IN=vg1 .* ARP .*MACSRC=${GUESTS.g1.mac} IPSRC=10\\.77\\.0\\.52 `));
    assert.match(log, ns52);
  });

  test("a guest using another guest's MAC is dropped and logged (g2's port and MAC read from libvirt)", async () => {
    assert.equal(await connectFrom(g2, GUESTS.g2.v4, HV.v4, PORTS.other), 0, 'g2 with its own MAC works');
    await must(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', GUESTS.g1.mac]);
    try {
      const marker = await mark('mac');
      assert.equal(await connectFrom(g2, GUESTS.g2.v4, HV.v4, PORTS.other), 2, "g2 with g1's MAC is dropped");
      const log = await logAfter(marker, /consolegate-host-spoof vm=g2 /);
      // The first frame out is usually the ARP request for the hypervisor (changing the MAC flushed g2's neighbours).
      assert.match(log, new RegExp(`consolegate-host-spoof vm=g2 IN=vg2 .*(MAC=[0-9a-f:]{17}:${GUESTS.g1.mac}:|MACSRC=${GUESTS.g1.mac} )`));
    } finally {
      await must(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', GUESTS.g2.mac]);
    }
  });

  test('drift: a foreign rule in our table makes status exit 3 and plan 2; apply repairs it', async () => {
    await must(['ip', 'netns', 'exec', hv, 'nft', 'insert', 'rule', 'inet', 'consolegate-host', 'console', 'accept']);
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 0, 'the foreign rule opened the console');
    const st = await hostHelper(['status', '--server', 'hv']);
    assert.equal(st.code, 3, st.stdout);
    assert.match(st.stdout, /changed outside consolegate/);
    assert.equal((await hostHelper(['plan', '--server', 'hv'])).code, 2);
    assert.equal((await hostHelper(['apply', '--server', 'hv'])).code, 0);
    assert.equal((await hostHelper(['status', '--server', 'hv'])).code, 0);
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 1, 'closed again');
  });

  test('remove deletes only our tables; foreign tables stay exactly as they were', async () => {
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'table', 'inet', 'foreign']);
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'chain', 'inet', 'foreign', 'in', '{ type filter hook input priority 0; policy accept; }']);
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'rule', 'inet', 'foreign', 'in', 'tcp', 'dport', '9', 'drop']);
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'table', 'bridge', 'foreign']);
    const foreign = async () => (await must(['ip', 'netns', 'exec', hv, 'nft', '-s', 'list', 'ruleset'])).split(/(?=^table )/m).filter((t) => /^table \w+ foreign /.test(t)).join('');
    const before = await foreign();
    const r = await hostHelper(['remove']);
    assert.equal(r.code, 0, r.stderr);
    const ruleset = await must(['ip', 'netns', 'exec', hv, 'nft', '-s', 'list', 'ruleset']);
    assert.doesNotMatch(ruleset, /consolegate-host/);
    assert.equal(await foreign(), before);
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 0, 'the console is as open as before host mode');
    assert.equal((await hostHelper(['status', '--server', 'hv'])).code, 3, 'status after remove reports the missing tables');
  });

  test('a first apply that fails closes the consoles to everyone instead of leaving them open', async () => {
    // A chain of our name on another hook: the one-transaction load cannot re-declare it, so nft rejects the whole script.
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'table', 'bridge', 'consolegate-host']);
    await must(['ip', 'netns', 'exec', hv, 'nft', 'add', 'chain', 'bridge', 'consolegate-host', 'prerouting', '{ type filter hook input priority 0; }']);
    const r = await hostHelper(['apply', '--server', 'hv']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /closed to every client until host apply succeeds/);
    assert.equal(await connectFrom(m2, MANAGED2.v4, HV.v4, PORTS.spice), 1, 'even a managed client is refused meanwhile');
    assert.equal(await connectFrom(un, UNMANAGED.v4, HV.v4, PORTS.spice), 1);
    assert.equal((await hostHelper(['remove'])).code, 0);
    assert.equal(await connectFrom(m2, MANAGED2.v4, HV.v4, PORTS.spice), 0);
  });
});
