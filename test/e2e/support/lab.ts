// The real-console lab shared by the e2e test, the demo and the latency bench: the lead's Sandbox (network
// namespace, private /etc/sudoers.d, throwaway users) plus a QEMU SPICE/TLS VM, Xvfb, the real remote-viewer and
// the console service run as a user. Everything it starts is tracked and removed by `cleanup()`.
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { ROOT, Sandbox, type TestUser } from '../../support/sandbox.js';
import type { ExecResult } from '../../../helper/src/system/exec.js';
import type { ConsoleSession, ConsoleTarget, openConsole } from '../../../electron/services/console.js';
import { explain, type ConsoleState } from '../../../electron/services/console-text.js';
import { parseProcNetTcp, TCP_ESTABLISHED, type TcpSocket } from '../../../electron/services/tcp-state.js';
import { makeServerPki, makeStrayCa, type ServerPki } from './pki.js';
import { killAndWait, startSpiceVm, type SpiceVm } from './qemu.js';
import { parsePpm, type Rgb } from './image.js';
import { screenshot, startXvfb, type XDisplay } from './xvfb.js';
import { waitFor } from './wait.js';

/** Ports of the lab: the VM, a port nothing listens on, and a plain listener for the time-window check. */
export const LAB_PORTS = { vm: 5931, ghost: 5932, later: 5933, protect: '5900-5999' } as const;

/** A console opened through the console service running as a user (see console-driver.ts). */
export interface DriverSession {
  /** sudo's pid (or the viewer's, for a direct target), as the service reported it. */
  pid: number | undefined;
  states: { ms: number; state: ConsoleState }[];
  /** Resolves with the first state of that kind (or the final one, if the session ends first). */
  until(kind: ConsoleState['state']): Promise<{ ms: number; state: ConsoleState }>;
  done: Promise<{ ms: number; state: ConsoleState }>;
  stop(): void;
}

/** Options of a driven console; `onState` sees each state as the service reports it. */
export interface DriveOptions {
  gid?: number;
  password?: string;
  timeoutMs?: number;
  pollMs?: number;
  onState?: (s: ConsoleState) => void;
}

/** Setup choices; the demo names its users, tests take random ones. */
export interface LabOptions {
  log?: (line: string) => void;
  /** Use this X display (the caller's) instead of starting Xvfb. */
  display?: { display: string; xauthority: string };
  password?: string;
}

/** One lab: QEMU + Xvfb + two users (alice entitled, bob not) in a Sandbox. */
export class ConsoleLab {
  readonly password: string;
  pki!: ServerPki;
  vm!: SpiceVm;
  x!: XDisplay;
  alice!: TestUser;
  bob!: TestUser;
  private readonly children: ChildProcess[] = [];
  private readonly restores: (() => Promise<void>)[] = [];
  private driverFile = '';
  private cleaned = false;

  private constructor(
    readonly sb: Sandbox,
    private readonly log: (line: string) => void,
    password: string,
  ) {
    this.password = password;
  }

  /** Builds the whole lab; on any failure it removes what it made and rethrows. */
  static async create(opts: LabOptions = {}): Promise<ConsoleLab> {
    const lab = await ConsoleLab.prepare(opts);
    try {
      await lab.setup(opts);
      return lab;
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  }

  /** Only the empty Sandbox, so a caller can hook cleanup (Ctrl-C) before the slow part; then call `setup`. */
  static async prepare(opts: LabOptions = {}): Promise<ConsoleLab> {
    return new ConsoleLab(await Sandbox.create(), opts.log ?? (() => undefined), opts.password ?? 'lab-secret-42');
  }

  get dir(): string {
    return this.sb.dir;
  }
  /** The real remote-viewer, copied so that locking it (root:group 0750) leaves /usr/bin alone. */
  get viewer(): string {
    return path.join(this.dir, 'bin', 'remote-viewer');
  }
  get caFile(): string {
    return this.pki.caFile;
  }
  get strayCaFile(): string {
    return path.join(this.dir, 'pki', 'stray-ca.pem');
  }

  /** Users, certificates, QEMU, X, listener, session buses and the console driver. */
  async setup(opts: LabOptions = {}): Promise<void> {
    const sb = this.sb;
    await sb.enableNetnsLogging();
    this.log('users: entitled + not entitled');
    this.alice = await sb.addUser('alice');
    this.bob = await sb.addUser('bob');
    await copyFile('/usr/bin/remote-viewer', this.viewer);
    await chmod(this.viewer, 0o755);
    this.log('certificates: test CA, server cert O=consolegate-test,CN=vm.test, and a stray CA');
    this.pki = await makeServerPki(path.join(this.dir, 'pki'), { org: 'consolegate-test', cn: 'vm.test', caName: 'consolegate test CA' });
    await makeStrayCa(this.strayCaFile, 'stray');
    this.log(`QEMU: SeaBIOS VM, SPICE TLS on 127.0.0.1:${LAB_PORTS.vm} with a password`);
    const t0 = Date.now();
    this.vm = await startSpiceVm((argv) => this.insideArgv(argv), { dir: this.dir, x509Dir: this.pki.x509Dir, password: this.password, addr: '127.0.0.1', tlsPort: LAB_PORTS.vm });
    this.log(`QEMU up in ${Date.now() - t0} ms (pid ${this.vm.pid})`);
    if (opts.display) {
      this.x = { ...opts.display, pid: undefined, stop: async () => undefined };
    } else {
      this.x = await startXvfb((a) => this.insideArgv(a), this.dir);
      this.log(`Xvfb ${this.x.display} (pid ${this.x.pid})`);
    }
    await sb.listen([LAB_PORTS.later]);
    await this.buildDriver();
    for (const u of [this.alice, this.bob]) await this.startSessionBus(u);
  }

  /** The user's XDG_RUNTIME_DIR (sudo keeps it for open-console; GLib finds the session bus there). */
  runtimeDir(user: TestUser): string {
    return path.join(this.dir, 'run', String(user.uid));
  }

  // A desktop session has a user bus in $XDG_RUNTIME_DIR/bus. Without one GLib falls back to X11 autolaunch
  // (dbus-launch), which stalls remote-viewer's start by ~6 s here and would swamp every measurement.
  private async startSessionBus(user: TestUser): Promise<void> {
    const dir = this.runtimeDir(user);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, user.uid, user.gid);
    await chmod(path.join(this.dir, 'run'), 0o755);
    this.spawnInside(['dbus-daemon', '--session', '--nofork', '--nopidfile', `--address=unix:path=${dir}/bus`], { user });
    await waitFor(() => existsSync(path.join(dir, 'bus')), 10_000, `${user.name}'s session bus`);
  }

  /** The argv that runs `argv` in the sandbox (netns + private sudoers.d), like Sandbox.run, for long-lived processes. */
  insideArgv(argv: string[], as: { user?: TestUser; gid?: number; env?: Record<string, string> } = {}): string[] {
    const env = as.env ?? {};
    const asUser = as.user
      ? [
          'setpriv', `--reuid=${as.user.uid}`, `--regid=${as.gid ?? as.user.gid}`, '--clear-groups', '--',
          // A login-like environment: nothing of root's leaks into the user's process.
          'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${path.join(this.dir, 'home')}`, `USER=${as.user.name}`, `LOGNAME=${as.user.name}`,
        ]
      : ['env'];
    const script = 'mount --bind "$0" /etc/sudoers.d && exec ip netns exec "$1" "${@:2}"';
    return ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', script, this.sb.sudoersDir, this.sb.ns, ...asUser, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
  }

  /** Spawns a long-lived process inside the sandbox and tracks it for cleanup. */
  spawnInside(argv: string[], as: Parameters<ConsoleLab['insideArgv']>[1] = {}): ChildProcess {
    const [file, ...args] = this.insideArgv(argv, as);
    const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  // The console service runs as the user from one bundled file, so the user needs no access to the repository.
  private async buildDriver(): Promise<void> {
    this.driverFile = path.join(this.dir, 'bin', 'console-driver.mjs');
    await build({
      entryPoints: [path.join(ROOT, 'test/e2e/support/console-driver.ts')],
      outfile: this.driverFile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18',
      logLevel: 'error',
      // execa's dependencies use require(); give the ESM bundle one.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    await chmod(this.driverFile, 0o644);
    await mkdir(path.join(this.dir, 'home'), { mode: 0o1777 });
  }

  /** The lab policy: alice may open `labvm` always, `wrongca` (stray CA), `ghost` (nothing listens), and `later` only on a day that is not today. */
  policy(): string {
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(new Date().getDay() + 3) % 7];
    return [
      'version: 1',
      `viewer: { path: ${this.viewer}, group: ${this.sb.viewerGroup} }`,
      `firewall: { backend: nftables, log: true, protect: [ { ports: "${LAB_PORTS.protect}" } ] }`,
      'servers:',
      `  lab: { host: 127.0.0.1, ca: ${this.caFile}, host-subject: "${this.pki.hostSubject}" }`,
      `  stray: { host: 127.0.0.1, ca: ${this.strayCaFile}, host-subject: "${this.pki.hostSubject}" }`,
      'vms:',
      `  labvm: { server: lab, tls-port: ${LAB_PORTS.vm}, title: "Lab VM (SeaBIOS)" }`,
      `  wrongca: { server: stray, tls-port: ${LAB_PORTS.vm}, title: "Lab VM, wrong CA" }`,
      `  ghost: { server: lab, tls-port: ${LAB_PORTS.ghost}, title: "Nothing listens" }`,
      `  later: { server: lab, tls-port: ${LAB_PORTS.later}, title: "Not today" }`,
      'entitlements:',
      `  - { vm: labvm, users: [${this.alice.name}] }`,
      `  - { vm: wrongca, users: [${this.alice.name}] }`,
      `  - { vm: ghost, users: [${this.alice.name}] }`,
      `  - { vm: later, users: [${this.alice.name}], when: { days: [${day}] } }`,
      '',
    ].join('\n');
  }

  /** Writes the policy and applies it with the built helper inside the sandbox. */
  async apply(): Promise<ExecResult> {
    await this.sb.writePolicy(this.policy());
    return this.sb.helper(['apply']);
  }

  /** Path of a user's view file (written by apply). */
  viewFile(user: TestUser): string {
    return path.join(this.sb.stateDir, 'views', `${user.uid}.json`);
  }

  /** Opens `vm` from `user`'s own view through the console service, running as that user. */
  open(user: TestUser, vm: string, opts: Omit<DriveOptions, 'gid'> = {}): DriverSession {
    return this.drive(user, ['--view', this.viewFile(user), '--vm', vm], opts);
  }

  /** Runs the console service on a literal target (e.g. remote-viewer started directly), as `user` with `gid`. */
  openTarget(user: TestUser, target: ConsoleTarget, opts: DriveOptions = {}): DriverSession {
    return this.drive(user, ['--target', JSON.stringify(target)], opts);
  }

  /**
   * The console service as `user`, shaped like openConsole (the launcher's FeatureDeps.open): each call runs the
   * exact target it is given (the command from the user's view) through the driver, as that user.
   */
  consoleService(user: TestUser): typeof openConsole {
    return (target, opts): ConsoleSession => {
      const s = this.openTarget(user, target, { password: opts.password, onState: opts.onState, timeoutMs: opts.connectTimeoutMs, pollMs: opts.pollMs });
      const done = s.done.then(
        (end) => end.state,
        (err: unknown) => {
          // The driver itself died: say so as a failure instead of leaving the launcher at "launching".
          const failed = explain('unknown', err instanceof Error ? err.message : String(err));
          opts.onState?.(failed);
          return failed;
        },
      );
      return { vmId: target.id, get pid() { return s.pid; }, done, stop: () => s.stop() };
    };
  }

  private drive(user: TestUser, args: string[], opts: DriveOptions): DriverSession {
    const extra = [...(opts.timeoutMs !== undefined ? ['--timeout', String(opts.timeoutMs)] : []), ...(opts.pollMs !== undefined ? ['--poll', String(opts.pollMs)] : [])];
    const child = this.spawnInside([process.execPath, this.driverFile, ...args, ...extra], {
      user,
      gid: opts.gid,
      env: { DISPLAY: this.x.display, XAUTHORITY: this.x.xauthority, XDG_RUNTIME_DIR: this.runtimeDir(user) },
    });
    child.stdin?.write(`${opts.password ?? ''}\n`);
    const states: { ms: number; state: ConsoleState }[] = [];
    const waiters: { kind: string; resolve: (s: { ms: number; state: ConsoleState }) => void }[] = [];
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const session: DriverSession = {
      pid: undefined,
      states,
      until: (kind) =>
        new Promise((resolve) => {
          const hit = states.find((s) => s.state.state === kind);
          if (hit) resolve(hit);
          else waiters.push({ kind, resolve });
        }),
      done: new Promise((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.on('line', (line) => {
          const msg = JSON.parse(line) as { event: string; pid?: number; ms: number; state: ConsoleState };
          if (msg.event === 'start') session.pid = msg.pid;
          if (msg.event === 'state') {
            states.push({ ms: msg.ms, state: msg.state });
            opts.onState?.(msg.state);
            for (const w of waiters.splice(0)) {
              if (w.kind === msg.state.state) w.resolve({ ms: msg.ms, state: msg.state });
              else waiters.push(w);
            }
          }
          if (msg.event === 'done') {
            for (const w of waiters.splice(0)) w.resolve({ ms: msg.ms, state: msg.state });
            resolve({ ms: msg.ms, state: msg.state });
          }
        });
        child.on('close', (code) => reject(new Error(`console driver exited ${code} before it was done: ${stderr.trim()}`)));
      }),
      stop: () => child.stdin?.write('stop\n'),
    };
    session.done.catch(() => undefined);
    return session;
  }

  /** The namespace's TCP sockets (read through QEMU's /proc entry, which lives in the namespace). */
  sockets(): TcpSocket[] {
    const net = `/proc/${this.vm.pid}/net`;
    return [...parseProcNetTcp(readFileSync(`${net}/tcp`, 'utf8')), ...parseProcNetTcp(readFileSync(`${net}/tcp6`, 'utf8'))];
  }

  /** ESTABLISHED client sockets of `uid` to the VM port. */
  viewerSockets(uid: number): TcpSocket[] {
    return this.sockets().filter((s) => s.uid === uid && s.state === TCP_ESTABLISHED && s.remotePort === LAB_PORTS.vm);
  }

  /** Processes whose executable is the lab's viewer, with their ids from /proc/<pid>/status. */
  async viewerProcesses(): Promise<{ pid: number; uid: number[]; gid: number[]; inodes: number[] }[]> {
    const out: { pid: number; uid: number[]; gid: number[]; inodes: number[] }[] = [];
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const status = await readFile(`/proc/${name}/status`, 'utf8');
        if (!/^Name:\s+remote-viewer$/m.test(status)) continue;
        const ids = (k: string) => (new RegExp(`^${k}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
        // As root we may read its fd table, which the user cannot: the sockets it really holds.
        const inodes: number[] = [];
        for (const fd of await readdir(`/proc/${name}/fd`).catch(() => [] as string[])) {
          const target = await readlink(`/proc/${name}/fd/${fd}`).catch(() => '');
          const m = /^socket:\[(\d+)\]$/.exec(target);
          if (m) inodes.push(Number(m[1]));
        }
        out.push({ pid: Number(name), uid: ids('Uid'), gid: ids('Gid'), inodes });
      } catch {
        // Exited meanwhile.
      }
    }
    return out;
  }

  /**
   * Asserts, as root, that `user` runs exactly one viewer, as user:viewer-group (real/effective/saved/fs ids), and
   * that it holds the main channel and more ESTABLISHED to the VM's port (TLS only: QEMU has no plain port).
   */
  async expectViewerConnected(user: TestUser): Promise<{ pid: number; held: TcpSocket[] }> {
    const viewerGid = await this.sb.viewerGid();
    const viewers = (await this.viewerProcesses()).filter((p) => p.uid[0] === user.uid);
    assert.equal(viewers.length, 1, `one remote-viewer of ${user.name}: ${JSON.stringify(viewers)}`);
    const v = viewers[0]!;
    assert.deepEqual(v.uid, [user.uid, user.uid, user.uid, user.uid], 'real/effective/saved/fs uid are the user');
    assert.deepEqual(v.gid, [viewerGid, viewerGid, viewerGid, viewerGid], 'real/effective/saved/fs gid are the viewer group');
    const held = this.viewerSockets(user.uid).filter((s) => v.inodes.includes(s.inode));
    assert.ok(held.length >= 2, `the viewer holds the main channel and more to 127.0.0.1:${LAB_PORTS.vm}: ${JSON.stringify(held)}`);
    return { pid: v.pid, held };
  }

  /** Resolves once `user` runs no viewer any more. */
  async viewersGone(user: TestUser, what: string): Promise<void> {
    await waitFor(async () => (await this.viewerProcesses()).every((p) => p.uid[0] !== user.uid), 5000, what);
  }

  /** A screenshot of the display (PNG written when a path is given). */
  screenshot(pngFile?: string): Promise<Rgb> {
    return screenshot(this.x, pngFile);
  }

  /** The VM's own framebuffer, for comparison with what the viewer shows. */
  async vmFrame(): Promise<Rgb> {
    return parsePpm(await this.vm.screendump(path.join(this.dir, 'vm-frame.ppm')));
  }

  /** Sets a sysctl; the returned function (also run by cleanup, once) puts the old value back. */
  async sysctl(key: string, value: string): Promise<() => Promise<void>> {
    const file = `/proc/sys/${key.replaceAll('.', '/')}`;
    const old = (await readFile(file, 'utf8')).trim();
    await writeFile(file, value);
    let done = false;
    const restore = async (): Promise<void> => {
      if (done) return;
      done = true;
      await writeFile(file, old);
    };
    this.restores.push(restore);
    return restore;
  }

  /** Makes `file` readable by the viewer group only (root:<group> 0640), like the console table. */
  async groupReadable(file: string): Promise<void> {
    const gid = await this.sb.viewerGid();
    await chown(file, 0, gid);
    await chmod(file, 0o640);
  }

  /** Stops everything the lab started, then the Sandbox removes namespace, users, groups and files. Safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const steps: [string, () => Promise<unknown>][] = [
      ['console drivers and helpers', async () => this.children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'))],
      ['test users\' processes', () => this.killUserProcesses()],
      ['consolegate remove', async () => this.sb.policyFile && (await this.sb.helper(['remove']))],
      ['QEMU', async () => this.vm && (await this.vm.stop())],
      ['Xvfb', async () => this.x && (await this.x.stop())],
      ['sysctls', async () => Promise.all(this.restores.splice(0).map((r) => r()))],
      ['sandbox', () => this.sb.cleanup()],
    ];
    const errors: string[] = [];
    for (const [what, fn] of steps) {
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (errors.length > 0) throw new Error(`lab cleanup incomplete:\n${errors.join('\n')}`);
  }

  // Every process of the lab's users (viewers the service left detached, by design), by pid, so userdel can run.
  private async killUserProcesses(): Promise<void> {
    const uids = new Set(this.sb.users.map((u) => u.uid));
    const pids: number[] = [];
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${name}/status`, 'utf8'))?.[1]);
        if (uids.has(uid)) pids.push(Number(name));
      } catch {
        // Exited meanwhile.
      }
    }
    await Promise.all(pids.map((p) => killAndWait(p, 2000).catch(() => undefined)));
  }
}
