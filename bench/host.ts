// Host mode (issue 15): `host apply` time for a hypervisor with N VMs (default 200, each with a bound bridge
// port, a TLS and a plain console port), and what the two host tables cost each new connection.
//
//   node --import tsx bench/host.ts [--vms 200] [--clients 50] [--runs 3] [--rounds 5] [--count 3000]
//
// Runs in its own network namespaces (root): a "hypervisor" with a bridge, one guest on a bound port, one
// managed client. Per-connection cost uses bench/host-connloop.c (SYN, SYN-ACK, ACK, RST per connect) and
// switches the tables off with nft's `dormant` flag, so "no rules" is the same namespace without our hooks.
// Like every benchmark here it never asserts timings; it fails only when it cannot measure (or a variant
// does not enforce what it should).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostModel } from '../helper/src/host/model.js';
import { renderHost } from '../helper/src/host/render.js';
import { loadPolicy } from '../helper/src/policy/load.js';
import { exec, type ExecResult } from '../helper/src/system/exec.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HELPER = path.join(HERE, '../dist/consolegate-helper.js');

const { values } = parseArgs({
  options: {
    vms: { type: 'string', default: '200' },
    clients: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    count: { type: 'string', default: '3000' },
  },
});
const VMS = Number(values.vms);
const CLIENTS = Number(values.clients);
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);
const COUNT = Number(values.count);

async function must(argv: string[], input?: string): Promise<ExecResult> {
  const r = await exec(argv, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mac = (i: number) => `52:54:00:88:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const guestIp = (i: number) => `10.88.${1 + (i >> 8)}.${(i & 0xff) + 1}`;

function policy(clients: string[]): string {
  const vms = Array.from({ length: VMS }, (_, i) => {
    const id = `vm${String(i).padStart(4, '0')}`;
    return `  ${id}: { server: hv, tls-port: ${20000 + 2 * i}, port: ${20001 + 2 * i}, bridge-port: { name: vg${i}, mac: "${mac(i)}", ips: [${guestIp(i)}, "fd88::${(i + 1).toString(16)}"] } }`;
  });
  return ['version: 1', `clients: [${clients.join(', ')}]`, 'servers:', '  hv: { host: 10.88.0.1, ca: /etc/ca.pem, host-subject: "CN=hv" }', 'vms:', ...vms, ''].join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, nft)');
  const id = randomBytes(3).toString('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), `cg-bench-host-${id}-`));
  const [hv, guest, client] = ['hv', 'g', 'c'].map((n) => `cgbh-${id}-${n}`) as [string, string, string];
  const children: { kill(): void }[] = [];
  const env = { ...process.env, CONSOLEGATE_POLICY: path.join(dir, 'policy.yaml'), CONSOLEGATE_POLICY_DIR: path.join(dir, 'policy.d'), CONSOLEGATE_STATE_DIR: path.join(dir, 'state') };
  const helper = async (...args: string[]) => {
    const t = process.hrtime.bigint();
    const r = await exec(['ip', 'netns', 'exec', hv, 'node', HELPER, 'host', ...args, '--server', 'hv'], { env });
    return { ...r, ms: Number(process.hrtime.bigint() - t) / 1e6 };
  };
  try {
    for (const ns of [hv, guest, client]) {
      await must(['ip', 'netns', 'add', ns]);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await must(['ip', '-n', hv, 'link', 'add', 'br0', 'type', 'bridge']);
    await must(['ip', '-n', hv, 'link', 'set', 'br0', 'up']);
    await must(['ip', '-n', hv, 'addr', 'add', '10.88.0.1/16', 'dev', 'br0']);
    for (const [ns, port, ip, hw] of [[guest, 'vg0', guestIp(0), mac(0)], [client, 'vcl', '10.88.200.1', '']] as const) {
      await must(['ip', '-n', hv, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await must(['ip', '-n', hv, 'link', 'set', port, 'master', 'br0', 'up']);
      if (hw) await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', hw]);
      await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await must(['ip', '-n', ns, 'addr', 'add', `${ip}/16`, 'dev', 'eth0']);
    }
    const clients = ['10.88.200.0/24', ...Array.from({ length: CLIENTS - 2 }, (_, i) => `172.${16 + (i >> 8)}.${i & 0xff}.0/24`), '"fd88:200::/64"'];
    await writeFile(env.CONSOLEGATE_POLICY, policy(clients), { mode: 0o600 });

    // Rendering alone (parse, model, both tables), in this process.
    const renderMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      const p = await loadPolicy(env.CONSOLEGATE_POLICY, env.CONSOLEGATE_POLICY_DIR);
      renderHost(hostModel(p, 'hv', new Map()));
      renderMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const first: number[] = [], noop: number[] = [], change: number[] = [], status: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await helper('remove');
      const a = await helper('apply');
      if (a.code !== 0) throw new Error(`host apply failed: ${a.stderr}`);
      first.push(a.ms);
      noop.push((await helper('apply')).ms);
      // One client network more: a one-line policy change.
      await writeFile(env.CONSOLEGATE_POLICY, policy([...clients, `198.51.100.${i * 8}/29`]), { mode: 0o600 });
      change.push((await helper('apply')).ms);
      await writeFile(env.CONSOLEGATE_POLICY, policy(clients), { mode: 0o600 });
      await helper('apply');
      status.push((await helper('status')).ms);
    }
    const listing = (await must(['ip', 'netns', 'exec', hv, 'nft', 'list', 'ruleset'])).stdout;
    console.log(`host apply, ${VMS} VMs (${2 * VMS} console ports, ${VMS} bound bridge ports), ${clients.length} client networks; median of ${RUNS}:`);
    console.log(`  render only (parse + model + both tables, in-process) ${median(renderMs).toFixed(0)} ms`);
    console.log(`  first apply (no tables before)                       ${median(first).toFixed(0)} ms`);
    console.log(`  re-apply, nothing changed                            ${median(noop).toFixed(0)} ms`);
    console.log(`  apply after one policy line changed                  ${median(change).toFixed(0)} ms`);
    console.log(`  status                                               ${median(status).toFixed(0)} ms`);
    console.log(`  ruleset: ${listing.split('\n').length} lines listed`);

    // Per-connection cost.
    const loop = path.join(dir, 'host-connloop');
    await must(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', loop, path.join(HERE, 'host-connloop.c')]);
    const { spawn } = await import('node:child_process');
    for (const port of ['20000', '7000']) {
      const server = spawn('ip', ['netns', 'exec', hv, loop, 'serve', '10.88.0.1', port], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(server);
      await new Promise<void>((resolve, reject) => {
        server.stdout.once('data', () => resolve());
        server.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
      });
    }
    const setActive = async (on: boolean) => {
      const flags = on ? '{ }' : '{ flags dormant; }';
      await must(['ip', 'netns', 'exec', hv, 'nft', '-f', '-'], `add table inet consolegate-host ${flags}\nadd table bridge consolegate-host ${flags}\n`);
    };
    const run = async (ns: string, src: string, port: string, count: number) => {
      const r = await must(['ip', 'netns', 'exec', ns, loop, 'connect', src, '10.88.0.1', port, String(count), String(Math.min(200, count))]);
      const [ok, failed, nsPer] = r.stdout.trim().split(/\s+/).map(Number) as [number, number, number];
      return { ok, failed, nsPer };
    };
    // Each path must behave as the rules say before it is timed: the guest (no client) is refused at the console
    // port, passes on another port; the client reaches a console.
    await setActive(true);
    const guestToConsole = await run(guest, guestIp(0), '20000', 1);
    if (guestToConsole.ok !== 0) throw new Error('a guest reached a console port: the console table does not enforce');
    const paths = [
      { label: 'managed client → console port (inet table: console chain, client set)', ns: client, src: '10.88.200.1', port: '20000' },
      { label: 'bound guest → hypervisor port (bridge table: port map, guest chain)', ns: guest, src: guestIp(0), port: '7000' },
    ];
    for (const p of paths) {
      const check = await run(p.ns, p.src, p.port, 10);
      if (check.ok !== 10) throw new Error(`${p.label}: ${check.failed} of 10 connects failed with the tables on`);
      const none: number[] = [], ours: number[] = [], ratios: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await setActive(false);
        const a = await run(p.ns, p.src, p.port, COUNT);
        await setActive(true);
        const b = await run(p.ns, p.src, p.port, COUNT);
        none.push(a.nsPer);
        ours.push(b.nsPer);
        ratios.push(b.nsPer / a.nsPer);
      }
      console.log(`per connection, ${p.label}: no rules ${(median(none) / 1000).toFixed(1)} µs, ours ${(median(ours) / 1000).toFixed(1)} µs, ratio ${median(ratios).toFixed(3)} (median of ${ROUNDS} rounds × ${COUNT})`);
    }
  } finally {
    for (const c of children) c.kill();
    for (const ns of [hv, guest, client]) await exec(['ip', 'netns', 'del', ns]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
