// `nft monitor` as a stream of transactions: the kernel tells every netlink ruleset change, including those
// iptables-nft makes, so `watch` needs no polling. (iptables-legacy talks setsockopt, not netlink: no events.)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TransactionReader, type Transaction } from './monitor-events.js';

/** A running `nft monitor`. */
export interface Monitor {
  /** Resolves once the child runs (its netlink socket is subscribed a moment later). */
  readonly started: Promise<void>;
  /** Resolves when the child has exited, with its exit status and the end of its stderr. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  stop(): void;
}

/** Starts `nft monitor` (all object types) and calls `onTransaction` for each committed transaction. */
export function startMonitor(onTransaction: (t: Transaction) => void, onLost: (message: string) => void): Monitor {
  // LC_ALL=C: the lines are parsed; TZ is irrelevant (no times are printed for events).
  const child = spawn('nft', ['monitor'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const reader = new TransactionReader(onTransaction, onLost);
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (l) => reader.line(l));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-2000);
  });
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, stderr: err.message }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim() }));
  });
  return {
    started,
    exited,
    stop: () => void child.kill('SIGTERM'),
  };
}
