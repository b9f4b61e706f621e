// What every command gets (paths, exec, output), and the shared "load → facts → plan" pipeline.
import { DEFAULTS, type Paths } from '../paths.js';
import { chooseBackend } from '../apply/firewall.js';
import { nftListingStarted } from '../apply/nft.js';
import { ConsolegateError } from '../errors.js';
import { gatherFacts, type Facts } from '../policy/facts.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { makePlan, type Plan } from '../plan/plan.js';
import type { Exec } from '../system/exec.js';

/** Where a command writes: human lines, or one JSON document with --json. */
export interface Output {
  line(text: string): void;
  warn(text: string): void;
  json(value: unknown): void;
}

/** Parsed command-line options and injected system access. */
export interface Context {
  paths: Paths;
  exec: Exec;
  out: Output;
  json: boolean;
  strict: boolean;
  since: string | null;
  now?: () => Date;
}

/** A command's result; cli.ts maps it to an exit code. */
export type Outcome = 'ok' | 'changes-pending' | 'drift';

/** The policy, the facts about this machine, and the rendered plan. */
export interface Prepared {
  policy: Policy;
  facts: Facts;
  plan: Plan;
}

/**
 * Loads, resolves and renders; with --strict, skipped entitlements are errors. `machineBackend: false` (validate)
 * renders for the policy's named backend, nftables for `auto`, without asking this machine which tools work.
 */
export async function prepare(ctx: Context, opts: { machineBackend: boolean } = { machineBackend: true }): Promise<Prepared> {
  const policy = await loadPolicy(ctx.paths.policy, ctx.paths.policyDir);
  const facts = await gatherFacts(policy, { exec: ctx.exec, ...(ctx.now ? { now: ctx.now } : {}) });
  const backend = opts.machineBackend ? await chooseBackend(ctx.exec, policy.firewall.backend) : policy.firewall.backend === 'iptables' ? 'iptables' : 'nftables';
  const plan = makePlan(policy, facts, {
    backend,
    openConsole: ctx.paths.openConsole,
    stateDirArg: ctx.paths.stateDir === DEFAULTS.stateDir ? null : ctx.paths.stateDir,
  });
  if (ctx.strict && plan.skipped.length > 0) {
    throw new ConsolegateError('POLICY_INVALID', `--strict: ${plan.skipped.length} entitlement(s) cannot be in force here`, {
      diagnostics: plan.skipped.map((s) => ({ pos: parseWhere(s.where), message: s.message })),
    });
  }
  return { policy, facts, plan };
}

/**
 * prepare(), with our nft table listed meanwhile (a listing of 100,000 elements takes seconds, as does parsing):
 * `nftListing` is the listing when the plan uses nftables, else undefined.
 */
export async function prepareListed(ctx: Context): Promise<Prepared & { nftListing: string | null | undefined }> {
  const listing = nftListingStarted(ctx.exec);
  const prepared = await prepare(ctx);
  return { ...prepared, nftListing: prepared.plan.backend === 'nftables' ? await listing : undefined };
}

function parseWhere(where: string) {
  const m = /^(.*):(\d+):(\d+)$/.exec(where);
  return m ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]) } : { file: where, line: 1, col: 1 };
}

/** Refuses early with a clear message when a command needs root. */
export function requireRoot(command: string): void {
  if (process.geteuid?.() !== 0) throw new ConsolegateError('NOT_ROOT', `\`${command}\` changes the firewall, sudoers and the viewer: run it as root`);
}
