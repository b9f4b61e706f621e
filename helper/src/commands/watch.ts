// `watch`: long-running; puts our saved rules back within a second of any foreign change to them.
import { stat } from 'node:fs/promises';
import os from 'node:os';
import { acquireLock } from '../apply/lock.js';
import { sidesOf, type Side, type Transaction } from '../apply/monitor-events.js';
import { startMonitor, type Monitor } from '../apply/monitor.js';
import { OWN_COMM_PREFIX, ownCommands, type OwnCommands } from '../apply/monitor-own.js';
import { readSaved, restoreSaved } from '../apply/saved.js';
import { ConsolegateError, messageOf } from '../errors.js';
import { IPT_CHAIN } from '../plan/iptables.js';
import { NFT_TABLE } from '../plan/nft.js';
import { statePaths } from '../paths.js';
import { hasCommand } from '../system/exec.js';
import type { Context, Outcome } from './context.js';
import { requireRoot } from './context.js';

/** Timings of the repair loop; tests and the benchmark may shorten them. */
export interface WatchOptions {
  signal: AbortSignal;
  /** A burst of transactions (a firewalld reload makes several) ends after this much quiet. */
  quietMs?: number;
  /** ... but a repair never waits longer than this after the first change of a burst. */
  maxDelayMs?: number;
}

const DEFAULTS = { quietMs: 40, maxDelayMs: 200 };
// nft subscribes its netlink socket right after exec; changes before that are covered by the first restore.
const SUBSCRIBE_MS = 100;
// A monitor that keeps dying (netlink overruns on a huge load end it with ENOBUFS) gets restarted this often
// per minute; beyond that the unit's Restart= takes over.
const MAX_MONITOR_EXITS = 5;
// Holding the apply lock for longer means a wedged apply: log, and try again on the next change.
const LOCK_WAIT_S = 300;
const LOST_REPAIR_EVERY_MS = 60_000;

/** A repair to make: the sides touched (with the first line that touched each), since when, by whom. */
interface Job {
  sides: Map<Side, string>;
  since: number;
  by: string;
}

/** Runs until SIGTERM/SIGINT; exit 0 then. Fails (exit 1) only when nft cannot be watched at all. */
export async function watch(ctx: Context): Promise<Outcome> {
  requireRoot('watch');
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await watchRules(ctx, { signal: ac.signal });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
  return 'ok';
}

/**
 * Hears every ruleset transaction through `nft monitor`; one by another process that touched our table (nft) or
 * our chain/jumps (iptables-nft) schedules `restoreSaved` under the apply lock. Transactions made by our own nft
 * and iptables-restore children are recognised (monitor-own.ts: by name and pid), so repairs never loop.
 */
export async function watchRules(ctx: Context, options: WatchOptions): Promise<void> {
  const log = (text: string): void => ctx.out.warn(`watch: ${text}`);
  if (!(await hasCommand('nft'))) {
    throw new ConsolegateError('BACKEND_UNAVAILABLE', '`watch` hears of ruleset changes through `nft monitor`, and nft is not installed (apt install nftables)');
  }

  const own = await ownCommands(ctx.exec);
  if (!own.named) log(`could not name our nft runs (${OWN_COMM_PREFIX}…) in ${os.tmpdir()}: inside a pid namespace our own repairs would look foreign`);
  try {
    await watchWith(ctx, options, own, log);
  } finally {
    await own.close();
  }
}

async function watchWith(ctx: Context, options: WatchOptions, own: OwnCommands, log: (text: string) => void): Promise<void> {
  const { signal } = options;
  const quietMs = options.quietMs ?? DEFAULTS.quietMs;
  const maxDelayMs = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const sp = statePaths(ctx.paths.stateDir);

  // The saved backend, re-read only when firewall.json changes (it can be megabytes at 100,000 entitlements).
  let backendCache: { key: string; backend: Side | null } | null = null;
  const savedBackend = async (): Promise<Side | null> => {
    const st = await stat(sp.firewall).catch(() => null);
    const key = st === null ? 'none' : `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (backendCache?.key !== key) backendCache = { key, backend: st === null ? null : ((await readSaved(ctx.paths.stateDir))?.backend ?? null) };
    return backendCache.backend;
  };

  let legacyChecked = false;
  const warnIfLegacy = async (): Promise<void> => {
    if (legacyChecked) return;
    legacyChecked = true;
    const r = await ctx.exec(['iptables', '--version']).catch(() => null);
    if (r !== null && /legacy/.test(r.stdout)) {
      log('iptables is iptables-legacy, whose changes send no events: only nft changes are repaired at once, the rest by consolegate-refresh.timer');
    }
  };

  // The pending repair: which sides were touched and why, since when.
  let pending: Job | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let retryMs = 0;

  const schedule = (sides: Map<Side, string>, by: string): void => {
    const now = Date.now();
    if (pending === null) pending = { sides: new Map(sides), since: now, by };
    else for (const [s, l] of sides) if (!pending.sides.has(s)) pending.sides.set(s, l);
    if (running !== null) return; // the running repair picks it up when it ends
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(kick, Math.max(0, Math.min(quietMs, pending.since + maxDelayMs - now)));
  };

  const kick = (): void => {
    timer = null;
    if (pending === null || running !== null || signal.aborted) return;
    const job = pending;
    pending = null;
    void runNow(job);
  };

  const runNow = (job: Job): Promise<void> => {
    const done = repair(job).finally(() => {
      running = null;
      if (pending !== null && !signal.aborted) schedule(new Map(), pending.by);
    });
    running = done;
    return done;
  };

  const repair = async (job: Job): Promise<void> => {
    // Wait for a running apply rather than skip: it may already have loaded its rules before the foreign change,
    // and loading the saved rules without the lock could put back a grant that apply is revoking right now.
    let lock;
    try {
      lock = await acquireLock(ctx.exec, sp.lock, LOCK_WAIT_S);
    } catch (err) {
      log(`${messageOf(err)}; trying again on the next change`);
      return;
    }
    try {
      const backend = await savedBackend();
      if (backend === null) return; // nothing applied yet (or removed): nothing of ours to put back
      const why = job.sides.get(backend);
      if (why === undefined) return; // only the other backend's objects changed
      if (backend === 'iptables') await warnIfLegacy();
      const started = Date.now();
      const { result } = await restoreSaved(own.exec, ctx.paths.stateDir);
      if (result === 'restored') {
        log(`restored the saved ${backend} rules after \`${why}\` by ${job.by} (${Date.now() - job.since} ms after the change, load ${Date.now() - started} ms)`);
      }
      retryMs = 0;
    } catch (err) {
      // A load that fails (a foreign object in the way, nft busy) is tried again with backoff, up to a minute.
      retryMs = Math.min(60_000, Math.max(1000, retryMs * 2));
      log(`could not restore the saved rules: ${messageOf(err)}; trying again in ${retryMs / 1000} s`);
      const retry = setTimeout(() => schedule(job.sides, job.by), retryMs);
      signal.addEventListener('abort', () => clearTimeout(retry), { once: true });
    } finally {
      await lock.release();
    }
  };

  const onTransaction = (t: Transaction): void => {
    if (own.isOwn(t)) return;
    const sides = sidesOf(t);
    if (sides.size === 0) return;
    schedule(sides, t.pid === null ? 'an unknown process' : `${t.comm ?? '?'}[${t.pid}]`);
  };

  const everything = (why: string): Map<Side, string> => new Map<Side, string>([['nftables', why], ['iptables', why]]);
  // Dropped events may have been anyone's, so reload; but at most once a minute, since a reload of 100,000
  // elements could itself overrun the socket and must not feed a loop.
  let lastLostRepair = -Infinity;
  const onLost = (message: string): void => {
    const wait = Math.max(0, lastLostRepair + LOST_REPAIR_EVERY_MS - Date.now());
    log(`nft monitor: ${message}; reloading ${wait > 0 ? `in ${Math.round(wait / 1000)} s` : 'now'}`);
    const go = (): void => {
      lastLostRepair = Date.now();
      schedule(everything('lost events'), 'an unknown process');
    };
    if (wait === 0) go();
    else {
      const t = setTimeout(go, wait);
      signal.addEventListener('abort', () => clearTimeout(t), { once: true });
    }
  };
  const exits: number[] = [];
  let monitor: Monitor | null = null;
  signal.addEventListener('abort', () => monitor?.stop(), { once: true });
  let first = true;
  while (!signal.aborted) {
    monitor = startMonitor(onTransaction, onLost);
    try {
      await monitor.started;
    } catch (err) {
      throw new ConsolegateError('BACKEND_UNAVAILABLE', `cannot start \`nft monitor\`: ${messageOf(err)}`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, SUBSCRIBE_MS));
    // Whatever changed while nobody listened (before this start, or while the monitor was down) is repaired now.
    await running;
    await runNow({ sides: everything(first ? 'watch starting' : 'nft monitor restarted'), since: Date.now(), by: 'consolegate-helper watch' });
    if (first) {
      first = false;
      log(`ready: watching table ${NFT_TABLE} and iptables chain ${IPT_CHAIN} for foreign changes (saved rules in ${sp.firewall})`);
    }
    const end = await monitor.exited;
    if (signal.aborted) break;
    const now = Date.now();
    exits.push(now);
    while (exits.length > 0 && exits[0]! < now - 60_000) exits.shift();
    log(`nft monitor exited (${end.signal ?? `code ${end.code}`}${end.stderr ? `: ${end.stderr}` : ''}); changes may have gone unheard, starting it again`);
    if (exits.length >= MAX_MONITOR_EXITS) {
      throw new ConsolegateError('SYSTEM', `nft monitor exited ${exits.length} times within a minute`);
    }
  }
  if (timer !== null) clearTimeout(timer);
  await running;
}
