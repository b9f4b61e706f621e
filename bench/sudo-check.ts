// Benchmark: the sudo policy check every click pays, with the real rendered sudoers at a small and a large
// number of entitlements, as a ratio (issue 12 target: ≤ 2× at 100,000 against 10), for two shapes of policy:
// A `per-vm` (users listed by name: 10,000 users × 10 VMs at 100,000) and B `group` (500 users × 200 VMs
// through one group of 500 members).
//
// Method: one world (generated accounts, BENCH_GROUP, private /etc/sudoers.d) holds every file; the helper's own
// renderer writes them (benchPlan → makePlan, exactly what `apply` writes). In alternating rounds the file in
// sudoers.d is swapped, and a shell running *as the entitled user* (with a member's login groups, so `%#gid` is
// matched against the process's groups as in a real session) times `sudo -n -l <open-console> --state-dir … vm`
// (sudo parses the whole file, then matches the exact command) with bash's `time` keyword, so process start-up of
// the harness is not in the figure. Every file sees the same /etc/passwd and /etc/group, so only sudoers differs.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readSudoers } from '../test/support/sudoers-read.js';
import { benchPlan, policyBody } from './support/plan.js';
import { groupSizesFor, sizesFor, uidOf, vmsOf, type Shape, type Sizes } from './support/policy-gen.js';
import { fmtInt, fmtMs, median, quantile, type Table } from './support/report.js';
import { BENCH_GROUP_GID, USERS_GID, VIEWER_GID, World, userName } from './support/world.js';

/** What to measure. */
export interface SudoCheckOptions {
  /** Entitlement counts; the first is the baseline of each policy shape's ratio. */
  sizes: number[];
  /** Alternating rounds per file, and sudo calls per round. */
  rounds: number;
  callsPerRound: number;
  /** Also time the `everyone` and `one-command` variants of shape A at the largest size (the options left). */
  variants: boolean;
  log: (line: string) => void;
}

/** Which file: the helper's own, or a variant of the same grants rendered here for comparison. */
export type SudoersShape = 'helper' | 'everyone' | 'one-command';

/** One file's result. */
export interface SudoCheckResult {
  entitlements: number;
  policy: Shape;
  shape: SudoersShape;
  users: number;
  vms: number;
  sudoersBytes: number;
  sudoersLines: number;
  /** List members sudo parses (each `#uid`/`%#gid`, alias reference and command). */
  members: number;
  medianMs: number;
  p90Ms: number;
  /** Against the smallest helper file of the same policy shape. */
  ratio: number;
  /** sudo's own CPU time (user + system), median; and its ratio. */
  cpuMs: number;
  cpuRatio: number;
}

const POLICIES: { shape: Shape; sizes: (n: number) => Sizes; label: string }[] = [
  { shape: 'per-vm', sizes: sizesFor, label: 'A per-vm' },
  { shape: 'group', sizes: groupSizesFor, label: 'B group' },
];

const SHAPE_NOTES: Record<SudoersShape, string> = {
  helper: 'what apply writes (helper/src/plan/sudoers.ts): one `Cmnd_Alias` per VM, one rule per distinct set of VMs (a `User_Alias` when several users share it), a group entitled as a whole as `%#gid`',
  everyone: "variant: one rule letting every user run every VM's exact command (`ALL ALL=(root) NOPASSWD: CG_…`); open-console's table alone would then decide who; not built",
  'one-command': 'variant: `ALL ALL=(root) NOPASSWD: open-console [--state-dir …] [a-z0-9]*`, one wildcard command and no alias at all: constant size, open-console alone decides who and which VM; not built',
};

/** One wildcard command for everybody: nothing in the file grows with users or VMs. */
function oneCommand(helperFile: string, openConsole: string, stateDir: string): string {
  const head = helperFile.split('\n').filter((l) => l.startsWith('# ') || l.startsWith('Defaults!'));
  return [...head, `ALL ALL=(root) NOPASSWD: ${openConsole} --state-dir ${stateDir} [a-z0-9]*`, ''].join('\n');
}

/** The same Cmnd_Aliases as `helperFile` with one rule for everybody: no uid in the file at all. */
function everyone(helperFile: string): string {
  const head = helperFile.split('\n').filter((l) => l.startsWith('# ') || l.startsWith('Defaults!') || l.startsWith('Cmnd_Alias '));
  const all = head.filter((l) => l.startsWith('Cmnd_Alias ')).map((l) => l.split(' ')[1]!);
  return [...head, `ALL ALL=(root) NOPASSWD: ${all.join(', ')}`, ''].join('\n');
}

/** Runs the benchmark; returns its table and raw numbers. */
export async function benchSudoCheck(opts: SudoCheckOptions): Promise<{ table: Table; raw: SudoCheckResult[] }> {
  const all = POLICIES.flatMap((p) => opts.sizes.map((n) => ({ policy: p, size: p.sizes(n) })));
  const groupMembers = Math.max(...all.filter((c) => c.policy.shape === 'group').map((c) => c.size.users));
  const w = await World.create(Math.max(...all.map((c) => c.size.users)), { groupMembers });
  try {
    // sudo runs PAM's account stage for the caller, and pam_unix fails an account without a shadow entry:
    // give the generated accounts one (no password, never expiring) in the world's own /etc layer.
    const shadowLines = Array.from({ length: w.accounts }, (_, i) => `${userName(i)}:*:19000:0:99999:7:::`);
    await writeFile(path.join(w.sb.dir, 'etc-nss/shadow'), `${(await readFile('/etc/shadow', 'utf8')).trimEnd()}\n${shadowLines.join('\n')}\n`, { mode: 0o640 });
    // User 0 is entitled at every size and shape (vmsOf(0) includes vm0; she is the group's first member), and
    // her session carries the group as a login would give it, so the check succeeds each time.
    const user = { uid: uidOf(0), gid: USERS_GID, groups: [USERS_GID, BENCH_GROUP_GID] };
    const cases: { size: Sizes; policy: (typeof POLICIES)[number]; shape: SudoersShape; text: string; wall: number[]; cpu: number[] }[] = [];
    for (const { policy, size: s } of all) {
      opts.log(`sudo-check: rendering sudoers for ${fmtInt(s.entitlements)} entitlements, ${policy.label}`);
      if (!vmsOf(0, s).includes(0)) throw new Error('generated user 0 is not entitled to vm0');
      const plan = benchPlan(s, {
        policyText: w.sb.policy(policyBody(s, policy.shape)).replaceAll('$CA', w.sb.caFile),
        backend: 'nftables',
        viewerGid: VIEWER_GID,
        openConsole: w.sb.openConsole,
        stateDir: w.sb.stateDir,
        ...(policy.shape === 'group' ? { groupMembers: s.users } : {}),
      });
      if (plan.grants.length !== s.entitlements) throw new Error(`${policy.label}: ${plan.grants.length} grants, expected ${s.entitlements}`);
      const shapes: SudoersShape[] = opts.variants && policy.shape === 'per-vm' && s.entitlements === Math.max(...opts.sizes) ? ['helper', 'everyone', 'one-command'] : ['helper'];
      for (const shape of shapes) {
        const text = shape === 'helper' ? plan.sudoers : shape === 'everyone' ? everyone(plan.sudoers) : oneCommand(plan.sudoers, w.sb.openConsole, w.sb.stateDir);
        const file = path.join(w.sb.dir, `sudoers-${s.entitlements}-${policy.shape}-${shape}`);
        await writeFile(file, text, { mode: 0o440 });
        const check = await w.run(['visudo', '-c', '-q', '-f', file]);
        if (check.code !== 0) throw new Error(`visudo rejects the ${shape} sudoers for ${s.entitlements} (${policy.label}): ${check.stderr || check.stdout}`);
        cases.push({ size: s, policy, shape, text, wall: [], cpu: [] });
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
        if (r.code !== 0) throw new Error(`sudo -n -l as uid ${user.uid} failed with the ${c.shape} file for ${c.size.entitlements} entitlements, ${c.policy.label} (exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`);
        for (const line of r.stdout.split('\n').filter(Boolean)) {
          const [real, usr, sys] = line.split(' ').map(Number) as [number, number, number];
          c.wall.push(real * 1000);
          c.cpu.push((usr + sys) * 1000);
        }
      }
      opts.log(`sudo-check: round ${round + 1}/${opts.rounds}`);
    }
    const raw = cases.map((c): SudoCheckResult => {
      const base = cases.find((b) => b.policy === c.policy && b.shape === 'helper')!;
      // CPU times have 1 ms resolution at best; a floor of 1 ms keeps a tiny file's ratio finite.
      const cpuBase = Math.max(1, median(base.cpu));
      return {
        entitlements: c.size.entitlements,
        policy: c.policy.shape,
        shape: c.shape,
        users: c.size.users,
        vms: c.size.vms,
        sudoersBytes: Buffer.byteLength(c.text),
        sudoersLines: c.text.split('\n').length - 1,
        members: c.shape === 'helper' ? readSudoers(c.text, w.sb.openConsole).members : NaN,
        medianMs: median(c.wall),
        p90Ms: quantile(c.wall, 0.9),
        ratio: median(c.wall) / median(base.wall),
        cpuMs: median(c.cpu),
        cpuRatio: Math.max(1, median(c.cpu)) / cpuBase,
      };
    });
    return {
      raw,
      table: {
        title: 'sudo policy check per click (the real sudoers)',
        head: ['entitlements', 'policy', 'users × VMs', 'sudoers', 'lines', 'members', 'wall median', 'wall p90', 'wall ratio', 'sudo CPU', 'CPU ratio'],
        rows: raw.map((r, i) => [
          fmtInt(r.entitlements),
          `${cases[i]!.policy.label}${r.shape === 'helper' ? '' : ` (${r.shape})`}`,
          `${fmtInt(r.users)} × ${fmtInt(r.vms)}`,
          `${(r.sudoersBytes / 1024).toFixed(r.sudoersBytes < 10240 ? 1 : 0)} KiB`,
          fmtInt(r.sudoersLines),
          Number.isNaN(r.members) ? '' : fmtInt(r.members),
          fmtMs(r.medianMs),
          fmtMs(r.p90Ms),
          `${r.ratio.toFixed(2)}×`,
          fmtMs(r.cpuMs),
          `${r.cpuRatio.toFixed(1)}×`,
        ]),
        notes: [
          `\`${['sudo', '-n', '-l', 'open-console', '--state-dir', '…', 'vm0'].join(' ')}\` run as an entitled user with a group member's login groups, ${opts.rounds} alternating rounds × ${opts.callsPerRound} calls per file`,
          `ratios: medians against the ${fmtInt(opts.sizes[0]!)}-entitlement helper file of the same policy shape; target ≤ 2× at 100,000. sudo CPU (user + system, 1 ms resolution) is the file's own cost; wall time also carries the machine's load`,
          'members: list members sudo parses (each `#uid`/`%#gid`, alias reference and command); sudo\'s cost follows them, not bytes',
          ...[...new Set(cases.map((c) => c.shape))].map((sh) => `${sh}: ${SHAPE_NOTES[sh]}`),
        ],
      },
    };
  } finally {
    await w.cleanup();
  }
}
