// Shared machinery for the fault tests: run the helper with extra mounts or fake tools, kill it, watch what it
// left behind (firewall, sudoers, state directory, viewer) and compare that with the state of a known policy.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalListing } from '../../../helper/src/plan/nft-replace.js';
import { exec, type ExecResult } from '../../../helper/src/system/exec.js';
import { HELPER, type Sandbox, type TestUser } from '../../support/sandbox.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Options for a helper run that needs more than `sb.helper` offers. */
export interface HelperRun {
  env?: Record<string, string>;
  /** Shell run in the private mount namespace before the helper starts (extra mounts). */
  preamble?: string;
}

function helperArgv(sb: Sandbox, args: string[], opts: HelperRun): string[] {
  // Mirrors Sandbox.run, plus the preamble. Every step execs, so the spawned PID ends up being node's.
  const script = `mount --bind "$0" /etc/sudoers.d && ${opts.preamble ? `${opts.preamble} && ` : ''}exec ip netns exec "$1" "\${@:2}"`;
  return ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', script, sb.sudoersDir, sb.ns, process.execPath, HELPER, ...args];
}

/** Runs the built helper inside the sandbox with extra mounts or environment. */
export function runHelper(sb: Sandbox, args: string[], opts: HelperRun = {}): Promise<ExecResult> {
  return exec(helperArgv(sb, args, opts), { env: { ...process.env, ...sb.env, ...opts.env } });
}

/** Starts the helper without waiting; `child.pid` is the helper's own node process once the execs are done. */
export function spawnHelper(sb: Sandbox, args: string[], opts: HelperRun = {}): { child: ChildProcess; done: Promise<ExecResult> } {
  const [cmd, ...rest] = helperArgv(sb, args, opts);
  const child = spawn(cmd!, rest, { env: { ...process.env, ...sb.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const done = new Promise<ExecResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
  return { child, done };
}

/** A directory of fake commands put first on PATH; returns the env that does it. */
export async function fakeTools(sb: Sandbox, name: string, tools: Record<string, string>): Promise<Record<string, string>> {
  const dir = path.join(sb.dir, `fake-${name}`);
  await mkdir(dir, { recursive: true });
  for (const [tool, body] of Object.entries(tools)) {
    await writeFile(path.join(dir, tool), `#!/bin/bash\n${body}\n`);
    await chmod(path.join(dir, tool), 0o755);
  }
  return { PATH: `${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
}

/** Processes in the sandbox's namespace, by PID. */
export async function namespacePids(sb: Sandbox): Promise<Set<number>> {
  const r = await exec(['ip', 'netns', 'pids', sb.ns]);
  return new Set(r.stdout.split('\n').filter(Boolean).map(Number));
}

/**
 * Waits until the namespace holds only the `keep` processes again. A killed helper's children (nft -f,
 * visudo, getent) are not killed with it and may still change the system; we judge only once they are gone.
 */
export async function waitForStrays(sb: Sandbox, keep: Set<number>, timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const strays = [...(await namespacePids(sb))].filter((p) => !keep.has(p));
    if (strays.length === 0) return [];
    if (Date.now() > deadline) return strays;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** File content with owner and mode, or null when absent. */
export interface FileState {
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

async function fileState(file: string): Promise<FileState | null> {
  try {
    const st = await stat(file);
    return { content: await readFile(file, 'utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Everything consolegate owns, as observed from outside. */
export interface Observed {
  /** Our nft table as listed (objects in canonical order: creation order depends on history), or '(none)'. */
  nft: string;
  /** Our iptables chain and OUTPUT jump, as saved (empty when absent). */
  ipv4: string;
  /** The same for ip6tables: the iptables backend loads the two families in two commits. */
  ipv6: string;
  sudoers: FileState | null;
  /** Names in the sudoers directory that sudo would read (no `.`, no `~`, per sudoers(5) includedir). */
  sudoersIncluded: string[];
  table: FileState | null;
  views: Map<string, FileState>;
  /** state.json without `appliedAt`, which differs on every apply. */
  state: string | null;
  viewer: Omit<FileState, 'content'>;
}

/** Reads everything we own: the firewall through the namespace, files directly. */
export async function observe(sb: Sandbox): Promise<Observed> {
  const nft = await sb.run(['nft', '-s', 'list', 'table', 'inet', 'consolegate'], { env: { TZ: 'UTC' } });
  const chains: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const r = await sb.run([tool, '-t', 'filter']);
    chains.push(r.stdout.split('\n').filter((l) => /CONSOLEGATE/.test(l)).join('\n'));
  }
  const views = new Map<string, FileState>();
  const viewDir = path.join(sb.stateDir, 'views');
  for (const n of await readdir(viewDir).catch(() => [] as string[])) {
    if (/^\d+\.json$/.test(n)) views.set(n, (await fileState(path.join(viewDir, n)))!);
  }
  const state = await fileState(path.join(sb.stateDir, 'state.json'));
  let stateText: string | null = null;
  if (state) {
    // When, the ruleset generation and the views' inodes and ctimes differ on every apply of the same policy.
    const { appliedAt: _, views: _views, ...rest } = JSON.parse(state.content) as Record<string, unknown> & { firewall?: { loaded?: { generation?: unknown } } };
    if (rest.firewall?.loaded) rest.firewall = { ...rest.firewall, loaded: { ...rest.firewall.loaded, generation: null } };
    stateText = JSON.stringify(rest);
  }
  const viewer = (await fileState(sb.viewer))!;
  return {
    nft: nft.code === 0 ? canonicalListing(nft.stdout) : '(none)',
    ipv4: chains[0]!,
    ipv6: chains[1]!,
    sudoers: await fileState(sb.sudoersFile),
    sudoersIncluded: (await readdir(sb.sudoersDir)).filter((n) => !n.includes('.') && !n.endsWith('~')).sort(),
    table: await fileState(path.join(sb.stateDir, 'console-table.json')),
    views,
    state: stateText,
    viewer: { mode: viewer.mode, uid: viewer.uid, gid: viewer.gid },
  };
}

/** The parts status reports on, named as `status` names them. */
export type Part = 'firewall' | 'sudoers' | 'table' | 'views';

const same = (a: unknown, b: unknown) => JSON.stringify(a, mapReplacer) === JSON.stringify(b, mapReplacer);
function mapReplacer(_k: string, v: unknown): unknown {
  return v instanceof Map ? [...v.entries()].sort(([a], [b]) => (a < b ? -1 : 1)) : v;
}

/**
 * The parts of `o` that differ from `ref`. The firewall counts as in sync only when the kernel's rules *and*
 * state.json's record of them match: status trusts the record to tell our rules from someone else's edit.
 */
export function differingParts(o: Observed, ref: Observed): Part[] {
  const parts: Part[] = [];
  // Both backends count: rules the other backend left behind still decide who connects.
  if (o.nft !== ref.nft || o.ipv4 !== ref.ipv4 || o.ipv6 !== ref.ipv6 || o.state !== ref.state) parts.push('firewall');
  if (!same(o.sudoers, ref.sudoers)) parts.push('sudoers');
  if (!same(o.table, ref.table)) parts.push('table');
  if (!same(o.views, ref.views)) parts.push('views');
  return parts;
}

/** For each unit of state, whether it is exactly the old one, exactly the new one, or neither. */
export function classify(o: Observed, old: Observed, neu: Observed): Record<string, 'old' | 'new' | 'both' | 'neither'> {
  const pick = (a: unknown, x: unknown, y: unknown) => (same(a, x) && same(a, y) ? 'both' : same(a, x) ? 'old' : same(a, y) ? 'new' : 'neither');
  const out: Record<string, 'old' | 'new' | 'both' | 'neither'> = {
    // Each is loaded in one kernel transaction of its own; a backend switch touches both backends.
    nft: pick(o.nft, old.nft, neu.nft),
    ipv4: pick(o.ipv4, old.ipv4, neu.ipv4),
    ipv6: pick(o.ipv6, old.ipv6, neu.ipv6),
    state: pick(o.state, old.state, neu.state),
    sudoers: pick(o.sudoers, old.sudoers, neu.sudoers),
    table: pick(o.table, old.table, neu.table),
    viewer: pick(o.viewer, old.viewer, neu.viewer),
  };
  // Views file by file: each one is written atomically, the set as a whole is not.
  for (const name of new Set([...o.views.keys(), ...old.views.keys(), ...neu.views.keys()])) {
    out[`views/${name}`] = pick(o.views.get(name) ?? null, old.views.get(name) ?? null, neu.views.get(name) ?? null);
  }
  return out;
}

/** `status` for a policy file: its exit code and the systems it names as drifted. */
export async function status(sb: Sandbox, policyFile: string, opts: HelperRun = {}): Promise<{ code: number; drift: string[]; raw: string }> {
  const r = await runHelper(sb, ['status', '--json', '--policy', policyFile], opts);
  let drift: string[] = [];
  try {
    drift = [...new Set((JSON.parse(r.stdout) as { drift: { system: string }[] }).drift.map((d) => d.system))].sort();
  } catch {
    // not JSON: an error; the caller sees code and raw
  }
  return { code: r.code, drift, raw: r.stdout + r.stderr };
}

/** A running probe loop and how to stop it. */
export interface Probe {
  stop(): Promise<{ cycles: number; violations: string[]; control: number }>;
}

/**
 * Starts probe.mjs as `user` (with `gid`) inside the namespace. The script is copied into the sandbox,
 * because the test users may not be able to read the repository.
 */
export async function startProbe(sb: Sandbox, user: TestUser, gid: number, controlPort: number, targets: string[]): Promise<Probe> {
  const script = path.join(sb.dir, 'probe.mjs');
  await copyFile(path.join(HERE, 'probe.mjs'), script);
  await chmod(script, 0o644);
  const child = spawn('ip', ['netns', 'exec', sb.ns, 'setpriv', `--reuid=${user.uid}`, `--regid=${gid}`, '--clear-groups', '--', process.execPath, script, String(controlPort), ...targets], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`probe exited ${code} before it started`)));
  });
  return {
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      const line = out.split('\n').filter(Boolean).at(-1) ?? '';
      return JSON.parse(line) as { cycles: number; violations: string[]; control: number };
    },
  };
}

/** Runs argv and throws with its stderr unless it exits 0. */
export async function must(argv: string[]): Promise<void> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
}

/**
 * Replaces `dir` with a tmpfs of `kib` KiB holding the same files (owners and modes kept), so it can be filled.
 * Returns the undo: unmount and put the original directory back (what the tmpfs held is discarded).
 */
export async function onTmpfs(dir: string, kib: number): Promise<() => Promise<void>> {
  const keep = `${dir}.keep`;
  await must(['cp', '-a', dir, keep]);
  await must(['mount', '-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'cgt-fault', dir]);
  await must(['cp', '-a', `${keep}/.`, dir]);
  return async () => {
    await must(['umount', dir]);
    await must(['rm', '-rf', dir]);
    await must(['mv', keep, dir]);
  };
}

/** Fills the filesystem holding `dir` to the last byte. */
export async function fill(dir: string): Promise<void> {
  // dd stops with "No space left on device" (exit 1): that is the point.
  await exec(['dd', 'if=/dev/zero', `of=${path.join(dir, 'zz-filler')}`, 'bs=4k']);
  await exec(['sh', '-c', `cat /dev/zero > '${path.join(dir, 'zz-tail')}'`]);
}
