// The console service: runs a VM's exact open-console command (sudo → open-console → remote-viewer) and reports
// launching → connected → closed, or failed with a reason a person understands. Plain Node, no Electron.
//
// Every reason comes from a real signal, never from a guess:
//   - open-console's own exit codes 64–70 with its `open-console: …` line (docs/interfaces.md);
//   - sudo's exit 1 with its `sudo: …` line;
//   - remote-viewer's output: spice-common's TLS warnings (always printed) and virt-viewer's `--debug` lines
//     for the main channel (`auth failure`, `failed to connect …`), see docs/demo.md for the exact strings;
//   - the kernel's TCP table (/proc/net/tcp{,6}: world-readable, has the uid) for "connected";
//   - the kernel log's `consolegate-deny … UID=<me>` line, when this user may read it (see KernelLog).
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, constants as fsConstants } from 'node:fs';
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { matchSockets, normalizeAddress, readTcpTable, readTcpTableSync, type TcpSocket } from './tcp-state.js';

/** Why a console could not be opened; each maps to plain words in `explain`. */
export type FailureReason = 'not-entitled' | 'outside-window' | 'no-sudo-rule' | 'viewer-unavailable' | 'no-policy' | 'firewall-refused' | 'tls-error' | 'wrong-password' | 'unreachable' | 'unknown';

/** Life of one console: launching → connected → closed, or failed with a reason. */
export type ConsoleState =
  | { state: 'launching' }
  | { state: 'connected' }
  | { state: 'closed'; exitCode: number | null }
  | { state: 'failed'; reason: FailureReason; message: string; hint: string };

/** One running console; `done` settles with the final state (closed or failed). */
export interface ConsoleSession {
  readonly vmId: string;
  readonly pid: number | undefined;
  readonly done: Promise<ConsoleState>;
  stop(): void;
}

/** What the service needs to know about a VM (from the user's view file). */
export interface ConsoleTarget {
  id: string;
  command: string[];
  host: string;
  tlsPort: number;
}

/** Options of openConsole; everything but `password` and `onState` is for tests and the bench. */
export interface ConsoleOptions {
  password?: string;
  onState?: (s: ConsoleState) => void;
  /** Give up (and stop the viewer) when not connected after this long; remote-viewer may sit in a dialog forever. */
  connectTimeoutMs?: number;
  /** How often the socket table and the output are looked at while launching. */
  pollMs?: number;
  /** Extra environment for the command (sudo keeps only what its env_keep allows). */
  env?: NodeJS.ProcessEnv;
  /** Where the kernel log is read from; tests pass a fake. */
  kernelLog?: () => KernelLog;
}

const TEXT: Record<FailureReason, { message: string; hint: string }> = {
  'not-entitled': { message: 'This console is not assigned to you.', hint: 'If you need it, ask your administrator to give you access.' },
  'outside-window': { message: 'This console cannot be opened at this time.', hint: 'Try again during your allowed hours, or ask your administrator.' },
  'no-sudo-rule': { message: 'This computer is not set up to open this console for you.', hint: 'Ask your administrator to apply the consolegate policy on this computer again.' },
  'viewer-unavailable': { message: 'The console viewer program is missing on this computer.', hint: 'Ask your administrator to install the console viewer (remote-viewer).' },
  'no-policy': { message: 'Consoles are not set up on this computer.', hint: 'Ask your administrator to apply the consolegate policy on this computer.' },
  'firewall-refused': { message: 'The connection to the console was refused.', hint: 'Ask your administrator to check the consolegate firewall rules (Diagnostics may help).' },
  'tls-error': { message: 'The console server could not prove who it is, so the connection was stopped.', hint: 'Do not retry. Tell your administrator: the server certificate does not match.' },
  'wrong-password': { message: 'The console password was not accepted.', hint: 'Try again with the right password. If you do not know it, ask your administrator.' },
  unreachable: { message: 'The console server could not be reached.', hint: 'Check your network connection, then try again. If it keeps happening, tell your administrator.' },
  unknown: { message: 'The console could not be opened.', hint: 'Try again. If it keeps happening, open Diagnostics and tell your administrator what it shows.' },
};

/** Builds the failed state for a reason, with its plain-words message, a detail in brackets, and the hint. */
export function explain(reason: FailureReason, detail?: string): ConsoleState & { state: 'failed' } {
  const t = TEXT[reason];
  const d = detail?.trim().slice(0, 300);
  return { state: 'failed', reason, message: d ? `${t.message} (${d})` : t.message, hint: t.hint };
}

/** What the kernel log says about this user's refused connection: seen, readable but silent, or not readable here. */
export type KernelLogVerdict = 'deny-seen' | 'no-deny' | 'unreadable';

/** What the service saw besides the exit status and the output; classify's only other input. */
export interface Observations {
  /** The command is still running. */
  running: boolean;
  /** The viewer's connection came up (see `connectedSockets`). */
  connected: boolean;
  /** stop() was called: an end by signal is then a normal close. */
  stopped: boolean;
  /** The connect timeout passed without a connection. */
  timedOut: boolean;
  /** The kernel log's verdict, looked at only when the connection failed. */
  kernelLog: KernelLogVerdict;
  /** execa could not start the command at all (e.g. sudo missing), with its message. */
  spawnError?: string;
  /** "host:port", for messages. */
  endpoint: string;
}

// The strings below are the real ones (remote-viewer 11 / spice-gtk 0.42 / spice-common, Debian 12); docs/demo.md lists them.
const OPEN_CONSOLE_LINE = /^open-console: (.*)$/m;
const SUDO_LINE = /^sudo: (.*)$/m;
const SUDO_NO_RULE = /a password is required|is not allowed to execute|is not in the sudoers file|may not run sudo|a terminal is required/;
const SUDO_NO_SETUP = /unknown (?:user|group)|command not found/;
// spice-common ssl_verify.c warnings ("Error in certificate chain verification: …", "ssl: subject '…' verification
// failed", …) and spice-gtk's "SSL_connect: …" — printed as GLib warnings, so they need no --debug.
const TLS_VERIFY = /openssl_verify: (Error in (?:certificate chain|server certificate) verification: [^\n]*|ssl: [^\n]*verification failed)/;
const TLS_CONNECT = /SSL_connect: [^\n]*|SSL_read: [^\n]*|SSL handshake[^\n]*/;
// virt-viewer's g_debug lines, printed on stdout with `remote-viewer --debug`.
const AUTH_FAILURE = /main channel: auth failure/;
const CONNECT_FAILURE = /main channel: failed to connect ?([^\n]*)/;
const NO_DISPLAY = /cannot open display[^\n]*/i;

/** Turns an exit status (null while running or after a signal), the command's output and what was observed into a state. */
export function classify(exitCode: number | null, output: string, obs: Observations): ConsoleState {
  if (obs.spawnError !== undefined) {
    return explain(/ENOENT/.test(obs.spawnError) ? 'no-sudo-rule' : 'unknown', obs.spawnError);
  }
  if (!obs.running && obs.stopped) return { state: 'closed', exitCode };

  // open-console's own refusals: the exit code alone could be the viewer's, its one-line message proves it is not.
  const oc = OPEN_CONSOLE_LINE.exec(output);
  if (exitCode !== null && exitCode >= 64 && exitCode <= 70 && oc !== null) {
    const line = oc[1] as string;
    const byCode: Record<number, FailureReason> = { 64: 'unknown', 65: 'no-sudo-rule', 66: 'no-policy', 67: 'not-entitled', 68: 'outside-window', 69: 'viewer-unavailable', 70: 'unknown' };
    return explain(byCode[exitCode] ?? 'unknown', line);
  }
  // sudo refuses with exit 1 and a `sudo:` line before anything runs.
  const sudo = SUDO_LINE.exec(output);
  if (exitCode === 1 && sudo !== null) {
    const line = sudo[1] as string;
    if (SUDO_NO_RULE.test(line)) return explain('no-sudo-rule', `sudo: ${line}`);
    // No viewer group or no open-console: the policy was never applied here.
    if (SUDO_NO_SETUP.test(line)) return explain('no-policy', `sudo: ${line}`);
  }

  if (!obs.connected) {
    const failure = viewerFailure(output, obs);
    if (failure !== null) return failure;
  }
  if (obs.running) {
    if (obs.connected) return { state: 'connected' };
    if (obs.timedOut) {
      // Without --debug, remote-viewer says nothing about a refused port or a wrong password: it just waits in a dialog.
      return explain('unknown', `no connection to ${obs.endpoint} after the time limit, and the viewer gave no reason`);
    }
    return { state: 'launching' };
  }
  if (obs.connected || exitCode === 0) return { state: 'closed', exitCode };
  const last = lastLine(output);
  return explain('unknown', exitCode === null ? 'the viewer was ended by a signal' : `exit status ${exitCode}${last ? `: ${last}` : ''}`);
}

// The viewer's own account of a failed connection, or the kernel's deny log; null when neither says anything yet.
function viewerFailure(output: string, obs: Observations): ConsoleState | null {
  const verify = TLS_VERIFY.exec(output);
  if (verify !== null) return explain('tls-error', verify[1]);
  const tls = TLS_CONNECT.exec(output);
  if (tls !== null) return explain('tls-error', tls[0]);
  if (AUTH_FAILURE.test(output)) return explain('wrong-password');
  if (obs.kernelLog === 'deny-seen') {
    return explain('firewall-refused', `this computer's firewall refused ${obs.endpoint} for your user (kernel log)`);
  }
  const connect = CONNECT_FAILURE.exec(output);
  if (connect !== null) {
    const detail = (connect[1] as string).trim();
    if (/Connection refused/i.test(detail)) {
      // A reset at the SYN looks the same whether our firewall or the server sent it; only the kernel log can tell.
      if (obs.kernelLog === 'no-deny') return explain('unreachable', `${obs.endpoint} refused the connection; this computer's firewall did not`);
      return explain('firewall-refused', `${obs.endpoint} refused the connection: this computer's firewall or the server did it; the kernel log that would tell is not readable for you`);
    }
    return explain('unreachable', detail || obs.endpoint);
  }
  const noDisplay = NO_DISPLAY.exec(output);
  if (noDisplay !== null) return explain('unknown', `the viewer ${noDisplay[0]}`);
  return null;
}

function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

/** A view of the kernel log from the moment it was opened: `check` says whether a deny for this uid and port appeared since. */
export interface KernelLog {
  check(q: { uid: number; port: number }): KernelLogVerdict;
  close(): void;
}

/** Matches a `consolegate-deny` line (nft or iptables LOG format) for one uid and destination port. */
export function isDenyLine(line: string, q: { uid: number; port: number }): boolean {
  return line.includes('consolegate-deny') && new RegExp(`\\bUID=${q.uid}\\b`).test(line) && new RegExp(`\\bDPT=${q.port}\\b`).test(line);
}

/**
 * Reads /dev/kmsg from "now" on. Readable when kernel.dmesg_restrict=0 or with CAP_SYSLOG (root); Debian sets
 * dmesg_restrict=1, so for an ordinary user this is 'unreadable' and a refusal cannot be pinned on the firewall.
 */
export function openKmsg(device = '/dev/kmsg'): KernelLog {
  let fd: number | null = null;
  try {
    fd = openSync(device, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    drainKmsg(fd); // skip what was logged before the launch
  } catch {
    if (fd !== null) closeSync(fd);
    fd = null;
  }
  const lines: string[] = [];
  return {
    check(q) {
      if (fd === null) return 'unreadable';
      lines.push(...drainKmsg(fd));
      return lines.some((l) => isDenyLine(l, q)) ? 'deny-seen' : 'no-deny';
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

// One read() returns one record; EAGAIN means we are at the end, EPIPE that records were overwritten meanwhile.
function drainKmsg(fd: number): string[] {
  const out: string[] = [];
  const buf = Buffer.alloc(16384);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') continue;
      if (code === 'EAGAIN') return out;
      throw err;
    }
    if (n === 0) return out;
    const rec = buf.toString('utf8', 0, n);
    out.push(rec.slice(rec.indexOf(';') + 1));
  }
}

/** SPICE opens its display/inputs/cursor channels only after the server accepted the password on the main channel. */
export const CONNECTED_SOCKETS = 2;

/** Starts the console and follows it; the viewer runs detached so it outlives the launcher. */
export function openConsole(vm: ConsoleTarget, opts: ConsoleOptions): ConsoleSession {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 50;
  const uid = process.getuid?.() ?? -1;
  const endpoint = `${vm.host}:${vm.tlsPort}`;
  let last: ConsoleState = { state: 'launching' };
  const emit = (s: ConsoleState): void => {
    // Each state is reported once; nothing follows a final one.
    if (s === last || s.state === last.state || last.state === 'failed' || last.state === 'closed') return;
    last = s;
    opts.onState?.(s);
  };
  opts.onState?.(last);

  const kernelLog = (opts.kernelLog ?? openKmsg)();
  // The output goes to a private file, not a pipe: a pipe would break (SIGPIPE) the viewer when the launcher quits.
  const logDir = mkdtempSync(path.join(os.tmpdir(), `consolegate-${vm.id}-`));
  const logFile = path.join(logDir, 'output.log');
  const [file, ...args] = vm.command;
  const addresses = resolveAll(vm.host);
  // Sockets to the VM's port that already exist (another console of ours) must not count as this launch's
  // connection; read synchronously so the snapshot is complete before the command can connect.
  let existing: Set<number>;
  try {
    existing = new Set(readTcpTableSync().filter((s) => s.uid === uid && s.remotePort === vm.tlsPort).map((s) => s.inode));
  } catch {
    existing = new Set<number>();
  }
  const before = Promise.resolve(existing);

  const child = execa(file ?? 'false', args, {
    // open-console reads one line from stdin; the password never appears in argv or on disk.
    input: opts.password !== undefined && opts.password !== '' ? `${opts.password}\n` : '',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    env: opts.env,
    detached: true,
    cleanup: false,
    reject: false,
  });
  const started = Date.now();
  let stopped = false;
  let connected = false;
  let settled = false;
  let failure: ConsoleState | null = null;

  function sockets(table: TcpSocket[], addrs: Set<string>): TcpSocket[] {
    return matchSockets(table, { uid, addresses: addrs, port: vm.tlsPort });
  }
  const output = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const observe = (running: boolean, extra: Partial<Observations> = {}): Observations => ({
    running,
    connected,
    stopped,
    timedOut: !connected && Date.now() - started > connectTimeoutMs,
    kernelLog: 'unreadable',
    endpoint,
    ...extra,
  });

  let polling = false;
  const timer = setInterval(() => {
    if (polling || settled || failure !== null) return;
    polling = true;
    void tick().finally(() => {
      polling = false;
    });
  }, pollMs);

  async function tick(): Promise<void> {
    if (!connected) {
      try {
        const [table, addrs, old] = await Promise.all([readTcpTable(), addresses, before]);
        if (sockets(table, addrs).filter((s) => !old.has(s.inode)).length >= CONNECTED_SOCKETS) connected = true;
      } catch {
        // An unreadable table leaves us at "launching"; the viewer's own output and exit still decide.
      }
    }
    const text = output();
    let state = classify(null, text, observe(true));
    if (state.state === 'failed' && !connected) {
      // A refusal is pinned on the firewall only by the kernel log, which must be read now, before it rotates.
      state = classify(null, text, observe(true, { kernelLog: kernelLog.check({ uid, port: vm.tlsPort }) }));
      failure = state;
      emit(state);
      // remote-viewer stays in an error or password dialog after a failed connection: end it.
      killTree(child.pid);
      return;
    }
    if (settled) return;
    emit(state);
    // Once connected only the exit matters (closed); stop re-reading a log that grows for as long as the session lasts.
    if (state.state === 'connected') clearInterval(timer);
  }

  const done = child.then((r) => {
    settled = true;
    clearInterval(timer);
    const code = typeof r.exitCode === 'number' ? r.exitCode : null;
    const spawnError = r.failed && r.exitCode === undefined && r.signal === undefined ? r.shortMessage || r.message : undefined;
    let final: ConsoleState;
    if (failure !== null) {
      final = failure;
    } else {
      const text = output();
      const obs = observe(false, { spawnError });
      final = classify(code, text, obs);
      if (final.state === 'failed' && final.reason !== 'tls-error' && final.reason !== 'wrong-password') {
        final = classify(code, text, { ...obs, kernelLog: kernelLog.check({ uid, port: vm.tlsPort }) });
      }
    }
    kernelLog.close();
    rmSync(logDir, { recursive: true, force: true });
    emit(final);
    return final;
  });

  return {
    vmId: vm.id,
    pid: child.pid,
    done,
    stop() {
      if (settled) return;
      stopped = true;
      killTree(child.pid);
    },
  };
}

async function resolveAll(host: string): Promise<Set<string>> {
  try {
    const all = await lookup(host, { all: true, verbatim: true });
    return new Set(all.map((a) => normalizeAddress(a.address)));
  } catch {
    // The viewer will fail to resolve it too and say so; we only lose the "connected" signal.
    return new Set();
  }
}

/**
 * Ends sudo and everything below it. sudo (real uid = us) relays SIGTERM to open-console, which runs as root and
 * passes it on; the viewer runs as us (with the viewer group), and kill() checks only uids, so we signal it
 * directly too in case nobody relays. open-console itself refuses our signals (EPERM), which is fine.
 */
export function killTree(pid: number | undefined, opts: { graceMs?: number } = {}): void {
  if (pid === undefined) return;
  // Remember each process's start time so the late SIGKILL cannot hit a new process that reused the pid.
  const pids = [...descendants(pid), pid].map((p) => ({ p, start: startTime(p) }));
  const send = (sig: NodeJS.Signals): void => {
    for (const { p, start } of pids) {
      if (start === null || startTime(p) !== start) continue;
      try {
        process.kill(p, sig);
      } catch {
        // Gone already, or not ours (EPERM): nothing more we may do.
      }
    }
  };
  send('SIGTERM');
  const t = setTimeout(() => send('SIGKILL'), opts.graceMs ?? 3000);
  t.unref();
}

// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot.
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Every process below `pid`, deepest first, from /proc/<pid>/stat (world-readable, unlike fd/). */
export function descendants(pid: number, proc = '/proc'): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`${proc}/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // Exited meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        walk(child);
        out.push(child);
      }
    }
  };
  walk(pid);
  return out;
}
