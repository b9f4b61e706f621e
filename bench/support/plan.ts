// The helper's own plan for a generated policy, computed in-process (the generator knows every uid), so the
// benchmark variants are rendered by the same code that `apply` uses rather than written by hand here.
import type { Facts } from '../../helper/src/policy/facts.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { makePlan, type Backend, type Plan } from '../../helper/src/plan/plan.js';
import { policyBody, uidOf, type Shape, type Sizes } from './policy-gen.js';
import { BENCH_GROUP, BENCH_GROUP_GID, USERS_GID, userName } from './world.js';

/**
 * Renders the plan a World's `apply` would make for these sizes (same policy text, same facts). `groupMembers`:
 * BENCH_GROUP exists with the first that many accounts (as `World.create` makes it for the `group` shape).
 */
export function benchPlan(s: Sizes, opts: { policyText: string; backend: Backend; viewerGid: number; openConsole: string; stateDir: string; groupMembers?: number }): Plan {
  const parsed = parseFragment('bench.yaml', opts.policyText);
  const merged = mergeFragments([parsed.fragment]);
  const problems = [...parsed.diagnostics, ...merged.diagnostics];
  if (problems.length > 0) throw new Error(`generated policy is invalid: ${problems[0]!.message}`);
  const users = new Map(Array.from({ length: s.users }, (_, u) => [userName(u), { name: userName(u), uid: uidOf(u), gid: USERS_GID }]));
  const facts: Facts = {
    viewerGid: opts.viewerGid,
    users,
    groups: new Map(opts.groupMembers === undefined ? [] : [[BENCH_GROUP, Array.from({ length: opts.groupMembers }, (_, u) => userName(u))]]),
    groupGids: new Map(opts.groupMembers === undefined ? [] : [[BENCH_GROUP, BENCH_GROUP_GID]]),
    addresses: new Map([['bench', ['127.0.0.1']]]),
    ca: new Map([['bench', '-----BEGIN CERTIFICATE-----\n']]),
    serverProblems: new Map(),
    utcOffsetMinutes: 0,
    now: new Date(),
  };
  return makePlan(merged.policy, facts, { backend: opts.backend, openConsole: opts.openConsole, stateDirArg: opts.stateDir });
}

/** Re-exported so callers need one import for sizes, shapes and bodies. */
export { policyBody, type Shape, type Sizes };

/** The output chain's hook line; the variant puts its conntrack rule right after it. */
const OUTPUT_HOOK = /^(\s*)(type filter hook output priority filter; policy accept;)$/m;

/**
 * "Accept established first": the same table with conntrack letting every packet of an established connection
 * skip the checks (so revocation would not cut it), under another name so it can sit beside ours.
 */
export function establishedFirstVariant(nft: string, table: string): string {
  if (!OUTPUT_HOOK.test(nft)) throw new Error('rendered nft has no output hook line; update bench/support/plan.ts');
  return nft.replaceAll('inet consolegate', `inet ${table}`).replace(OUTPUT_HOOK, '$1$2\n$1ct state established,related accept');
}
