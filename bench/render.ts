// Benchmark: apply's in-process phases at 100,000 entitlements, each timed on its own: parse (loadPolicy), NSS
// (gatherFacts) and render (makePlan, with its parts), plus the firewall.json round trip (writeSaved/readSaved).
//
//   node --import tsx bench/render.ts [--size 100000] [--runs 5] [--shapes per-vm,group] [--cpu-prof DIR]
//
// Two shapes: `per-vm` (10,000 users × 10 VMs, users listed by name per VM: the apply bench's policy) and `group`
// (500 users × 200 VMs, every VM entitled through one group of 500 listed members: a tiny YAML).
//
// gatherFacts is timed honestly, against real NSS answers: the harness creates a World (generated /etc/passwd
// and /etc/group overlay: 10,000 accounts and the 500-member group, no change to the host) and re-runs itself
// inside it, where gatherFacts runs the real `getent` exactly as `apply` does. Nothing else of the world is used:
// no rules are loaded. Each phase runs `--runs` times in one process and the median is printed, beside the first
// (cold: JIT not warmed up, as in a fresh `apply` process). `--cpu-prof DIR` profiles the inner process.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readSaved, writeSaved } from '../helper/src/apply/saved.js';
import { gatherFacts } from '../helper/src/policy/facts.js';
import { loadPolicy } from '../helper/src/policy/load.js';
import { expandGrants } from '../helper/src/plan/grants.js';
import { renderIptables } from '../helper/src/plan/iptables.js';
import { renderNft } from '../helper/src/plan/nft.js';
import { makePlan, planFirewall } from '../helper/src/plan/plan.js';
import { renderSudoers } from '../helper/src/plan/sudoers.js';
import { renderTable as renderConsoleTable, renderViews, viewTexts } from '../helper/src/plan/views.js';
import { viewKeys } from '../helper/src/plan/view-keys.js';
import { exec } from '../helper/src/system/exec.js';
import { groupSizesFor, policyBody, sizesFor, type Shape, type Sizes } from './support/policy-gen.js';
import { loadAverage } from './support/machine.js';
import { fmtInt, fmtMs, median, renderTable, type Table } from './support/report.js';
import { World } from './support/world.js';

const SHAPES = { 'per-vm': sizesFor, group: groupSizesFor } as const satisfies Partial<Record<Shape, (n: number) => Sizes>>;
type RenderShape = keyof typeof SHAPES;

/** What the inner process (inside the world) is told. */
interface InnerConfig {
  runs: number;
  cases: { shape: RenderShape; sizes: Sizes; policyFile: string; fragmentDir: string }[];
  openConsole: string;
  stateDir: string;
  scratch: string;
}

/** One phase's timings, in run order (ms). */
type Timings = Record<string, number[]>;

const PHASES = ['parse', 'gatherFacts', 'makePlan', 'facts+plan', 'views to bytes', '  expandGrants', '  firewall model', '  nft', '  views', '  view keys', '  view texts', '  table', '  sudoers', 'iptables v4+v6', 'writeSaved', 'readSaved'];

async function inner(cfg: InnerConfig): Promise<void> {
  const results: { shape: RenderShape; sizes: Sizes; t: Timings }[] = [];
  for (const c of cfg.cases) {
    const t: Timings = Object.fromEntries(PHASES.map((p) => [p, []]));
    const time = <T>(phase: string, f: () => T): T => {
      const t0 = performance.now();
      const r = f();
      t[phase]!.push(performance.now() - t0);
      return r;
    };
    const timeAsync = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const r = await f();
      t[phase]!.push(performance.now() - t0);
      return r;
    };
    for (let run = 0; run < cfg.runs; run++) {
      const policy = await timeAsync('parse', () => loadPolicy(c.policyFile, c.fragmentDir));
      const facts = await timeAsync('gatherFacts', () => gatherFacts(policy, { exec }));
      const opts = { backend: 'nftables' as const, openConsole: cfg.openConsole, stateDirArg: cfg.stateDir };
      const plan = time('makePlan', () => makePlan(policy, facts, opts));
      t['facts+plan']!.push(t.gatherFacts!.at(-1)! + t.makePlan!.at(-1)!);
      // View texts are built when first read (a rope of their entries' text) and their bytes made when written. Timed
      // here, apart, so no cost is hidden: this is what a first apply pays on top of makePlan for the 10,000 files.
      time('views to bytes', () => {
        let n = 0;
        for (const v of plan.views.values()) n += Buffer.byteLength(v.content);
        return n;
      });
      if (plan.grants.length !== c.sizes.entitlements) throw new Error(`${c.shape}: ${plan.grants.length} grants, expected ${c.sizes.entitlements} (skipped: ${plan.skipped[0]?.message ?? 'none'})`);
      // The parts of makePlan, one by one (same order and inputs as makePlan).
      const { grants } = time('  expandGrants', () => expandGrants(policy, facts));
      const model = time('  firewall model', () => planFirewall(policy, facts, grants));
      time('  nft', () => renderNft(model));
      const views = time('  views', () => renderViews(policy, grants, opts));
      time('  view keys', () => viewKeys(views));
      time('  view texts', () => [...viewTexts(views).values()].map((v) => v.content));
      time('  table', () => JSON.stringify(renderConsoleTable(policy, facts, grants), null, 2));
      time('  sudoers', () => renderSudoers({ grants, openConsole: opts.openConsole, stateDirArg: opts.stateDirArg, sources: policy.files }));
      // Not part of makePlan: apply's firewall fingerprint and the iptables backend render these.
      time('iptables v4+v6', () => renderIptables(model, 4, { addJump: false }) + renderIptables(model, 6, { addJump: false }));
      await timeAsync('writeSaved', () => writeSaved(cfg.scratch, { backend: 'nftables', reason: 'applied', model }));
      const back = await timeAsync('readSaved', () => readSaved(cfg.scratch));
      if (back === null) throw new Error('readSaved returned nothing');
      // A differing file each run, so writeAtomic's "same content" shortcut is never taken.
      await rm(path.join(cfg.scratch, 'firewall.json'), { force: true });
    }
    results.push({ shape: c.shape, sizes: c.sizes, t });
  }
  process.stdout.write(JSON.stringify(results));
}

async function outer(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100000' },
      runs: { type: 'string', default: '5' },
      shapes: { type: 'string', default: Object.keys(SHAPES).join(',') },
      'cpu-prof': { type: 'string' },
    },
  });
  const n = Number(values.size);
  const shapes = values.shapes.split(',') as RenderShape[];
  for (const s of shapes) if (!(s in SHAPES)) throw new Error(`unknown shape ${s}; choose from ${Object.keys(SHAPES).join(', ')}`);
  const sizes = shapes.map((s) => ({ shape: s, sizes: SHAPES[s](n) }));
  const groupUsers = sizes.find((s) => s.shape === 'group')?.sizes.users;
  const w = await World.create(Math.max(...sizes.map((s) => s.sizes.users)), groupUsers === undefined ? {} : { groupMembers: groupUsers });
  try {
    const dir = await mkdtemp(path.join(w.sb.dir, 'render-'));
    const fragmentDir = path.join(dir, 'policy.d');
    await mkdir(fragmentDir);
    const scratch = path.join(dir, 'state');
    await mkdir(scratch, { mode: 0o700 });
    const cases: InnerConfig['cases'] = [];
    for (const { shape, sizes: s } of sizes) {
      const policyFile = path.join(dir, `${shape}.yaml`);
      await writeFile(policyFile, w.sb.policy(policyBody(s, shape)), { mode: 0o600 });
      cases.push({ shape, sizes: s, policyFile, fragmentDir });
    }
    const cfg: InnerConfig = { runs: Number(values.runs), cases, openConsole: w.sb.openConsole, stateDir: w.sb.stateDir, scratch };
    const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values['cpu-prof'])] : [];
    const loadBefore = loadAverage();
    const r = await w.run([process.execPath, ...prof, '--import', 'tsx', fileURLToPath(import.meta.url), '--inner', JSON.stringify(cfg)]);
    if (r.code !== 0) throw new Error(`inner run exited ${r.code}: ${r.stderr.trim().slice(0, 2000)}`);
    const results = JSON.parse(r.stdout) as { shape: RenderShape; sizes: Sizes; t: Timings }[];
    const table: Table = {
      title: `apply's in-process phases at ${fmtInt(n)} entitlements (median of ${cfg.runs}; cold = first run)`,
      head: ['phase', ...results.flatMap((x) => [`${x.shape} (${fmtInt(x.sizes.users)} × ${fmtInt(x.sizes.vms)})`, 'cold'])],
      rows: PHASES.map((p) => [p, ...results.flatMap((x) => [fmtMs(median(x.t[p]!)), fmtMs(x.t[p]![0]!)])]),
      notes: ['makePlan includes its indented parts (timed again one by one); facts+plan is the issue-13 target (≤ 300 ms)', 'gatherFacts runs the real getent against the world\'s generated /etc/passwd and /etc/group', `load average before ${loadBefore}, after ${loadAverage()} (wall times; other work on the machine inflates them)`],
    };
    process.stdout.write(renderTable(table, 'text'));
  } finally {
    await w.cleanup();
  }
}

if (process.argv[2] === '--inner') await inner(JSON.parse(process.argv[3]!) as InnerConfig);
else await outer();
