// How long our rules stay away after a foreign `nft flush ruleset` with `consolegate-helper watch` running, at a
// few sizes of saved rules. Measured by a second `nft monitor tables` in the namespace: from `delete table inet
// consolegate` (the flush committed) to `add table inet consolegate` (the watch's reload committed), so the figure
// includes the watch hearing the flush, its debounce, the apply lock and the load, and none of our own polling.
//
//   node --import tsx bench/watch.ts [--sizes 10,1000,100000] [--runs 10] [--classes]
//
// --classes: the saved tuples in the apply bench's per-vm shape (held as uid classes) instead of all distinct.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { writeSaved } from '../helper/src/apply/saved.js';
import type { FirewallModel, Tuple } from '../helper/src/plan/firewall-model.js';
import { exec, mustExec } from '../helper/src/system/exec.js';
import { HELPER, rootTestsUnavailable } from '../test/support/sandbox.js';
import { sizesFor, vmsOf } from './support/policy-gen.js';
import { median, quantile, renderTable, type Table } from './support/report.js';

/**
 * A model with `n` always-on IPv4 tuples (numeric uids: no accounts needed to load it). `classes`: the apply
 * bench's per-vm shape (n/10 users, 10 VMs each, 100 users alike), which the rules hold as uid classes; otherwise
 * every tuple a distinct endpoint, one set element each.
 */
function model(n: number, classes: boolean): FirewallModel {
  const v4: Tuple[] = [];
  if (classes) {
    const s = sizesFor(n);
    for (let u = 0; u < s.users; u++) {
      for (const v of vmsOf(u, s)) v4.push({ uid: 3_000_000 + u, addr: `10.0.${v >> 8}.${v & 255}`, port: 20000 + v });
    }
  } else {
    for (let i = 0; i < n; i++) v4.push({ uid: 3_000_000 + Math.floor(i / 10), addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 20000 + (i % 10) });
  }
  return { viewerGid: 2_999_999, groups: [{ name: 'allow', slots: null, v4, v6: [] }], ports: [{ from: 20000, to: 20999 }], log: true };
}

/** Our table deleted or added, as our own monitor printed it (the kernel sends the events when it commits). */
interface Seen {
  at: number;
  deleted: boolean;
}

async function measure(ns: string, stateDir: string, n: number, classes: boolean, runs: number, log: (l: string) => void): Promise<{ ms: number[]; loadMs: number[] }> {
  await writeSaved(stateDir, { backend: 'nftables', reason: 'applied', model: model(n, classes) });
  const seen: Seen[] = [];
  // Only table events: element lines (100,000 per load) would delay these by seconds.
  const monitor = spawn('ip', ['netns', 'exec', ns, 'nft', 'monitor', 'tables'], { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: monitor.stdout }).on('line', (l) => {
    if (l.startsWith('# ERROR')) process.stderr.write(`bench monitor: ${l}\n`);
    if (l.startsWith('delete table inet consolegate')) seen.push({ at: performance.now(), deleted: true });
    else if (l.startsWith('add table inet consolegate')) seen.push({ at: performance.now(), deleted: false });
  });
  const watch: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, HELPER, 'watch'], {
    env: { ...process.env, CONSOLEGATE_STATE_DIR: stateDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let watchLog = '';
  const loadMs: number[] = [];
  await new Promise<void>((resolve, reject) => {
    watch.stderr!.on('data', (b: Buffer) => {
      watchLog += b.toString();
      for (const m of b.toString().matchAll(/load (\d+) ms/g)) loadMs.push(Number(m[1]));
      if (watchLog.includes('watch: ready')) resolve();
    });
    watch.once('exit', (code) => reject(new Error(`watch exited ${code}: ${watchLog}`)));
  });
  loadMs.length = 0; // the start-up load is not a repair
  const ms: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      await new Promise((res) => setTimeout(res, n >= 100_000 ? 8000 : n >= 10_000 ? 2000 : 300)); // let the previous repair's events drain
      const from = seen.length;
      await mustExec(exec, ['ip', 'netns', 'exec', ns, 'nft', 'flush', 'ruleset']);
      const deadline = performance.now() + 30_000;
      let flushAt: number | null = null;
      let backAt: number | null = null;
      while (backAt === null && performance.now() < deadline) {
        for (const s of seen.slice(from)) {
          if (flushAt === null && s.deleted) flushAt = s.at;
          else if (flushAt !== null && !s.deleted) backAt = s.at;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
      if (flushAt === null || backAt === null) throw new Error(`run ${r}: table not back within 30 s; watch said:\n${watchLog}`);
      ms.push(backAt - flushAt);
    }
  } finally {
    watch.kill('SIGTERM');
    monitor.kill('SIGTERM');
  }
  log(`watch: ${n} tuples${classes ? ' (uid classes)' : ''}: ${ms.map((x) => x.toFixed(0)).join(' ')} ms`);
  if (process.env.BENCH_VERBOSE) log(watchLog);
  return { ms, loadMs };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10,1000,100000' }, runs: { type: 'string', default: '10' }, classes: { type: 'boolean', default: false } } });
  const classes = values.classes!;
  const why = await rootTestsUnavailable();
  if (why) {
    process.stderr.write(`bench: cannot run: ${why}\n`);
    return 1;
  }
  const table: Table = { title: 'watch: foreign `nft flush ruleset` → our table committed again', head: [classes ? 'saved tuples (per-vm shape: uid classes)' : 'saved tuples', 'runs', 'median', 'p90', 'max', 'of which the load (median)'], rows: [] };
  for (const n of values.sizes!.split(',').map(Number)) {
    const ns = `cgbench-watch-${process.pid}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-bench-watch-'));
    await mustExec(exec, ['ip', 'netns', 'add', ns]);
    try {
      const runs = n >= 100_000 ? Math.min(5, Number(values.runs)) : Number(values.runs);
      const r = await measure(ns, dir, n, classes, runs, (l) => void process.stderr.write(`${l}\n`));
      const f = (x: number) => `${x.toFixed(0)} ms`;
      table.rows.push([String(n), String(runs), f(median(r.ms)), f(quantile(r.ms, 0.9)), f(Math.max(...r.ms)), r.loadMs.length ? f(median(r.loadMs)) : '-']);
    } finally {
      await exec(['ip', 'netns', 'del', ns]);
      await rm(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${renderTable(table, 'markdown')}\n`);
  return 0;
}

process.exitCode = await main();
