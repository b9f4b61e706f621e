// Benchmark: the sudo policy check every click pays, with the real rendered sudoers at a small and a large
// number of entitlements, as a ratio (issue 12 target: ≤ 2× at 100,000 against 10).
//
// Method: one world (generated accounts, private /etc/sudoers.d) holds both files; the helper's own renderer
// writes them (benchPlan → makePlan, exactly what `apply` writes). In alternating rounds the file in
// sudoers.d is swapped, and a shell running *as the entitled user* times `sudo -n -l <open-console> --state-dir …
// vm` (sudo parses the whole file, then matches the exact command) with bash's `time` keyword, so process
// start-up of the harness is not in the figure. Both sizes see the same /etc/passwd, so only sudoers differs.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchPlan, policyBody } from './support/plan.js';
import { sizesFor, uidOf, vmsOf, type Sizes } from './support/policy-gen.js';
import { fmtInt, fmtMs, median, quantile, type Table } from './support/report.js';
import { USERS_GID, VIEWER_GID, World, userName } from './support/world.js';

/** What to measure. */
export interface SudoCheckOptions {
  /** Entitlement counts; the first is the baseline of the ratio. */
  sizes: number[];
  /** Alternating rounds per file, and sudo calls per round. */
  rounds: number;
  callsPerRound: number;
  /** Also time two other shapes of the same grants at the largest size (for the sudoers renderer's owner). */
  variants: boolean;
  log: (line: string) => void;
}

/** Which file: the helper's own, or a variant of the same grants rendered here for comparison. */
export type SudoersShape = 'helper' | 'by-vm-set' | 'flat';

/** One file's result. */
export interface SudoCheckResult {
  entitlements: number;
  shape: SudoersShape;
  users: number;
  vms: number;
  sudoersBytes: number;
  sudoersLines: number;
  medianMs: number;
  p90Ms: number;
  ratio: number;
  /** sudo's own CPU time (user + system), median; and its ratio. */
  cpuMs: number;
  cpuRatio: number;
}

const SHAPE_NOTES: Record<SudoersShape, string> = {
  helper: 'what apply writes (helper/src/plan/sudoers.ts)',
  'by-vm-set': 'variant: one `User_Alias` of `#uid`s per distinct set of VMs, one rule per set; as exact as the helper\'s',
  flat: 'variant: one `User_Alias` of every entitled uid, one rule allowing every VM\'s command; open-console alone then checks which VM',
};

/** The same grants as `helperFile`, in another shape: its header and Cmnd_Alias lines, other user rules. */
function variant(helperFile: string, shape: Exclude<SudoersShape, 'helper'>): string {
  const lines = helperFile.split('\n').filter(Boolean);
  const head = lines.filter((l) => !/^#\d+ /.test(l));
  const rules = lines.filter((l) => /^#\d+ /.test(l)).map((l) => {
    const m = /^#(\d+) ALL=\(root\) NOPASSWD: (.*)$/.exec(l);
    if (!m) throw new Error(`unexpected sudoers rule ${l}; update bench/sudo-check.ts`);
    return { uid: m[1]!, aliases: m[2]! };
  });
  if (shape === 'flat') {
    const all = head.filter((l) => l.startsWith('Cmnd_Alias ')).map((l) => l.split(' ')[1]!);
    return [...head, `User_Alias CG_USERS = ${rules.map((r) => `#${r.uid}`).join(', ')}`, `CG_USERS ALL=(root) NOPASSWD: ${all.join(', ')}`, ''].join('\n');
  }
  const bySet = new Map<string, string[]>();
  for (const r of rules) bySet.set(r.aliases, [...(bySet.get(r.aliases) ?? []), `#${r.uid}`]);
  const out = [...head];
  [...bySet].forEach(([aliases, uids], i) => out.push(`User_Alias CG_SET${i} = ${uids.join(', ')}`, `CG_SET${i} ALL=(root) NOPASSWD: ${aliases}`));
  return [...out, ''].join('\n');
}

/** Runs the benchmark; returns its table and raw numbers. */
export async function benchSudoCheck(opts: SudoCheckOptions): Promise<{ table: Table; raw: SudoCheckResult[] }> {
  const sizes = opts.sizes.map(sizesFor);
  const w = await World.create(Math.max(...sizes.map((s) => s.users)));
  try {
    // sudo runs PAM's account stage for the caller, and pam_unix fails an account without a shadow entry:
    // give the generated accounts one (no password, never expiring) in the world's own /etc layer.
    const shadowLines = Array.from({ length: w.accounts }, (_, i) => `${userName(i)}:*:19000:0:99999:7:::`);
    await writeFile(path.join(w.sb.dir, 'etc-nss/shadow'), `${(await readFile('/etc/shadow', 'utf8')).trimEnd()}\n${shadowLines.join('\n')}\n`, { mode: 0o640 });
    // User 0 is entitled at every size (vmsOf(0) always includes vm0), so the check succeeds each time.
    const user = { uid: uidOf(0), gid: USERS_GID };
    const cases: { size: Sizes; shape: SudoersShape; text: string; wall: number[]; cpu: number[] }[] = [];
    for (const s of sizes) {
      opts.log(`sudo-check: rendering sudoers for ${fmtInt(s.entitlements)} entitlements`);
      if (!vmsOf(0, s).includes(0)) throw new Error('generated user 0 is not entitled to vm0');
      const plan = benchPlan(s, { policyText: w.sb.policy(policyBody(s, 'per-vm')).replaceAll('$CA', w.sb.caFile), backend: 'nftables', viewerGid: VIEWER_GID, openConsole: w.sb.openConsole, stateDir: w.sb.stateDir });
      const shapes: SudoersShape[] = opts.variants && s === sizes.at(-1) ? ['helper', 'by-vm-set', 'flat'] : ['helper'];
      for (const shape of shapes) {
        const text = shape === 'helper' ? plan.sudoers : variant(plan.sudoers, shape);
        const file = path.join(w.sb.dir, `sudoers-${s.entitlements}-${shape}`);
        await writeFile(file, text, { mode: 0o440 });
        const check = await w.run(['visudo', '-c', '-q', '-f', file]);
        if (check.code !== 0) throw new Error(`visudo rejects the ${shape} sudoers for ${s.entitlements}: ${check.stderr || check.stdout}`);
        cases.push({ size: s, shape, text, wall: [], cpu: [] });
      }
    }
    const argv = ['sudo', '-n', '-l', w.sb.openConsole, '--state-dir', w.sb.stateDir, 'vm0'];
    // Prints wall, user and system seconds per call (bash's `time`, no extra process); exits non-zero if sudo
    // ever refuses (then there is nothing to time). CPU time is what the file costs; wall time is what a person
    // waits, and on a busy machine it carries the machine's load.
    const loop = `TIMEFORMAT='%3R %3U %3S'; for ((i = 0; i < $0; i++)); do { time "\${@:1}" >/dev/null 2>&1; } 2>&1 || exit 9; done`;
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
        // Atomic swap inside the bind-mounted directory, as apply does it; sudo never sees half a file.
        const tmp = path.join(w.sb.sudoersDir, '.consolegate.new');
        await writeFile(tmp, c.text, { mode: 0o440 });
        await rename(tmp, w.sb.sudoersFile);
        const r = await w.run(['bash', '-c', loop, String(opts.callsPerRound), ...argv], { as: user });
        if (r.code !== 0) throw new Error(`sudo -n -l as uid ${user.uid} failed with the ${c.shape} file for ${c.size.entitlements} entitlements (exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`);
        for (const line of r.stdout.split('\n').filter(Boolean)) {
          const [real, usr, sys] = line.split(' ').map(Number) as [number, number, number];
          c.wall.push(real * 1000);
          c.cpu.push((usr + sys) * 1000);
        }
      }
      opts.log(`sudo-check: round ${round + 1}/${opts.rounds}`);
    }
    const base = cases[0]!;
    const wallBase = median(base.wall);
    // CPU times have 1 ms resolution at best; a floor of 1 ms keeps a tiny file's ratio finite.
    const cpuBase = Math.max(1, median(base.cpu));
    const raw = cases.map((c): SudoCheckResult => ({
      entitlements: c.size.entitlements,
      shape: c.shape,
      users: c.size.users,
      vms: c.size.vms,
      sudoersBytes: Buffer.byteLength(c.text),
      sudoersLines: c.text.split('\n').length - 1,
      medianMs: median(c.wall),
      p90Ms: quantile(c.wall, 0.9),
      ratio: median(c.wall) / wallBase,
      cpuMs: median(c.cpu),
      cpuRatio: Math.max(1, median(c.cpu)) / cpuBase,
    }));
    return {
      raw,
      table: {
        title: 'sudo policy check per click (the real sudoers)',
        head: ['entitlements', 'users × VMs', 'shape', 'sudoers', 'lines', 'wall median', 'wall p90', 'wall ratio', 'sudo CPU', 'CPU ratio'],
        rows: raw.map((r) => [fmtInt(r.entitlements), `${fmtInt(r.users)} × ${fmtInt(r.vms)}`, r.shape, `${(r.sudoersBytes / 1024).toFixed(r.sudoersBytes < 10240 ? 1 : 0)} KiB`, fmtInt(r.sudoersLines), fmtMs(r.medianMs), fmtMs(r.p90Ms), `${r.ratio.toFixed(2)}×`, fmtMs(r.cpuMs), `${r.cpuRatio.toFixed(1)}×`]),
        notes: [
          `\`${['sudo', '-n', '-l', 'open-console', '--state-dir', '…', 'vm0'].join(' ')}\` run as the entitled user, ${opts.rounds} alternating rounds × ${opts.callsPerRound} calls per file`,
          `ratios: medians against the ${fmtInt(sizes[0]!.entitlements)}-entitlement helper file; target ≤ 2× at 100,000. sudo CPU (user + system, 1 ms resolution) is the file's own cost; wall time also carries the machine's load`,
          ...[...new Set(cases.map((c) => c.shape))].map((sh) => `${sh}: ${SHAPE_NOTES[sh]}`),
        ],
      },
    };
  } finally {
    await w.cleanup();
  }
}
