// Benchmark 4: what the rules cost an established stream, and how fast a revocation cuts one (issue 10).
//
// Every packet that has an owner and goes to a protected port is judged now, not only the SYN, so a bulk
// transfer pays one set lookup per packet. This measures it against the same namespace with no rules (tables
// switched dormant, as in bench/connect.ts), in both directions: "up" sends to the protected port (every data
// packet judged), "down" receives from it as a console's display stream does (only our ACKs judged). Then it
// revokes the running stream's entitlement — the one set element, or the one iptables rule, that apply's
// change would remove — and times how long until the sender sees the reset.
import { digestOf } from '../helper/src/plan/digest.js';
import { readState } from '../helper/src/apply/state.js';
import { renderIptables } from '../helper/src/plan/iptables.js';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPlan } from './support/plan.js';
import { policyBody, sizesFor, uidOf, vmsOf } from './support/policy-gen.js';
import { fmtInt, median, quantile, type Table } from './support/report.js';
import { mustRun, VIEWER_GID, World } from './support/world.js';

/** What to measure. */
export interface BulkOptions {
  entitlements: number;
  rounds: number;
  /** Wall time one transfer should take; its size is calibrated to it per variant and direction. */
  roundMs: number;
  cuts: number;
  log: (line: string) => void;
}

type Variant = 'none' | 'ours' | 'synonly' | 'iptables';
type Direction = 'up' | 'down';
const SYN_ONLY_TABLE = 'cgsynonly';
const LABEL: Record<Variant, string> = {
  none: 'no rules (tables dormant)',
  ours: 'ours: nft, every owned packet to a protected port judged',
  synonly: 'control: the same table judging only SYNs (the design before issue 10)',
  iptables: 'linear iptables chain (our iptables backend)',
};

/** One (variant, direction)'s measurements. */
export interface BulkResult {
  variant: Variant;
  direction: Direction;
  bytes: number;
  /** MB per wall second. */
  mbPerSecond: number[];
  /** MB per CPU second of both ends. */
  mbPerCpuSecond: number[];
  /** Per-round ratios to "none": of wall throughput, and of CPU efficiency. */
  ratios: number[];
  cpuRatios: number[];
  cutMs: number[];
}

/** Builds bulk.c into `dir`. */
async function buildBulk(dir: string): Promise<string> {
  const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'bulk.c');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const out = path.join(dir, 'bulk');
  await mustRun(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, source]);
  await chmod(out, 0o755);
  return out;
}

/** Runs the benchmark and returns its tables. */
export async function benchBulk(opts: BulkOptions): Promise<{ tables: Table[]; raw: BulkResult[] }> {
  const s = sizesFor(opts.entitlements);
  const w = await World.create(s.users);
  try {
    const policyText = w.sb.policy(policyBody(s, 'per-vm'));
    await w.sb.writePolicy(policyText);
    opts.log(`bulk: applying ${fmtInt(s.entitlements)} entitlements (nftables, through the helper)`);
    const applied = await w.helper(['apply']);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr.trim()}`);
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
    // The control: our table as it was before issue 10 (only SYNs judged: no per-packet work on a stream), under
    // another name. Its distance from "none" is what this machine's noise looks like.
    const FAST_PATH = /^(\s*)tcp dport != @protected accept$/m;
    if (!FAST_PATH.test(nftPlan.nft!)) throw new Error('rendered nft has no protected-port fast path; update bench/bulk.ts');
    const synOnly = nftPlan.nft!.replaceAll('inet consolegate', `inet ${SYN_ONLY_TABLE}`).replace(FAST_PATH, '$1tcp flags & (syn | ack) != syn accept');
    const loaded = await w.run(['nft', '-f', '-'], { input: `${synOnly}\nadd table inet ${SYN_ONLY_TABLE} { flags dormant; }\n`, env: { TZ: 'UTC' }, hostNss: true });
    if (loaded.code !== 0) throw new Error(`loading the SYN-only control failed: ${loaded.stderr.trim()}`);
    const bulk = await buildBulk(path.join(w.sb.dir, 'bin'));
    // The last user's highest port: the last rule of the linear chain (its worst case); a set does not care.
    const last = s.users - 1;
    const port = 20000 + Math.max(...vmsOf(last, s));
    const entitled = { uid: uidOf(last), gid: VIEWER_GID };
    const activate = async (v: Variant): Promise<void> => {
      const wake = (on: boolean) => (on ? '{ }' : '{ flags dormant; }');
      const batch = [`add table inet consolegate ${wake(v === 'ours')}`, `add table inet ${SYN_ONLY_TABLE} ${wake(v === 'synonly')}`, `add table ip filter ${wake(v === 'iptables')}`, `add table ip6 filter ${wake(v === 'iptables')}`];
      const r = await w.run(['nft', '-f', '-'], { input: batch.join('\n') + '\n', hostNss: true });
      if (r.code !== 0) throw new Error(`switching to ${v} failed: ${r.stderr.trim()}`);
    };
    /** One transfer: MB per wall second and MB per CPU second (both ends). */
    const transfer = async (bytes: number, dir: Direction): Promise<{ wall: number; cpu: number }> => {
      const r = await w.run([bulk, '127.0.0.1', String(port), String(bytes), dir], { as: entitled, hostNss: true });
      const [moved, ns, cpu] = r.stdout.trim().split(' ').map(Number);
      if (r.code !== 0 || moved !== bytes || !ns || !cpu) throw new Error(`bulk ${dir} exited ${r.code}: ${r.stderr.trim()}`);
      return { wall: bytes / 1e6 / (ns / 1e9), cpu: bytes / 1e6 / (cpu / 1e9) };
    };

    const variants: Variant[] = ['none', 'ours', 'synonly', 'iptables'];
    const dirs: Direction[] = ['up', 'down'];
    const results = new Map<string, BulkResult>();
    for (const v of variants) {
      await activate(v);
      for (const d of dirs) {
        const rate = (await transfer((v === 'iptables' ? 16 : 256) * 2 ** 20, d)).wall; // warm-up and calibration
        const bytes = Math.max(2 ** 20, Math.min(8 * 2 ** 30, Math.round(rate * 1e6 * (opts.roundMs / 1000))));
        results.set(`${v} ${d}`, { variant: v, direction: d, bytes, mbPerSecond: [], mbPerCpuSecond: [], ratios: [], cpuRatios: [], cutMs: [] });
        opts.log(`bulk: ${v} ${d}: ${fmtInt(rate)} MB/s → ${fmtInt(bytes / 1e6)} MB per round`);
      }
    }
    for (let round = 0; round < opts.rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      const thisRound = new Map<string, { wall: number; cpu: number }>();
      for (const v of order) {
        await activate(v);
        for (const d of dirs) {
          const res = results.get(`${v} ${d}`)!;
          const t = await transfer(res.bytes, d);
          res.mbPerSecond.push(t.wall);
          res.mbPerCpuSecond.push(t.cpu);
          thisRound.set(`${v} ${d}`, t);
        }
      }
      for (const [key, res] of results) {
        const [mine, none] = [thisRound.get(key)!, thisRound.get(`none ${res.direction}`)!];
        res.ratios.push(mine.wall / none.wall);
        res.cpuRatios.push(mine.cpu / none.cpu);
      }
      opts.log(`bulk: round ${round + 1}/${opts.rounds}: ${[...thisRound].map(([k, x]) => `${k} ${fmtInt(x.wall)} MB/s (${fmtInt(x.cpu)} per CPU s)`).join(', ')}`);
    }

    // Cut time: a stream runs; the entitlement it uses is removed the way apply's change removes it.
    const element = `{ ${entitled.uid} . 127.0.0.1 . ${port} }`;
    const rule = `-d 127.0.0.1/32 -p tcp -m tcp --dport ${port} -m owner --uid-owner ${entitled.uid} --gid-owner ${VIEWER_GID} -j RETURN`;
    const revoke: Record<'ours' | 'iptables', { cut: string[]; restore: string[] }> = {
      ours: { cut: ['nft', 'delete', 'element', 'inet', 'consolegate', 'allow_v4', element], restore: ['nft', 'add', 'element', 'inet', 'consolegate', 'allow_v4', element] },
      iptables: { cut: ['iptables', '-D', 'CONSOLEGATE', ...rule.split(' ')], restore: [] },
    };
    // Put the rule back where it was, so every cut measures the same chain.
    if (s.entitlements <= 10_000) {
      const listed = (await w.run(['iptables', '-S', 'CONSOLEGATE'], { hostNss: true })).stdout.split('\n').filter((l) => l.startsWith('-A '));
      const at = listed.indexOf(`-A CONSOLEGATE ${rule}`) + 1;
      if (at === 0) throw new Error(`the entitled rule is not in the iptables variant as expected: -A CONSOLEGATE ${rule}`);
      revoke.iptables.restore = ['iptables', '-I', 'CONSOLEGATE', String(at), ...rule.split(' ')];
    }
    // `iptables -D` in a chain of 100,000 rules runs for minutes (apply reloads the chain instead, ~2.5 s): the
    // iptables cut is timed only where that backend is meant to be used.
    const commandMs: number[] = [];
    const cutVariants = s.entitlements <= 10_000 ? (['ours', 'iptables'] as const) : (['ours'] as const);
    for (const v of cutVariants) {
      await activate(v);
      for (let i = 0; i < opts.cuts; i++) {
        const stream = w.run([bulk, '127.0.0.1', String(port), '0', 'up'], { as: entitled, hostNss: true });
        await new Promise((r) => setTimeout(r, 300));
        const t0 = Date.now();
        const cut = await w.run(revoke[v].cut, { hostNss: true });
        commandMs.push(Date.now() - t0);
        if (cut.code !== 0) throw new Error(`revoking (${v}) failed: ${cut.stderr.trim()}`);
        const out = await stream;
        const m = /^reset (\d+)$/.exec(out.stdout.trim());
        if (!m) throw new Error(`the ${v} stream did not end with a reset: ${out.stdout} ${out.stderr}`);
        const back = await w.run(revoke[v].restore, { hostNss: true });
        if (back.code !== 0) throw new Error(`restoring (${v}) failed: ${back.stderr.trim()}`);
        results.get(`${v} up`)!.cutMs.push(Number(BigInt(m[1]!) / 1_000_000n) - t0);
      }
      opts.log(`bulk: ${v}: cut after ${results.get(`${v} up`)!.cutMs.join(', ')} ms`);
    }

    const rows = [...results.values()].map((r) => [
      LABEL[r.variant],
      r.direction === 'up' ? 'to the port' : 'from the port',
      fmtInt(median(r.mbPerCpuSecond)),
      `${median(r.cpuRatios).toFixed(3)}×`,
      r.variant === 'none' ? '–' : `${quantile(r.cpuRatios, 0.25).toFixed(3)}–${quantile(r.cpuRatios, 0.75).toFixed(3)}`,
      fmtInt(median(r.mbPerSecond)),
      `${median(r.ratios).toFixed(2)}×`,
      r.cutMs.length ? `${fmtInt(median(r.cutMs))} (max ${fmtInt(Math.max(...r.cutMs))})` : '–',
      r.variant === 'ours' ? `≥ 0.95× → ${median(r.cpuRatios) >= 0.95 ? 'met' : 'MISSED'}` : r.variant === 'none' ? 'baseline' : 'for comparison',
    ]);
    return {
      raw: [...results.values()],
      tables: [
        {
          title: `Established stream, ${fmtInt(s.entitlements)} entitlements (${opts.rounds} interleaved rounds; loopback, one TCP stream)`,
          head: ['variant', 'direction', 'MB per CPU second', 'ratio (median of per-round)', 'middle half', 'wall MB/s', 'wall ratio', 'cut after revocation, ms', 'target'],
          rows,
          notes: [
            `bench/support/bulk.c as uid ${entitled.uid} with the viewer group, 127.0.0.1:${port} (the last rule of the linear chain); 256 KiB writes`,
            '"from the port": the far end sends, only our ACKs reach the rules (a console\'s display stream)',
            'MB per CPU second: bytes over the CPU time of both ends (user + system, softirq included); loopback transfers are CPU-bound, so on an idle machine this is the throughput; wall figures carry the machine\'s other load',
            `cut: from the start of the command that removes the entitlement (nft delete element / iptables -D; the command itself took ${fmtInt(median(commandMs))} ms, median) to the sender's ECONNRESET, ${opts.cuts} runs${s.entitlements > 10_000 ? '; iptables not cut at this size (iptables -D alone takes minutes)' : ''}`,
          ],
        },
      ],
    };
  } finally {
    await w.cleanup();
  }
}
