// Benchmark: the sudo policy check every click pays, with the real rendered sudoers at a small and a large
// number of entitlements, as a ratio (issue 12 target: ≤ 2× at 100,000 against 10).
//
// Method: one world (generated accounts, private /etc/sudoers.d) holds both files; the helper's own renderer
// writes them (benchPlan → makePlan, exactly what `apply` writes). In alternating rounds the file in
// sudoers.d is swapped, and a shell running *as the entitled user* times `sudo -n -l <open-console> --state-dir …
// vm` (sudo parses the whole file, then matches the exact command) with bash's $EPOCHREALTIME, so process
// start-up of the harness is not in the figure. Both sizes see the same /etc/passwd, so only sudoers differs.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchPlan, policyBody } from './support/plan.js';
import { sizesFor, uidOf, vmsOf } from './support/policy-gen.js';
import { fmtInt, fmtMs, median, quantile, type Table } from './support/report.js';
import { USERS_GID, VIEWER_GID, World, userName } from './support/world.js';

/** What to measure. */
export interface SudoCheckOptions {
  /** Entitlement counts; the first is the baseline of the ratio. */
  sizes: number[];
  /** Alternating rounds per size, and sudo calls per round. */
  rounds: number;
  callsPerRound: number;
  log: (line: string) => void;
}

/** One size's result. */
export interface SudoCheckResult {
  entitlements: number;
  users: number;
  vms: number;
  sudoersBytes: number;
  sudoersLines: number;
  medianMs: number;
  p90Ms: number;
  ratio: number;
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
    const files = new Map<number, string>();
    for (const s of sizes) {
      opts.log(`sudo-check: rendering sudoers for ${fmtInt(s.entitlements)} entitlements`);
      if (!vmsOf(0, s).includes(0)) throw new Error('generated user 0 is not entitled to vm0');
      const plan = benchPlan(s, { policyText: w.sb.policy(policyBody(s, 'per-vm')).replaceAll('$CA', w.sb.caFile), backend: 'nftables', viewerGid: VIEWER_GID, openConsole: w.sb.openConsole, stateDir: w.sb.stateDir });
      const file = path.join(w.sb.dir, `sudoers-${s.entitlements}`);
      await writeFile(file, plan.sudoers, { mode: 0o440 });
      const check = await w.run(['visudo', '-c', '-q', '-f', file]);
      if (check.code !== 0) throw new Error(`visudo rejects the rendered sudoers for ${s.entitlements}: ${check.stderr || check.stdout}`);
      files.set(s.entitlements, plan.sudoers);
    }
    const argv = ['sudo', '-n', '-l', w.sb.openConsole, '--state-dir', w.sb.stateDir, 'vm0'];
    // Prints one duration in µs per call; exits non-zero if sudo ever refuses (then there is nothing to time).
    const loop = `for ((i = 0; i < $0; i++)); do t0=$EPOCHREALTIME; "\${@:1}" >/dev/null || exit 9; t1=$EPOCHREALTIME; echo $(( (\${t1/./} - \${t0/./}) )); done`;
    const samples = new Map<number, number[]>(sizes.map((s) => [s.entitlements, []]));
    for (let round = 0; round < opts.rounds; round++) {
      for (const s of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        // Atomic swap inside the bind-mounted directory, as apply does it; sudo never sees half a file.
        const tmp = path.join(w.sb.sudoersDir, '.consolegate.new');
        await writeFile(tmp, files.get(s.entitlements)!, { mode: 0o440 });
        await rename(tmp, w.sb.sudoersFile);
        const r = await w.run(['bash', '-c', loop, String(opts.callsPerRound), ...argv], { as: user });
        if (r.code !== 0) throw new Error(`sudo -n -l as uid ${user.uid} failed at ${s.entitlements} entitlements (exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`);
        samples.get(s.entitlements)!.push(...r.stdout.split('\n').filter(Boolean).map((us) => Number(us) / 1000));
      }
      opts.log(`sudo-check: round ${round + 1}/${opts.rounds}`);
    }
    const base = median(samples.get(sizes[0]!.entitlements)!);
    const raw = sizes.map((s): SudoCheckResult => {
      const xs = samples.get(s.entitlements)!;
      const text = files.get(s.entitlements)!;
      return { entitlements: s.entitlements, users: s.users, vms: s.vms, sudoersBytes: Buffer.byteLength(text), sudoersLines: text.split('\n').length - 1, medianMs: median(xs), p90Ms: quantile(xs, 0.9), ratio: median(xs) / base };
    });
    return {
      raw,
      table: {
        title: 'sudo policy check per click (the real sudoers)',
        head: ['entitlements', 'users × VMs', 'sudoers', 'lines', 'median', 'p90', 'ratio'],
        rows: raw.map((r) => [fmtInt(r.entitlements), `${fmtInt(r.users)} × ${fmtInt(r.vms)}`, `${(r.sudoersBytes / 1024).toFixed(r.sudoersBytes < 10240 ? 1 : 0)} KiB`, fmtInt(r.sudoersLines), fmtMs(r.medianMs), fmtMs(r.p90Ms), `${r.ratio.toFixed(2)}×`]),
        notes: [
          `\`${['sudo', '-n', '-l', 'open-console', '--state-dir', '…', 'vm0'].join(' ')}\` run as the entitled user, ${opts.rounds} alternating rounds × ${opts.callsPerRound} calls per size`,
          `ratio: median against the ${fmtInt(sizes[0]!.entitlements)}-entitlement file; target ≤ 2× at 100,000`,
        ],
      },
    };
  } finally {
    await w.cleanup();
  }
}
