// Two helper builds against each other, interleaved: this machine's speed swings by ±30–40 % within minutes, so
// "before" and "after" measured minutes apart say little. Here both builds run in one world, alternating, every
// round in the other order, and the medians are compared.
//
//   git worktree add /tmp/before <rev> && (cd /tmp/before && ln -s "$PWD/node_modules" . && node scripts/build.mjs)
//   node --import tsx bench/ab.ts --old /tmp/before/dist/consolegate-helper.js [--new dist/consolegate-helper.js]
//                                 [--shape per-vm|group|distinct] [--rounds 3] [--entitlements 100000]
//
// Each round, each build: `remove`, a first apply, one entitlement added and removed again (two changes), an
// up-to-date apply and a status. The state directory is on a loop-mounted ext4 with a journal (as on a Debian
// install; see apply.ts for why not this machine's root file system). Root only; never asserts timings.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/support/sandbox.js';
import { changeAccount, distinctSets, groupSizesFor, policyBody, sizesFor, type Shape } from './support/policy-gen.js';
import { fmtMs, median } from './support/report.js';
import { journaledState, World, userName } from './support/world.js';

const STEPS = ['first', 'change', 'up to date', 'status'] as const;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      old: { type: 'string' },
      new: { type: 'string', default: path.join(ROOT, 'dist/consolegate-helper.js') },
      shape: { type: 'string', default: 'per-vm' },
      rounds: { type: 'string', default: '3' },
      entitlements: { type: 'string', default: '100000' },
    },
  });
  const shape = values.shape as Shape;
  if (values.old === undefined || !['per-vm', 'group', 'distinct'].includes(shape)) {
    process.stderr.write('usage: bench/ab.ts --old OLD_HELPER.js [--new NEW_HELPER.js] [--shape per-vm|group|distinct] [--rounds N] [--entitlements N]\n');
    return 2;
  }
  const builds = { old: path.resolve(values.old), new: path.resolve(values.new!) };
  const n = Number(values.entitlements);
  const s = shape === 'group' ? groupSizesFor(n) : sizesFor(n);
  if (shape === 'distinct') distinctSets(s);
  // One account more than the policy names: the group shape's change gives it vm0 by name.
  const w = await World.create(s.users + 1, shape === 'group' ? { groupMembers: s.users } : {});
  const times = new Map<string, number[]>();
  const mounted = await journaledState(w).catch(async (err: unknown) => {
    await w.cleanup();
    throw err;
  });
  try {
    if ('why' in mounted) throw new Error(`no loop-mounted ext4 for the state directory: ${mounted.why}`);
    const body = policyBody(s, shape);
    // As apply.ts, or the account no entitlement names when every listed user has vm0 already.
    const extra = changeAccount(s, shape) ?? s.users;
    const original = w.sb.policy(body, { backend: 'nftables' });
    const changed = w.sb.policy(`${body}  - { vm: vm0, users: [${userName(extra)}] }\n`, { backend: 'nftables' });
    const run = async (build: 'old' | 'new', args: string[], step?: (typeof STEPS)[number]) => {
      const t0 = performance.now();
      const r = await w.run(['node', builds[build], ...args]);
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${build} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 600)}`);
      if (step) times.set(`${step}\0${build}`, [...(times.get(`${step}\0${build}`) ?? []), ms]);
    };
    await w.sb.writePolicy(original);
    await run('new', ['apply']); // a warm-up: page cache, the world's first NSS reads
    for (let i = 0; i < Number(values.rounds); i++) {
      for (const build of i % 2 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
        await run(build, ['remove']);
        await run(build, ['apply'], 'first');
        for (const text of [changed, original]) {
          await w.sb.writePolicy(text);
          await run(build, ['apply'], 'change');
        }
        await run(build, ['apply'], 'up to date');
        await run(build, ['status'], 'status');
      }
      process.stderr.write(`ab: round ${i + 1}/${values.rounds} done\n`);
    }
  } finally {
    if ('undo' in mounted) await mounted.undo();
    await w.cleanup();
  }
  process.stdout.write(`${shape}, ${n} entitlements, ${values.rounds} rounds (medians; all runs in brackets)\n`);
  for (const step of STEPS) {
    const [a, b] = (['old', 'new'] as const).map((build) => times.get(`${step}\0${build}`) ?? []);
    const change = ((median(b!) / median(a!) - 1) * 100).toFixed(0);
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    process.stdout.write(`${step.padEnd(11)} old ${fmtMs(median(a!))} [${runs(a!)}]  new ${fmtMs(median(b!))} [${runs(b!)}]  ${Number(change) > 0 ? '+' : ''}${change} %\n`);
  }
  return 0;
}

process.exitCode = await main();
