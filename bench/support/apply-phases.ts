// Runs inside a World (node --import tsx): the real `apply` command with an Exec that times what apply waits for
// every external command, plus separately timed parse and render, and prints one JSON line. Tells where apply's
// time goes.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../test/support/sandbox.js';
import { apply } from '../../helper/src/commands/apply.js';
import { readFile, writeFile } from 'node:fs/promises';
import { lastPlan, prepare, renderOptions, type Context } from '../../helper/src/commands/context.js';
import { cachedDigest, policyFilesNow } from '../../helper/src/commands/plan-cache.js';
import { memoStore, parseMemoBytes } from '../../helper/src/commands/parse-memo-file.js';
import { resolvePaths } from '../../helper/src/paths.js';
import { loadPolicy } from '../../helper/src/policy/load.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';

/** Milliseconds per phase of one apply; `files` is what is left: the state directory, views, renames. */
export interface Phases {
  total: number;
  parse: number;
  facts: number;
  render: number;
  getent: number;
  /** `nft -f` or `ip(6)tables-restore`. */
  fwLoad: number;
  /** `nft list` or `ip(6)tables-save`: rollback snapshot, OUTPUT jump check, live fingerprint. */
  fwRead: number;
  visudo: number;
  otherExec: number;
  files: number;
}

function label(argv: string[], argv0: string | undefined): keyof Phases {
  // apply runs its firewall tools through symlinks (`cgapply-nft`) with the tool's own argv[0].
  const [path0, ...args] = argv;
  const cmd = argv0 ?? path0;
  if (cmd === 'getent') return 'getent';
  if (cmd === 'visudo') return 'visudo';
  if (cmd === 'nft') return args.includes('-f') ? 'fwLoad' : 'fwRead';
  if (/^ip6?tables-restore$/.test(cmd ?? '')) return 'fwLoad';
  if (/^ip6?tables-save$/.test(cmd ?? '')) return 'fwRead';
  return 'otherExec';
}

async function main(): Promise<void> {
  // The helper looks for its NSS short-cut beside its own script (system/nss-shim.ts): point it at the build.
  process.argv[1] = path.join(ROOT, 'dist/consolegate-helper.js');
  const spent = new Map<keyof Phases, number>();
  let recording = false;
  // A command counts for the time apply's event loop sat idle while it ran, each idle moment once (to the first
  // command to end after it): its wall time would count work done meanwhile, such as the second of rendering that
  // dpkg-query, started when the policy is read, spans.
  let lastEnd = { at: 0, elu: performance.eventLoopUtilization() };
  const timed: Exec = async (argv, options) => {
    const start = { at: performance.now(), elu: performance.eventLoopUtilization() };
    try {
      return await exec(argv, options);
    } finally {
      const l = label(argv, options?.argv0);
      const end = { at: performance.now(), elu: performance.eventLoopUtilization() };
      const from = start.at >= lastEnd.at ? start : lastEnd;
      lastEnd = end;
      if (recording) spent.set(l, (spent.get(l) ?? 0) + performance.eventLoopUtilization(end.elu, from.elu).idle);
    }
  };
  const quiet = { line: () => undefined, warn: () => undefined, json: () => undefined };
  const ctx: Context = { paths: resolvePaths(process.env), exec: timed, out: quiet, json: false, strict: false, since: null };
  // With a second policy text: apply the current one unrecorded, then time the change to the second, written over
  // the policy file as an admin would (so the parse memo the first apply left applies); put back at the end.
  const changeTo = process.argv[2];
  const original = changeTo ? await readFile(ctx.paths.policy, 'utf8') : null;
  if (changeTo) {
    await apply(ctx);
    await writeFile(ctx.paths.policy, await readFile(changeTo, 'utf8'));
  }

  // The pure phases, timed on their own (apply repeats them; they are subtracted from its total below). Parsing
  // goes through the parse memo as apply's does (a first apply has none).
  const memo = async () => memoStore(await parseMemoBytes(ctx.paths.stateDir));
  let t0 = performance.now();
  await loadPolicy(ctx.paths.policy, ctx.paths.policyDir, await memo());
  const parse = performance.now() - t0;
  // Built on the last plan as apply builds on it (view keys, table, sudoers), when there is one; apply reads these
  // while it parses, so they are read before the clock starts.
  const { previous } = await cachedDigest(ctx, await policyFilesNow(ctx), renderOptions(ctx));
  const last = previous === null ? null : await lastPlan(ctx, previous);
  recording = true;
  t0 = performance.now();
  const { plan } = await prepare(ctx, { machineBackend: true, memo: await memo(), last });
  const prepareMs = performance.now() - t0;
  const prepareExec = [...spent.values()].reduce((a, b) => a + b, 0);
  if (plan.grants.length === 0) throw new Error('no grants resolved: the world is not set up');

  spent.clear();
  t0 = performance.now();
  await apply(ctx);
  const total = performance.now() - t0;
  recording = false;

  const get = (k: keyof Phases) => spent.get(k) ?? 0;
  // prepare = parse + facts (external commands) + render; parse was timed alone just before.
  const render = Math.max(0, prepareMs - parse - prepareExec);
  const execSum = (['getent', 'fwLoad', 'fwRead', 'visudo', 'otherExec'] as const).reduce((a, k) => a + get(k), 0);
  const phases: Phases = {
    total,
    parse,
    facts: get('getent'),
    render,
    getent: get('getent'),
    fwLoad: get('fwLoad'),
    fwRead: get('fwRead'),
    visudo: get('visudo'),
    otherExec: get('otherExec'),
    files: Math.max(0, total - parse - render - execSum),
  };
  if (original !== null) await writeFile(ctx.paths.policy, original);
  process.stdout.write(`${JSON.stringify(phases)}\n`);
}

await main();
