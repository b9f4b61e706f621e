// Forwarded traffic is judged too (issue 10, finding 5): a VM or container behind the client (routed, no local
// socket, ip_forward=1) must not reach protected ports. Three namespaces: vm → client (the sandbox, where apply
// runs, forwarding) → server. New connections to a protected port are refused and logged; others pass.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exec } from '../../helper/src/system/exec.js';
import { ROOT, Sandbox, rootTestsUnavailable, type TestUser } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();
const [SRV4, SRV6] = ['10.77.2.2', 'fd77:2::2'];

async function must(argv: string[]): Promise<string> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

for (const backend of ['nftables', 'iptables'] as const) {
  describe(`forwarded connections with ${backend}`, { skip: unavailable ?? false }, () => {
    let sb: Sandbox;
    let alice: TestUser;
    let vmNs: string, srvNs: string;
    let server: ChildProcess | null = null;

    /** A plain TCP connect from the VM's namespace; true when it connected. */
    const fromVm = async (host: string, port: number) =>
      (await exec(['ip', 'netns', 'exec', vmNs, 'timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)])).code === 0;

    before(async () => {
      sb = await Sandbox.create();
      alice = await sb.addUser('a');
      [vmNs, srvNs] = [`${sb.ns}-vm`, `${sb.ns}-srv`];
      for (const ns of [vmNs, srvNs]) {
        await must(['ip', 'netns', 'add', ns]);
        await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      const id = sb.id;
      await must(['ip', 'link', 'add', `cgv${id}`, 'netns', vmNs, 'type', 'veth', 'peer', 'name', `cgr${id}`, 'netns', sb.ns]);
      await must(['ip', 'link', 'add', `cgs${id}`, 'netns', srvNs, 'type', 'veth', 'peer', 'name', `cgu${id}`, 'netns', sb.ns]);
      const sides: [string, string, string, string][] = [
        [vmNs, `cgv${id}`, '10.77.1.2/24', 'fd77:1::2/64'],
        [sb.ns, `cgr${id}`, '10.77.1.1/24', 'fd77:1::1/64'],
        [srvNs, `cgs${id}`, '10.77.2.2/24', 'fd77:2::2/64'],
        [sb.ns, `cgu${id}`, '10.77.2.1/24', 'fd77:2::1/64'],
      ];
      for (const [ns, dev, v4, v6] of sides) {
        await must(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
        await must(['ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
        await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      }
      for (const [ns, via4, via6] of [[vmNs, '10.77.1.1', 'fd77:1::1'], [srvNs, '10.77.2.1', 'fd77:2::1']] as const) {
        await must(['ip', '-n', ns, 'route', 'add', 'default', 'via', via4]);
        await must(['ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', via6]);
      }
      await must(['ip', 'netns', 'exec', sb.ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      server = spawn('ip', ['netns', 'exec', srvNs, process.execPath, path.join(ROOT, 'test/support/listener.mjs'), '20002', '30000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        server!.stdout!.once('data', () => resolve());
        server!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
      });
      // The route works before any rule: otherwise a refusal below would prove nothing.
      assert.equal(await fromVm(SRV4, 20002), true, 'the VM reaches the server through the client (IPv4)');
      assert.equal(await fromVm(SRV6, 20002), true, 'the VM reaches the server through the client (IPv6)');

      await sb.writePolicy(
        sb.policy(
          `servers:
  s4: { host: ${SRV4}, ca: $CA, host-subject: "CN=s4" }
  s6: { host: "${SRV6}", ca: $CA, host-subject: "CN=s6" }
vms:
  vm1: { server: s4, tls-port: 20002 }
  vm6: { server: s6, tls-port: 20002 }
entitlements:
  - { vm: vm1, users: [${alice.name}] }
  - { vm: vm6, users: [${alice.name}] }
`,
          { backend },
        ),
      );
      const r = await sb.helper(['apply']);
      assert.equal(r.code, 0, r.stderr);
    });
    after(async () => {
      if (server?.exitCode === null) server.kill('SIGKILL');
      for (const ns of [vmNs, srvNs]) if (ns) await exec(['ip', 'netns', 'del', ns]);
      await sb?.cleanup();
    });

    test('a routed connection to a protected port is refused, IPv4 and IPv6; an unprotected port passes', async () => {
      assert.equal(await fromVm(SRV4, 20002), false, 'IPv4 forwarded connect to a protected port');
      assert.equal(await fromVm(SRV6, 20002), false, 'IPv6 forwarded connect to a protected port');
      assert.equal(await fromVm(SRV4, 30000), true, 'an unprotected port is not touched');
      // The client's own entitled path still works through the same route.
      assert.equal(await sb.connect(SRV4, 20002, alice, await sb.viewerGid()), true);
    });

    test('the refusal is logged with the forwarding interfaces', async () => {
      await sb.enableNetnsLogging();
      const marker = `cgfwd${sb.id}`;
      await must(['sh', '-c', `echo ${marker} > /dev/kmsg`]);
      assert.equal(await fromVm(SRV4, 20002), false);
      let log = '';
      for (let i = 0; i < 20 && !/consolegate-deny IN=cgr\S* OUT=cgu/.test(log); i++) {
        await new Promise((r) => setTimeout(r, 100));
        const all = await must(['dmesg']);
        log = all.slice(all.lastIndexOf(marker));
      }
      assert.match(log, new RegExp(`consolegate-deny IN=cgr${sb.id} OUT=cgu${sb.id} .*DST=${SRV4.replaceAll('.', '\\.')} .*DPT=20002`));
    });
  });
}
