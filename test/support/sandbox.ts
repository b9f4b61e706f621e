// Isolation for root tests: a network namespace, a private /etc/sudoers.d, throwaway users, and cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, type ExecResult } from '../../helper/src/system/exec.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HELPER = path.join(ROOT, 'dist/consolegate-helper.js');
export const OPEN_CONSOLE = path.join(ROOT, 'dist/open-console');

/** Why root tests cannot run here, or null when they can. */
export async function rootTestsUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, test users, sudo)';
  for (const [cmd, pkg] of [['nft', 'nftables'], ['iptables-restore', 'iptables'], ['sudo', 'sudo'], ['visudo', 'sudo'], ['ip', 'iproute2'], ['unshare', 'util-linux'], ['setpriv', 'util-linux'], ['useradd', 'passwd']]) {
    if ((await exec(['sh', '-c', `command -v ${cmd}`])).code !== 0) return `\`${cmd}\` is missing (apt install ${pkg})`;
  }
  const { access } = await import('node:fs/promises');
  try {
    await access(HELPER);
    await access(OPEN_CONSOLE);
  } catch {
    return 'dist/ is not built (npm run build)';
  }
  return null;
}

/** A throwaway account. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** How to run a command inside the sandbox. */
export interface RunOptions {
  /** Run as this user (own primary group unless `gid`). */
  user?: TestUser;
  gid?: number;
  /** Supplementary groups, as a login session would have them (initgroups at login); default none. */
  groups?: number[];
  input?: string;
  env?: Record<string, string>;
}

/** One isolated world per test file. Everything it creates is removed by `cleanup()`. */
export class Sandbox {
  readonly id: string;
  readonly ns: string;
  readonly users: TestUser[] = [];
  readonly groups: string[] = [];
  readonly viewerGroup: string;
  private readonly children: ChildProcess[] = [];
  private nfLogAllNetns: string | null = null;

  private constructor(
    readonly dir: string,
    id: string,
  ) {
    this.id = id;
    this.ns = `cgt-${id}`;
    this.viewerGroup = `cgt${id}v`;
  }

  /** Creates the namespace (loopback up, IPv4 and IPv6), the directory tree and the probe viewer. */
  static async create(): Promise<Sandbox> {
    const id = randomBytes(3).toString('hex');
    const dir = await mkdtemp(path.join(os.tmpdir(), `cgt-${id}-`));
    await chmod(dir, 0o755); // test users must traverse to open-console, the table and their view
    const sb = new Sandbox(dir, id);
    for (const d of ['state', 'sudoers.d', 'libexec', 'bin', 'policy.d']) await mkdir(path.join(dir, d), { mode: 0o755 });
    await copyFile(OPEN_CONSOLE, sb.openConsole);
    await chmod(sb.openConsole, 0o755);
    await copyFile(path.join(ROOT, 'test/fixtures/probe-viewer.sh'), sb.viewer);
    await chmod(sb.viewer, 0o755);
    await writeFile(path.join(dir, 'ca.pem'), TEST_CA_PEM);
    await must(['ip', 'netns', 'add', sb.ns]);
    await must(['ip', '-n', sb.ns, 'link', 'set', 'lo', 'up']);
    return sb;
  }

  get policyFile(): string {
    return path.join(this.dir, 'policy.yaml');
  }
  get stateDir(): string {
    return path.join(this.dir, 'state');
  }
  get sudoersDir(): string {
    return path.join(this.dir, 'sudoers.d');
  }
  get sudoersFile(): string {
    return path.join(this.sudoersDir, 'consolegate');
  }
  get openConsole(): string {
    return path.join(this.dir, 'libexec', 'open-console');
  }
  get viewer(): string {
    return path.join(this.dir, 'bin', 'probe-viewer');
  }
  get caFile(): string {
    return path.join(this.dir, 'ca.pem');
  }

  /** The helper's environment for this sandbox. */
  get env(): Record<string, string> {
    return {
      CONSOLEGATE_POLICY: this.policyFile,
      CONSOLEGATE_POLICY_DIR: path.join(this.dir, 'policy.d'),
      CONSOLEGATE_STATE_DIR: this.stateDir,
      CONSOLEGATE_SUDOERS_FILE: this.sudoersFile,
      CONSOLEGATE_OPEN_CONSOLE: this.openConsole,
    };
  }

  /** Creates a user with its own primary group. */
  async addUser(suffix: string): Promise<TestUser> {
    const name = `cgt${this.id}${suffix}`;
    await must(['useradd', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
    const [, , uid, gid] = (await must(['getent', 'passwd', name])).stdout.trim().split(':');
    const u = { name, uid: Number(uid), gid: Number(gid) };
    this.users.push(u);
    return u;
  }

  /** Creates a supplementary group with these members. */
  async addGroup(suffix: string, members: TestUser[]): Promise<string> {
    const name = `cgt${this.id}${suffix}`;
    await must(['groupadd', name]);
    this.groups.push(name);
    if (members.length) await must(['gpasswd', '-M', members.map((m) => m.name).join(','), name]);
    return name;
  }

  /** The viewer group's gid (after apply created it). */
  async viewerGid(): Promise<number> {
    return Number((await must(['getent', 'group', this.viewerGroup])).stdout.split(':')[2]);
  }

  /** A policy whose viewer and CA point into the sandbox; `body` adds servers, vms, entitlements. */
  policy(body: string, opts: { backend?: 'nftables' | 'iptables'; protect?: string } = {}): string {
    return [
      'version: 1',
      `viewer: { path: ${this.viewer}, group: ${this.viewerGroup} }`,
      `firewall: { backend: ${opts.backend ?? 'nftables'}, log: true, protect: [ { ports: "${opts.protect ?? '20000-20999'}" } ] }`,
      body.replaceAll('$CA', this.caFile),
    ].join('\n');
  }

  async writePolicy(text: string): Promise<void> {
    await writeFile(this.policyFile, text, { mode: 0o600 });
  }

  /** Runs argv inside the namespace, with this sandbox's sudoers.d mounted over /etc/sudoers.d. */
  run(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
    const as = opts.user ? ['setpriv', `--reuid=${opts.user.uid}`, `--regid=${opts.gid ?? opts.user.gid}`, ...groupsArg(opts), '--'] : [];
    const script = 'mount --bind "$0" /etc/sudoers.d && exec ip netns exec "$1" "${@:2}"';
    return exec(['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', script, this.sudoersDir, this.ns, ...as, ...argv], {
      input: opts.input,
      env: { ...process.env, ...this.env, ...opts.env },
    });
  }

  /** Runs the built helper inside the sandbox. */
  helper(args: string[], env: Record<string, string> = {}): Promise<ExecResult> {
    return this.run(['node', HELPER, ...args], { env });
  }

  /** The exact sudo path a launcher uses: `sudo -n open-console --state-dir … vm` (run as root; drops to `user`). */
  sudoOpen(user: TestUser, vm: string, input = '', env: Record<string, string> = {}): Promise<ExecResult> {
    return this.run(['sudo', '-n', this.openConsole, '--state-dir', this.stateDir, vm], { user, input, env });
  }

  /** A plain TCP connect as `user` (with `gid` if given); true when it connected. */
  async connect(host: string, port: number, user?: TestUser, gid?: number): Promise<boolean> {
    const r = await this.run(['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)], { ...(user ? { user } : {}), ...(gid !== undefined ? { gid } : {}) });
    return r.code === 0;
  }

  /** Starts a dual-stack listener on the ports inside the namespace. */
  async listen(ports: number[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.ns, process.execPath, path.join(ROOT, 'test/support/listener.mjs'), ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
  }

  /** Lets the kernel log nft/iptables LOG lines from this namespace (off by default for non-init namespaces). */
  async enableNetnsLogging(): Promise<void> {
    this.nfLogAllNetns = (await must(['sysctl', '-n', 'net.netfilter.nf_log_all_netns'])).stdout.trim();
    await must(['sysctl', '-q', '-w', 'net.netfilter.nf_log_all_netns=1']);
  }

  /** Removes everything: processes (by PID), namespace, users, groups, files. */
  async cleanup(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    await exec(['ip', 'netns', 'del', this.ns]);
    for (const u of this.users) await exec(['userdel', u.name]);
    for (const g of [...this.groups, this.viewerGroup]) await exec(['groupdel', g]);
    if (this.nfLogAllNetns !== null) await exec(['sysctl', '-q', '-w', `net.netfilter.nf_log_all_netns=${this.nfLogAllNetns}`]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** setpriv's supplementary-group option for `opts`: the given list, or none at all. */
export function groupsArg(opts: RunOptions): string[] {
  return opts.groups?.length ? [`--groups=${opts.groups.join(',')}`] : ['--clear-groups'];
}

async function must(argv: string[]): Promise<ExecResult> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** A syntactically valid CA certificate for policies whose TLS is never exercised (integration tests). */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUdGVzdC1jYS1mb3ItY29uc29sZWdhdGUwCgYIKoZIzj0E
AwIwFDESMBAGA1UEAwwJY2d0LXRlc3QwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAx
-----END CERTIFICATE-----
`;
