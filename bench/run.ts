// `npm run bench`: runs the benchmarks in network namespaces and prints their tables. Never asserts timings:
// a benchmark fails only when it cannot measure (a setup step failed, or a variant did not enforce).
//
//   node --import tsx bench/run.ts [--quick] [--only apply,connect,bulk,memory,sudo] [--markdown] [--json FILE]
//                                  [--sizes 10,100000] [--backends nftables] [--runs 1]   (apply only)
//
// --quick (or BENCH_QUICK=1) uses small sizes so CI can keep the benchmarks working in about a minute.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { benchApply } from './apply.js';
import { benchBulk } from './bulk.js';
import { benchConnect } from './connect.js';
import { benchMemory } from './memory.js';
import { benchSudoCheck } from './sudo-check.js';
import { describeMachine, loadAverage, machineLines } from './support/machine.js';
import { nativeUnavailable } from './support/native.js';
import { renderTable, type Table } from './support/report.js';
import { cleanupAllWorlds } from './support/world.js';
import { rootTestsUnavailable } from '../test/support/sandbox.js';

const ALL = ['apply', 'connect', 'bulk', 'memory', 'sudo'] as const;
type Bench = (typeof ALL)[number];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
      only: { type: 'string' },
      markdown: { type: 'boolean', default: false },
      json: { type: 'string' },
      sizes: { type: 'string' },
      backends: { type: 'string' },
      runs: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const only = (values.only?.split(',') ?? [...ALL]) as Bench[];
  const unknown = only.filter((b) => !(ALL as readonly string[]).includes(b));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`);
    return 64;
  }
  const why = await rootTestsUnavailable();
  if (why) {
    process.stderr.write(`bench: cannot run: ${why}\n`);
    return 1;
  }

  const log = (line: string) => void process.stderr.write(`${line}\n`);
  const machine = await describeMachine();
  const tables: Table[] = [];
  const raw: Record<string, unknown> = { machine, quick };
  if (only.includes('apply')) {
    const r = await benchApply({
      sizes: values.sizes?.split(',').map(Number) ?? (quick ? [10, 1000] : [10, 1000, 10_000, 100_000]),
      backends: (values.backends?.split(',') as ('nftables' | 'iptables')[] | undefined) ?? ['nftables', 'iptables'],
      runs: (n, backend) => (values.runs ? Number(values.runs) : quick ? 2 : n >= 100_000 ? (backend === 'iptables' ? 2 : 3) : 5),
      perPairAtLargest: !quick,
      groupAtLargest: !quick,
      distinctAtLargest: !quick,
      naiveMax: quick ? 200 : 1000,
      log,
    });
    tables.push(...r.tables);
    raw.apply = r.raw;
  }
  if (only.includes('connect')) {
    const missing = await nativeUnavailable();
    if (missing) log(`bench: skipping connect: ${missing}`);
    else {
      // Many short rounds: the machine's background load drifts within seconds, and pairs measured close
      // together in time cancel most of it.
      const r = await benchConnect({ entitlements: quick ? 1000 : 100_000, rounds: quick ? 4 : 40, roundMs: quick ? 100 : 150, log });
      tables.push(r.table);
      raw.connect = r.raw;
    }
  }
  if (only.includes('bulk')) {
    const missing = await nativeUnavailable();
    if (missing) log(`bench: skipping bulk: ${missing}`);
    else {
      const r = await benchBulk({ entitlements: quick ? 1000 : 100_000, rounds: quick ? 2 : 10, roundMs: quick ? 200 : 500, cuts: quick ? 2 : 5, log });
      tables.push(...r.tables);
      raw.bulk = r.raw;
    }
  }
  if (only.includes('memory')) {
    const r = await benchMemory({ entitlements: quick ? 10_000 : 100_000, repeats: quick ? 2 : 5, log });
    tables.push(r.table);
    raw.memory = r.raw;
  }
  if (only.includes('sudo')) {
    // The per-click sudo check at 10 and at 100,000 entitlements, with the real rendered file (issue 12).
    const r = await benchSudoCheck({ sizes: quick ? [10, 10_000] : [10, 100_000], rounds: quick ? 2 : 6, callsPerRound: quick ? 5 : 10, variants: true, log });
    tables.push(r.table);
    raw.sudo = r.raw;
  }

  const format = values.markdown ? 'markdown' : 'text';
  const header = machineLines(machine, loadAverage());
  process.stdout.write(format === 'markdown' ? `${header.map((l) => `- ${l}`).join('\n')}\n\n` : `${header.join('\n')}\n\n`);
  for (const t of tables) process.stdout.write(`${renderTable(t, format)}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify(raw, null, 2) + '\n');
  return 0;
}

// Ctrl-C or a CI timeout must not leave namespaces and temp trees behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`bench: ${sig}: cleaning up\n`);
    void cleanupAllWorlds().finally(() => process.exit(130));
  });
}

main().then(
  (code) => (process.exitCode = code),
  async (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanupAllWorlds();
    process.exitCode = 1;
  },
);
