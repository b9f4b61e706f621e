// Benchmark 2: what the loaded rules cost each new connection, against the same namespace with no rules at all.
//
// One namespace holds every variant at once; all but one are switched off with nft's `dormant` table flag,
// which unhooks a table without unloading it, so "no rules" really means no hook and every variant sees the
// same namespace, the same sockets and the same loopback. "Accept established first" is the exception: a
// `ct state` rule turns conntrack on for the whole namespace even while its table is dormant, so that
// variant is loaded for its own round and deleted afterwards (and the conntrack column proves it is gone).
import { digestOf } from '../helper/src/plan/digest.js';
import { readState } from '../helper/src/apply/state.js';
import { renderIptables } from '../helper/src/plan/iptables.js';
import { buildConnloop, parseLoop, type LoopResult } from './support/native.js';
import { benchPlan, establishedFirstVariant } from './support/plan.js';
import { distinctVmsOf, policyBody, sizesFor, uidOf, vmsOf } from './support/policy-gen.js';
import { fmtInt, median, quantile, type Table } from './support/report.js';
import { FIRST_UID, USERS_GID, VIEWER_GID, World } from './support/world.js';

/** What to measure. */
export interface ConnectOptions {
  entitlements: number;
  rounds: number;
  /** Wall time one variant's timed loop should take per round; the connect count is calibrated to it. */
  roundMs: number;
  log: (line: string) => void;
}

type Variant = 'none' | 'ours' | 'tuples' | 'estfirst' | 'iptables';

const LABEL: Record<Variant, string> = {
  none: 'no rules (tables dormant)',
  ours: 'ours: nft set, every owned packet to a protected port checked (per-vm shape: uid classes)',
  tuples: 'ours without uid classes (distinct shape: one set element per tuple)',
  estfirst: 'nft set, "ct state established,related accept" first',
  iptables: 'linear iptables chain (our iptables backend)',
};
const EST_TABLE = 'cgestfirst';
const TUPLES_TABLE = 'cgtuples';

/** One variant's measurements. */
export interface VariantResult {
  variant: Variant;
  label: string;
  connects: number;
  nsPerConnect: number[];
  /** Per-round ratio to the "none" run of the same round. */
  ratios: number[];
  conntrackDelta: number;
}

/** Runs the benchmark and returns its table (plus raw numbers for --json). */
export async function benchConnect(opts: ConnectOptions): Promise<{ table: Table; raw: VariantResult[] }> {
  const s = sizesFor(opts.entitlements);
  const w = await World.create(s.users);
  try {
    const policyText = w.sb.policy(policyBody(s, 'per-vm'));
    await w.sb.writePolicy(policyText);
    opts.log(`connect: applying ${fmtInt(s.entitlements)} entitlements (nftables, through the helper)`);
    const applied = await w.helper(['apply']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr.trim()}`);

    // The variants are rendered by the helper's own code; prove it is the plan apply just loaded.
    const planOpts = { policyText, viewerGid: VIEWER_GID, openConsole: w.sb.openConsole, stateDir: w.sb.stateDir };
    const nftPlan = benchPlan(s, { ...planOpts, backend: 'nftables' });
    if ((await readState(w.sb.stateDir))?.firewall.rendered !== digestOf(nftPlan).firewall) {
      throw new Error('the in-process plan differs from what apply loaded; the variants would not be comparable');
    }
    const iptPlan = benchPlan(s, { ...planOpts, backend: 'iptables' });
    for (const f of [4, 6] as const) {
      const r = await w.run([f === 4 ? 'iptables-restore' : 'ip6tables-restore', '--noflush'], { input: renderIptables(iptPlan.firewall, f, { addJump: true }), hostNss: true });
      if (r.code !== 0) throw new Error(`loading the iptables variant failed: ${r.stderr.trim()}`);
    }
    const estScript = establishedFirstVariant(nftPlan.nft!, EST_TABLE);
    // The per-vm shape's users come in 100 alike sets, so its table is uid classes (plan/nft-classes.ts); the
    // distinct shape's are all different, so its table is the one-element-per-tuple kind. The connecting user is
    // entitled to the same port in both.
    if (!distinctVmsOf(s.users - 1, s).includes(Math.max(...vmsOf(s.users - 1, s)))) throw new Error('the connecting user is not entitled to the port in the distinct shape');
    const tuplesPlan = benchPlan(s, { ...planOpts, policyText: w.sb.policy(policyBody(s, 'distinct')), backend: 'nftables' });
    if (/vmap/.test(tuplesPlan.nft!) || !/vmap/.test(nftPlan.nft!)) throw new Error('expected uid classes in the per-vm table and none in the distinct one');
    const tuplesLoaded = await w.run(['nft', '-f', '-'], { input: tuplesPlan.nft!.replaceAll('inet consolegate', `inet ${TUPLES_TABLE}`), env: { TZ: 'UTC' }, hostNss: true });
    if (tuplesLoaded.code !== 0) throw new Error(`loading the tuples variant failed: ${tuplesLoaded.stderr.trim()}`);

    const loop = await buildConnloop(`${w.sb.dir}/bin`);
    // The last user's highest port is the last rule of the linear chain: the worst case for it, any case for a set.
    const last = s.users - 1;
    const port = 20000 + Math.max(...vmsOf(last, s));
    const entitled = { uid: uidOf(last), gid: VIEWER_GID };
    const run = async (as: { uid: number; gid: number }, count: number, warmup: number): Promise<LoopResult> => {
      const r = await w.run([loop, '127.0.0.1', String(port), String(count), String(warmup)], { as, hostNss: true });
      if (r.code !== 0) throw new Error(`connloop exited ${r.code}: ${r.stderr.trim()}`);
      return parseLoop(r.stdout);
    };
    const activate = async (v: Variant): Promise<void> => {
      const wake = (on: boolean) => (on ? '{ }' : '{ flags dormant; }');
      const batch = [`add table inet consolegate ${wake(v === 'ours')}`, `add table inet ${TUPLES_TABLE} ${wake(v === 'tuples')}`, `add table ip filter ${wake(v === 'iptables')}`, `add table ip6 filter ${wake(v === 'iptables')}`];
      if (v === 'estfirst') batch.push(estScript);
      const r = await w.run(['nft', '-f', '-'], { input: batch.join('\n') + '\n', env: { TZ: 'UTC' }, hostNss: true });
      if (r.code !== 0) throw new Error(`switching to ${v} failed: ${r.stderr.trim()}`);
    };
    const deactivate = async (v: Variant): Promise<void> => {
      if (v !== 'estfirst') return;
      const r = await w.run(['nft', 'delete', 'table', 'inet', EST_TABLE], { hostNss: true });
      if (r.code !== 0) throw new Error(`deleting ${EST_TABLE} failed: ${r.stderr.trim()}`);
    };
    const conntrack = async (): Promise<number> => {
      const r = await w.run(['cat', '/proc/sys/net/netfilter/nf_conntrack_count'], { hostNss: true });
      return r.code === 0 ? Number(r.stdout.trim()) : 0;
    };

    // Each variant must enforce (or, for "none", not enforce) before its numbers mean anything.
    const variants: Variant[] = ['none', 'ours', 'tuples', 'estfirst', 'iptables'];
    const stranger = { uid: FIRST_UID + s.users + 7, gid: VIEWER_GID };
    const ownGroup = { uid: entitled.uid, gid: USERS_GID };
    const counts = new Map<Variant, number>();
    for (const v of variants) {
      await activate(v);
      const st = await run(stranger, 20, 0);
      const own = await run(ownGroup, 20, 0);
      const probe = await run(entitled, 300, 50);
      await deactivate(v);
      const enforced = st.ok === 0 && own.ok === 0;
      if (v === 'none' ? st.ok !== 20 : !enforced) throw new Error(`${v}: stranger connected ${st.ok}/20, entitled uid with its own group ${own.ok}/20`);
      if (probe.ok !== 300) throw new Error(`${v}: the entitled process connected only ${probe.ok}/300 times`);
      counts.set(v, Math.max(100, Math.min(30_000, Math.round((opts.roundMs * 1e6) / probe.nsPerAttempt))));
      opts.log(`connect: ${v}: enforcement checked; ${fmtInt(probe.nsPerAttempt)} ns/connect → ${fmtInt(counts.get(v)!)} connects per round`);
    }

    const results = new Map<Variant, VariantResult>(
      variants.map((v) => [v, { variant: v, label: LABEL[v], connects: counts.get(v)!, nsPerConnect: [], ratios: [], conntrackDelta: 0 }]),
    );
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order so no variant always runs right after the conntrack one or first in a round.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      const thisRound = new Map<Variant, number>();
      for (const v of order) {
        await activate(v);
        const before = await conntrack();
        const r = await run(entitled, counts.get(v)!, 200);
        const after = await conntrack();
        await deactivate(v);
        if (r.ok !== counts.get(v)) throw new Error(`${v}: entitled connects failed (${r.failed}) in round ${round + 1}`);
        thisRound.set(v, r.nsPerAttempt);
        const res = results.get(v)!;
        res.nsPerConnect.push(r.nsPerAttempt);
        res.conntrackDelta = Math.max(res.conntrackDelta, after - before);
      }
      for (const v of variants) results.get(v)!.ratios.push(thisRound.get(v)! / thisRound.get('none')!);
      opts.log(`connect: round ${round + 1}/${opts.rounds}: ${order.map((v) => `${v} ${fmtInt(thisRound.get(v)!)} ns`).join(', ')}`);
    }

    const rows = variants.map((v) => {
      const r = results.get(v)!;
      const ratio = median(r.ratios);
      const ofMedians = median(r.nsPerConnect) / median(results.get('none')!.nsPerConnect);
      const target = v === 'ours' || v === 'tuples' ? `≤ 1.10× → ${ratio <= 1.1 ? 'met' : 'MISSED'}` : v === 'none' ? 'baseline' : 'for comparison';
      return [r.label, fmtInt(median(r.nsPerConnect)), `${ratio.toFixed(2)}×`, `${ofMedians.toFixed(2)}×`, `${quantile(r.ratios, 0.25).toFixed(2)}–${quantile(r.ratios, 0.75).toFixed(2)}`, r.conntrackDelta > 0 ? 'yes' : 'no', target];
    });
    return {
      raw: [...results.values()],
      table: {
        title: `Per-connection cost, ${fmtInt(s.entitlements)} entitlements (${opts.rounds} interleaved rounds, sequential connect+accept+close)`,
        head: ['variant', 'median ns/connect', 'ratio (median of per-round ratios)', 'ratio of medians', 'per-round ratio, middle half', 'conntrack', 'target'],
        rows,
        notes: [
          `C loop (bench/support/connloop.c) as uid ${entitled.uid} with the viewer group to 127.0.0.1:${port}, the last rule of the linear chain`,
          'every variant was first checked to refuse a non-entitled uid and the entitled uid without the viewer group ("none" to admit them)',
          '"conntrack": whether the namespace created conntrack entries during that variant\'s rounds',
        ],
      },
    };
  } finally {
    await w.cleanup();
  }
}
