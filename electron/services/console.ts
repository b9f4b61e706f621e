// The console session: runs a VM's exact open-console command (sudo → open-console → remote-viewer), follows it, and
// reports launching → connected → closed, or failed with a reason (console-classify.ts) in plain words
// (console-text.ts). Plain Node, no Electron.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { classify, type Observations } from './console-classify.js';
import type { ConsoleState } from './console-text.js';
import { openKmsg, type KernelLog } from './kmsg.js';
import { killTree } from './process-tree.js';
import { matchSockets, normalizeAddress, readTcpTable, readTcpTableSync, type TcpSocket } from './tcp-state.js';

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
  /** How long after "connected" the output is still read for a refused certificate or password. */
  confirmMs?: number;
  /** Extra environment for the command (sudo keeps only what its env_keep allows). */
  env?: NodeJS.ProcessEnv;
  /** Where the kernel log is read from; tests pass a fake. */
  kernelLog?: () => KernelLog;
}

/** SPICE opens its display/inputs/cursor channels only after the server accepted the password on the main channel. */
export const CONNECTED_SOCKETS = 2;

/** Starts the console and follows it; the viewer runs detached so it outlives the launcher. */
export function openConsole(vm: ConsoleTarget, opts: ConsoleOptions): ConsoleSession {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 50;
  const confirmMs = opts.confirmMs ?? 5_000;
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
  let connectedAt: number | undefined;
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
    if (state.state === 'failed') {
      // A refusal is pinned on the firewall only by the kernel log, which must be read now, before it rotates.
      if (!connected) state = classify(null, text, observe(true, { kernelLog: kernelLog.check({ uid, port: vm.tlsPort }) }));
      failure = state;
      emit(state);
      // remote-viewer stays in an error or password dialog after a failed connection: end it.
      killTree(child.pid);
      return;
    }
    if (settled) return;
    emit(state);
    // A late refusal (classify) shows within moments of the sockets; after that only the exit matters (closed), so
    // stop re-reading a log that grows for as long as the session lasts.
    if (state.state === 'connected') {
      connectedAt ??= Date.now();
      if (Date.now() - connectedAt > confirmMs) clearInterval(timer);
    }
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
