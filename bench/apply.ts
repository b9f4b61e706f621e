// Benchmark 1: `apply` end to end at 10 … 100,000 entitlements on both backends, where its time goes, what the
// sudoers size costs every later `sudo`, and the naive one-`iptables -A`-per-rule script for comparison.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '../helper/src/plan/plan.js';
import { ROOT } from '../test/support/sandbox.js';
import type { Phases } from './support/apply-phases.js';
import { renderIptables } from '../helper/src/plan/iptables.js';
import { benchPlan } from './support/plan.js';
import { changeAccount, distinctSets, distinctVmsOf, groupSizesFor, policyBody, sizesFor, vmsOf, type Shape } from './support/policy-gen.js';
import { fmtInt, fmtMs, linearFit, median, type Table } from './support/report.js';
import { journaledState, VIEWER_GID, World, userName } from './support/world.js';

/** What to measure. */
export interface ApplyOptions {
  sizes: number[];
  backends: Backend[];
  /** Runs per (size, backend); the median is reported. */
  runs: (entitlements: number, backend: Backend) => number;
  /** Also measure the per-pair YAML shape at the largest size (nftables). */
  perPairAtLargest: boolean;
  /** Also measure the distinct shape (per-vm with no two users alike: no uid classes) at the largest size (nftables). */
  distinctAtLargest: boolean;
  /** Also measure the group shape (500 users × every VM through one group, issue 13) at the largest size (nftables). */
  groupAtLargest: boolean;
  /** Largest rule count the naive script really runs; above it the time is extrapolated. */
  naiveMax: number;
  log: (line: string) => void;
}

/** One (size, backend, shape) measurement. */
export interface ApplyResult {
  entitlements: number;
  backend: Backend;
  shape: Shape;
  firstMs: number[];
  /**
   * First apply right after `remove` with the state directory on a journaled ext4 (per-vm, nftables, ≥ 100,000);
   * null: not measured, or why not.
   */
  journaled: number[] | string | null;
  againMs: number[];
  /** Applying a policy that differs by one entitlement (added, then removed again). */
  changeMs: number[];
  helperMs: number[];
  statusMs: number[];
  /** `restore` at boot: the saved rules loaded into a kernel that has none of ours, without the policy (wall). */
  restoreMs: number[];
  /** …and when, within that run, the protected ports were closed (the grant-less first stage). */
  restoreClosedMs: number[];
  phases: Phases;
  /** The same for the one-entitlement change, when there is one. */
  changePhases: Phases | null;
  sudoersBytes: number;
  visudoMs: number;
  sudoCheckMs: number;
}

/** Loading the same rendered rules with the world's NSS (every account in /etc/passwd) and with the host's. */
export interface NssEffect {
  entitlements: number;
  accounts: number;
  nft: { worldMs: number; shimMs: number; hostMs: number };
  iptables: { worldMs: number; shimMs: number; hostMs: number };
}

/** The naive script's measurements: wall time per batch of rules added one process each. */
export interface NaiveResult {
  batch: number;
  perRuleMs: number[];
}

/** Runs the apply benchmark; returns the tables and raw numbers. */
export async function benchApply(opts: ApplyOptions): Promise<{ tables: Table[]; raw: { apply: ApplyResult[]; naive: NaiveResult; nss: NssEffect | null } }> {
  const results: ApplyResult[] = [];
  const largest = Math.max(...opts.sizes);
  let nss: NssEffect | null = null;
  for (const n of opts.sizes) {
    const s = sizesFor(n);
    const w = await World.create(s.users);
    try {
      for (const backend of opts.backends) {
        results.push(await measure(w, n, backend, 'per-vm', opts.runs(n, backend), opts.log));
      }
      if (opts.perPairAtLargest && n === largest) results.push(await measure(w, n, 'nftables', 'per-pair', 1, opts.log));
      if (opts.distinctAtLargest && n === largest) {
        distinctSets(s);
        results.push(await measure(w, n, 'nftables', 'distinct', opts.runs(n, 'nftables'), opts.log));
      }
      if (n === largest) nss = await nssEffect(w, n, opts.log);
    } finally {
      await w.cleanup();
    }
    if (opts.groupAtLargest && n === largest) {
      // One account more than the group holds: the one-entitlement change gives her vm0 by name.
      const g = groupSizesFor(n);
      const wg = await World.create(g.users + 1, { groupMembers: g.users });
      try {
        results.push(await measure(wg, n, 'nftables', 'group', opts.runs(n, 'nftables'), opts.log));
      } finally {
        await wg.cleanup();
      }
    }
  }
  const naive = await benchNaive(opts.naiveMax, opts.log);
  return { tables: [...tables(results, naive, opts), ...(nss ? [nssTable(nss)] : [])], raw: { apply: results, naive, nss } };
}

/**
 * nft and iptables-restore call getpwnam() on every uid they parse (even a numeric one; seen with strace -k),
 * so their load time grows with entitlements × the cost of one NSS miss. Measured by loading the helper's
 * rendered rules with the world's /etc/passwd and with the host's.
 */
async function nssEffect(w: World, n: number, log: (l: string) => void): Promise<NssEffect> {
  const s = sizesFor(n);
  const r = await w.helper(['remove']);
  if (r.code !== 0) throw new Error(`remove failed: ${r.stderr.trim()}`);
  const planOpts = { policyText: w.sb.policy(policyBody(s, 'per-vm')), viewerGid: VIEWER_GID, openConsole: w.sb.openConsole, stateDir: w.sb.stateDir };
  const nft = benchPlan(s, { ...planOpts, backend: 'nftables' }).nft!;
  const ipt = renderIptables(benchPlan(s, { ...planOpts, backend: 'iptables' }).firewall, 4, { addJump: true });
  const unloadIpt = '*filter\n-D OUTPUT -j CONSOLEGATE\n-F CONSOLEGATE\n-X CONSOLEGATE\nCOMMIT\n';
  // The helper preloads dist/nss-numeric.so into these tools (helper/src/system/nss-shim.ts); here once without.
  const shim = { LD_PRELOAD: path.join(ROOT, 'dist/nss-numeric.so') };
  const time = async (hostNss: boolean, argv: string[], input: string, undo: string[], undoInput?: string, env: Record<string, string> = {}) => {
    const { ms } = await w.timed(argv, { input, hostNss, env: { TZ: 'UTC', ...env } });
    await w.timed(undo, { input: undoInput, hostNss: true });
    return ms;
  };
  const out: NssEffect = {
    entitlements: s.entitlements,
    accounts: s.users,
    nft: {
      worldMs: await time(false, ['nft', '-f', '-'], nft, ['nft', 'delete', 'table', 'inet', 'consolegate']),
      shimMs: await time(false, ['nft', '-f', '-'], nft, ['nft', 'delete', 'table', 'inet', 'consolegate'], undefined, shim),
      hostMs: await time(true, ['nft', '-f', '-'], nft, ['nft', 'delete', 'table', 'inet', 'consolegate']),
    },
    iptables: {
      worldMs: await time(false, ['iptables-restore', '--noflush'], ipt, ['iptables-restore', '--noflush'], unloadIpt),
      shimMs: await time(false, ['iptables-restore', '--noflush'], ipt, ['iptables-restore', '--noflush'], unloadIpt, shim),
      hostMs: await time(true, ['iptables-restore', '--noflush'], ipt, ['iptables-restore', '--noflush'], unloadIpt),
    },
  };
  log(`apply: NSS effect at ${fmtInt(n)}: nft ${fmtMs(out.nft.worldMs)} / with the shim ${fmtMs(out.nft.shimMs)} / short passwd ${fmtMs(out.nft.hostMs)}, iptables-restore ${fmtMs(out.iptables.worldMs)} / ${fmtMs(out.iptables.shimMs)} / ${fmtMs(out.iptables.hostMs)}`);
  return out;
}

function nssTable(e: NssEffect): Table {
  return {
    title: `Firewall load time and NSS: the same ${fmtInt(e.entitlements)}-entitlement rules, loaded alone`,
    head: ['tool', `with ${fmtInt(e.accounts)} accounts in /etc/passwd (the world)`, 'the same with nss-numeric.so (what apply does)', 'with the host\'s short /etc/passwd'],
    rows: [
      ['nft -f (our table)', fmtMs(e.nft.worldMs), fmtMs(e.nft.shimMs), fmtMs(e.nft.hostMs)],
      ['iptables-restore (our chain, IPv4)', fmtMs(e.iptables.worldMs), fmtMs(e.iptables.shimMs), fmtMs(e.iptables.hostMs)],
    ],
    notes: ['both tools call getpwnam() for every uid in the input, numeric or not: one NSS miss per entitlement (files: a scan of /etc/passwd; sssd/LDAP: a lookup each); the helper preloads helper/native/nss-numeric.c, which answers digits-only names at once'],
  };
}

async function measure(w: World, n: number, backend: Backend, shape: Shape, runs: number, log: (l: string) => void): Promise<ApplyResult> {
  const s = shape === 'group' ? groupSizesFor(n) : sizesFor(n);
  // per-pair is measured for its parse cost alone; the others also re-apply, change one entitlement, and time phases.
  const full = shape !== 'per-pair';
  await w.sb.writePolicy(w.sb.policy(policyBody(s, shape), { backend }));
  const must = async (args: string[], want = 0) => {
    const t0 = performance.now();
    const r = await w.helper(args);
    const ms = performance.now() - t0;
    if (r.code !== want) throw new Error(`${args.join(' ')} (${fmtInt(n)}, ${backend}) exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 800)}`);
    return { ms, r };
  };
  const firstMs: number[] = [];
  const againMs: number[] = [];
  const changeMs: number[] = [];
  // One more entitlement: a user who is not entitled to vm0 yet gets it (one set element, one view, one line).
  const of = shape === 'distinct' ? distinctVmsOf : vmsOf;
  const extra = changeAccount(s, shape);
  const changed = extra === undefined ? null : w.sb.policy(`${policyBody(s, shape)}  - { vm: vm0, users: [${userName(extra)}] }\n`, { backend });
  const helperMs: number[] = [];
  const statusMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    await must(['remove']);
    const first = await must(['apply', '--json']);
    firstMs.push(first.ms);
    helperMs.push((JSON.parse(first.r.stdout) as { ms: number }).ms);
    if (full) againMs.push((await must(['apply'])).ms);
    statusMs.push((await must(['status'])).ms);
    if (full && changed !== null) {
      const original = w.sb.policy(policyBody(s, shape), { backend });
      for (const text of [changed, original]) {
        await w.sb.writePolicy(text);
        changeMs.push((await must(['apply'])).ms);
      }
    }
    log(`apply: ${fmtInt(n)} ${backend} ${shape} run ${i + 1}/${runs}: first ${fmtMs(firstMs.at(-1)!)}${full ? `, again ${fmtMs(againMs.at(-1)!)}, one change ${changeMs.slice(-2).map(fmtMs).join(' / ')}` : ''}, status ${fmtMs(statusMs.at(-1)!)}`);
  }

  // Boot: our rules gone (as after a reboot), `restore` loads the saved ones without parsing the policy.
  const restoreMs: number[] = [];
  const restoreClosedMs: number[] = [];
  if (shape === 'per-vm') {
    await must(['apply']);
    const unload = backend === 'nftables' ? 'nft delete table inet consolegate' : 'for t in iptables ip6tables; do for c in OUTPUT FORWARD; do $t -D $c -j CONSOLEGATE 2>/dev/null; done; $t -F CONSOLEGATE; $t -X CONSOLEGATE; done';
    for (let i = 0; i < Math.max(runs, 3); i++) {
      await w.run(['sh', '-c', unload]);
      const { ms, r } = await must(['restore', '--json']);
      restoreMs.push(ms);
      // Node's start-up is in the wall time but not in closedMs: add the difference between wall and the helper's own.
      const out = JSON.parse(r.stdout) as { closedMs: number | null; ms: number };
      if (out.closedMs !== null) restoreClosedMs.push(ms - out.ms + out.closedMs);
    }
    log(`apply: ${fmtInt(n)} ${backend} restore at boot: ports closed ${restoreClosedMs.map(fmtMs).join(' / ')}, grants ${restoreMs.map(fmtMs).join(' / ')}`);
  }

  const journaled = shape === 'per-vm' && backend === 'nftables' && n >= 100_000 ? await onJournaledExt4(w, runs, must, log) : null;

  // Where the time goes: the real apply command in-process with timed external commands (see apply-phases.ts).
  await must(['remove']);
  const timePhases = async (...args: string[]): Promise<Phases> => {
    const ph = await w.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/support/apply-phases.ts'), ...args]);
    if (ph.code !== 0) throw new Error(`apply-phases failed: ${ph.stderr.trim().slice(0, 800)}`);
    return JSON.parse(ph.stdout) as Phases;
  };
  const phases = await timePhases();
  let changePhases: Phases | null = null;
  if (changed !== null && full) {
    const file = `${w.sb.dir}/changed-policy.yaml`;
    await writeFile(file, changed, { mode: 0o600 });
    await must(['remove']);
    changePhases = await timePhases(file);
  }

  // What the file costs later: visudo on it, and the sudo policy check every click pays (sudo parses it all).
  const { readFile } = await import('node:fs/promises');
  const sudoersBytes = (await readFile(w.sb.sudoersFile)).length;
  const visudo: number[] = [];
  const sudoCheck: number[] = [];
  const u = s.users - 1;
  const vm = `vm${of(u, s).at(-1)}`;
  for (let i = 0; i < 3; i++) {
    visudo.push((await w.timed(['visudo', '-c', '-q', '-f', w.sb.sudoersFile])).ms);
    sudoCheck.push((await w.timed(['sudo', '-n', '-l', '-U', userName(u), w.sb.openConsole, '--state-dir', w.sb.stateDir, vm])).ms);
  }
  return { entitlements: s.entitlements, backend, shape, firstMs, journaled, againMs, changeMs, helperMs, statusMs, restoreMs, restoreClosedMs, phases, changePhases, sudoersBytes, visudoMs: median(visudo), sudoCheckMs: median(sudoCheck) };
}

/**
 * First applies right after `remove` with the state directory on a fresh journaled ext4 (a loop-mounted image), as
 * on a client installed by Debian's installer. Creating a file on ext4 *without* a journal (this machine's root file
 * system) skips every inode freed in the last minute or so, one by one (`recently_deleted()` in fs/ext4/ialloc.c,
 * seen with perf), so 10,000 views written right after `remove` deleted 10,000 cost seconds of kernel time there.
 */
async function onJournaledExt4(w: World, runs: number, must: (args: string[]) => Promise<{ ms: number }>, log: (l: string) => void): Promise<number[] | string> {
  await must(['remove']);
  const mounted = await journaledState(w);
  if ('why' in mounted) {
    const why = `not measured: no loop-mounted ext4 here (${mounted.why})`;
    log(`apply: journaled ext4: ${why}`);
    return why;
  }
  try {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      await must(['remove']);
      ms.push((await must(['apply'])).ms);
    }
    log(`apply: first apply after remove, state on a journaled ext4: ${ms.map(fmtMs).join(' / ')}`);
    await must(['remove']);
    return ms;
  } finally {
    await mounted.undo();
  }
}

/** The way of the past: one `iptables -A` process per rule, timed in batches of 100 to see the growth. */
async function benchNaive(max: number, log: (l: string) => void): Promise<NaiveResult> {
  const w = await World.create(0);
  try {
    const batch = 100;
    const script = `
      iptables -N CGNAIVE
      for ((b = 0; b < $0 / ${batch}; b++)); do
        t0=$(date +%s%N)
        for ((i = 0; i < ${batch}; i++)); do
          k=$((b * ${batch} + i))
          iptables -A CGNAIVE -d 127.0.0.1/32 -p tcp --dport $((20000 + k % 1000)) -m owner --uid-owner $((3000000 + k)) --gid-owner 2999999 -j RETURN
        done
        echo $(( ($(date +%s%N) - t0) / ${batch} ))
      done`;
    const r = await w.timed(['bash', '-c', script, String(max)]);
    const perRuleMs = r.result.stdout.trim().split('\n').map((ns) => Number(ns) / 1e6);
    log(`apply: naive: ${perRuleMs.map((x) => x.toFixed(2)).join(' ')} ms/rule per batch of ${batch}`);
    return { batch, perRuleMs };
  } finally {
    await w.cleanup();
  }
}

/** Total naive time for n rules: measured when we ran that far, else from the per-rule fit (which grows with k). */
function naiveTotal(nv: NaiveResult, n: number): { ms: number; measured: boolean } {
  const ran = nv.batch * nv.perRuleMs.length;
  if (n <= ran) {
    const full = Math.floor(n / nv.batch);
    const ms = nv.perRuleMs.slice(0, full).reduce((a, b) => a + b * nv.batch, 0) + (n % nv.batch) * (nv.perRuleMs[full] ?? nv.perRuleMs.at(-1)!);
    return { ms: n < nv.batch ? n * nv.perRuleMs[0]! : ms, measured: true };
  }
  // per-rule time t(k) = a + b·k  ⇒  total = a·n + b·n²/2.
  const { a, b } = linearFit(nv.perRuleMs.map((y, i) => ({ x: (i + 0.5) * nv.batch, y })));
  return { ms: a * n + Math.max(0, b) * n * n / 2, measured: false };
}

function tables(results: ApplyResult[], naive: NaiveResult, opts: ApplyOptions): Table[] {
  const largest = Math.max(...opts.sizes);
  const main: Table = {
    title: 'apply end to end (wall time of `consolegate-helper apply`, median of runs)',
    head: ['entitlements', 'backend', 'policy shape', 'runs', 'first apply', 'first apply, state on a journaled ext4', 're-apply', 'one change', 'status', 'restore at boot: ports closed / grants', 'naive iptables -A', 'target'],
    rows: results.map((r) => {
      const nv = naiveTotal(naive, r.entitlements);
      const first = median(r.firstMs);
      const change = r.changeMs.length ? median(r.changeMs) : NaN;
      const [again, status] = [median(r.againMs), median(r.statusMs)];
      const verdict = (ms: number, limit: number) => (Number.isNaN(ms) ? '–' : ms <= limit ? 'met' : 'MISSED');
      // Both first applies are judged: the root file system's is this machine's (no journal), the other a Debian install's.
      const journaled = Array.isArray(r.journaled) ? median(r.journaled) : null;
      const firstVerdict = journaled === null ? verdict(first, 2000) : `${verdict(first, 2000)} here, ${verdict(journaled, 2000)} on a journaled ext4`;
      const target = r.entitlements >= 100_000 ? `≤ 2 s → first ${firstVerdict}, re-apply ${verdict(again, 2000)}, change ${verdict(change, 2000)}; status ≤ 1 s ${verdict(status, 1000)}` : '–';
      return [fmtInt(r.entitlements), r.backend, r.shape, String(r.firstMs.length), fmtMs(first), journaled === null ? '–' : fmtMs(journaled), fmtMs(median(r.againMs)), Number.isNaN(change) ? '–' : fmtMs(change), fmtMs(median(r.statusMs)), r.restoreMs.length ? `${r.restoreClosedMs.length ? fmtMs(median(r.restoreClosedMs)) : '–'} / ${fmtMs(median(r.restoreMs))}` : '–', `${nv.measured ? '' : '~'}${fmtMs(nv.ms)}`, target];
    }),
    notes: [
      'first apply, state on a journaled ext4: the same right after `remove`, with the state directory on a loop-mounted ext4 with a journal (as on a Debian install); this machine\'s root file system is ext4 without one, where creating a file right after many were deleted scans past each of them (fs/ext4/ialloc.c recently_deleted(), seen with perf), and the 10,000 views then cost seconds of kernel time',
      'first apply: after `remove` (every file written, ruleset loaded); re-apply: the same policy again (the helper finds it up to date and changes nothing); one change: one entitlement added, then removed again (median of both)',
      'restore at boot: our rules deleted, then `consolegate-helper restore` (wall time, node start-up included): the protected ports are closed by a grant-less first load, then the saved grants (firewall.json) load, without the policy, NSS or DNS; target: enforcement ≤ 1 s at 100,000',
      'policy shape per-vm: one entitlement per VM listing its users; per-pair: one YAML item per (user, VM); group: 500 users × every VM, each VM entitled to one group of 500 members (a tiny YAML; NSS expansion and rendering), its one change gives a 501st account vm0 by name',
      `naive: one \`iptables -A\` process per rule (iptables-nft), really run up to ${fmtInt(naive.batch * naive.perRuleMs.length)} rules; ~ = extrapolated from the per-rule time and its growth (${naive.perRuleMs[0]!.toFixed(2)} → ${naive.perRuleMs.at(-1)!.toFixed(2)} ms/rule)`,
      `sizes: n entitlements = n/10 users × 10 VMs each (at least 10 VMs, 100 users per VM at ${fmtInt(largest)})`,
    ],
  };
  const phases: Table = {
    title: 'Where apply\'s time goes (in-process with timed commands; ms)',
    head: ['entitlements', 'backend', 'shape', 'apply', 'parse YAML', 'resolve users (getent)', 'render', 'visudo -c', 'firewall load (nft -f / *-restore)', 'firewall read (nft list / *-save)', 'files and the rest (views, state dir, sudoers, caches)', 'other commands', 'total'],
    rows: results.flatMap((r) =>
      ([['first', r.phases], ['one change', r.changePhases]] as [string, Phases | null][])
        .flatMap(([what, p]) => (p ? [[what, p] as const] : []))
        .map(([what, p]) => {
          const ms = (x: number) => fmtInt(x);
          return [fmtInt(r.entitlements), r.backend, r.shape, what, ms(p.parse), ms(p.getent), ms(p.render), ms(p.visudo), ms(p.fwLoad), ms(p.fwRead), ms(p.files), ms(p.otherExec), ms(p.total)];
        }),
    ),
    notes: [
      'the sum is the helper\'s own work; node start-up and module loading add the difference between the wall time above and this total',
      'a command counts for the time apply waited for it (its event loop idle while the command ran), not for its wall time: dpkg-query, say, runs during the render and costs the apply next to nothing; files and the rest is the total less everything else (an in-process first apply writes its views on the main thread)',
    ],
  };
  const seen = new Set<number>();
  const sudo: Table = {
    title: 'What the sudoers file costs afterwards',
    head: ['entitlements', 'sudoers size', 'visudo -c -f', 'sudo policy check (every click)'],
    rows: results
      .filter((r) => r.shape === 'per-vm' && !seen.has(r.entitlements) && seen.add(r.entitlements))
      .map((r) => [fmtInt(r.entitlements), `${(r.sudoersBytes / 1024).toFixed(r.sudoersBytes < 10240 ? 1 : 0)} KiB`, fmtMs(r.visudoMs), fmtMs(r.sudoCheckMs)]),
    notes: ['sudo check: `sudo -n -l -U user open-console … vm` as root, i.e. sudo parsing every line and matching one (median of 3)'],
  };
  return [main, phases, sudo];
}
