// What every command gets (paths, exec, output), and the shared "load → facts → plan" pipeline.
import { readFile, stat } from 'node:fs/promises';
import { DEFAULTS, type Paths } from '../paths.js';
import { chooseBackend } from '../apply/firewall.js';
import { rulesetGeneration, sameGeneration } from '../apply/generation.js';
import { nftListingStarted, type NftLive } from '../apply/nft.js';
import { readState } from '../apply/state.js';
import { viewsOnDisk } from '../apply/view-thread.js';
import { statePaths } from '../paths.js';
import { ConsolegateError } from '../errors.js';
import { askEarly, enumerateEarly, gatherFacts, type EarlyAnswers, type Facts } from '../policy/facts.js';
import { loadPolicy, type MemoStore } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { DpkgAnswer } from '../apply/viewer.js';
import { digestOf, sha256, type PlanDigest } from '../plan/digest.js';
import { makePlan, type LastPlan, type Plan, type PlanHooks, type PlanOptions } from '../plan/plan.js';
import type { Live } from './inspect.js';
import { memoStore, parseMemoBytes } from './parse-memo-file.js';
import { cachedDigest, policyFilesNow } from './plan-cache.js';
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

/** The plan options that come from the command line and environment, not the policy. */
export function renderOptions(ctx: Context): Omit<PlanOptions, 'backend'> {
  return { openConsole: ctx.paths.openConsole, stateDirArg: ctx.paths.stateDir === DEFAULTS.stateDir ? null : ctx.paths.stateDir };
}

/** What `prepare` tells as soon as it has it: the policy once parsed (to start reads that need it), and PlanHooks. */
export interface PrepareHooks extends PlanHooks {
  /** `recorded`: dpkg's answer the plan cache recorded (prepareLive only), for dpkgAnswer. */
  loaded?: (policy: Policy, recorded: DpkgAnswer | null) => void;
}

/** How `prepare` works: see there. */
export interface PrepareOptions extends PrepareHooks {
  machineBackend: boolean;
  /** Passed on to `loaded`. */
  recorded?: DpkgAnswer | null;
  /** The policy files' last parses, to parse only what changed (prepareLive). */
  memo?: MemoStore;
  /** NSS lookups started before parsing (prepareLive). */
  early?: EarlyAnswers | null;
  /** What the last plan left (prepareLive: lastPlan), to build on. */
  last?: LastPlan | null;
}

/**
 * Loads, resolves and renders; with --strict, skipped entitlements are errors. `machineBackend: false` (validate)
 * renders for the policy's named backend, nftables for `auto`, without asking this machine which tools work.
 */
export async function prepare(ctx: Context, opts: PrepareOptions = { machineBackend: true }): Promise<Prepared> {
  const policy = await loadPolicy(ctx.paths.policy, ctx.paths.policyDir, opts.memo);
  opts.loaded?.(policy, opts.recorded ?? null);
  const facts = await gatherFacts(policy, { exec: ctx.exec, early: opts.early ?? null, ...(ctx.now ? { now: ctx.now } : {}) });
  const backend = opts.machineBackend ? await chooseBackend(ctx.exec, policy.firewall.backend) : policy.firewall.backend === 'iptables' ? 'iptables' : 'nftables';
  const plan = makePlan(policy, facts, { backend, ...renderOptions(ctx) }, opts, opts.last ?? null);
  if (ctx.strict && plan.skipped.length > 0) {
    throw new ConsolegateError('POLICY_INVALID', `--strict: ${plan.skipped.length} entitlement(s) cannot be in force here`, {
      diagnostics: plan.skipped.map((s) => ({ pos: parseWhere(s.where), message: s.message })),
    });
  }
  return { policy, facts, plan };
}

/** What a command that compares the system with the policy works from. */
export interface LivePrepared extends Live {
  digest: PlanDigest;
  /** The rendered plan, or null when the digest came from the plan cache (nothing parsed or rendered). */
  prepared: Prepared | null;
  /** The policy files' hash before parsing, for writePlanCache. */
  files: string;
  /** The plan cache's digest when this helper wrote it (Cached.previous), for digestOf. */
  previous: PlanDigest | null;
  /** When it parsed: the files' last parses and this run's, for writeParseMemo. */
  memo: MemoStore | null;
}

/**
 * The plan's digest (from the plan cache when its inputs are unchanged, else parsed and rendered) and what is live:
 * state.json, and our nft table (`nftLive`, undefined for iptables). While the ruleset generation is the one our
 * last load made, the table is known without listing it; otherwise it is listed while the policy is parsed (a
 * listing of 100,000 elements takes seconds, as parsing did). `hooks`: as for `prepare`, when it parses. `stamp`:
 * list and stamp the view files on a thread while parsing (Live.onDisk); not when there are none to stamp.
 */
export async function prepareLive(ctx: Context, hooks: PrepareHooks = {}, opts: { stamp: boolean } = { stamp: true }): Promise<LivePrepared> {
  const [state, generation] = await Promise.all([readState(ctx.paths.stateDir).catch(() => null), rulesetGeneration(ctx.exec)]);
  const seal = state?.backend === 'nftables' ? state.firewall.loaded : undefined;
  const sealed: NftLive | null =
    seal && generation && sameGeneration(seal.generation, generation) ? { kind: 'sealed', generation, loadedFile: statePaths(ctx.paths.stateDir).loaded, loadedSha: seal.file } : null;
  const listing = sealed === null ? nftListingStarted(ctx.exec) : null;
  const memoBytes = parseMemoBytes(ctx.paths.stateDir);
  const files = await policyFilesNow(ctx);
  const { hit, previous, dpkg, questions } = await cachedDigest(ctx, files, renderOptions(ctx)).catch(() => ({ hit: null, previous: null, dpkg: null, questions: null }));
  // What the last plan asked NSS is most likely what this one will: asked while the policy is parsed. Without one (a
  // first apply), a policy this large names more users than are looked up one by one, or groups: either way the
  // users are enumerated, and that starts now.
  const early = hit !== null ? null : questions !== null ? askEarly(ctx.exec, questions) : (await enumeratingSize(ctx)) ? enumerateEarly(ctx.exec) : null;
  // Parsing takes a while: meanwhile a thread makes the 10,000 lstat calls the views' seals need (with the plan
  // cached there is no while, and its answer is taken only if it came in time).
  const stamping = hit === null && opts.stamp ? viewsOnDisk(statePaths(ctx.paths.stateDir).views) : null;
  // What the last plan wrote, read while the policy is parsed, to be built on.
  const last = hit === null && previous !== null ? lastPlan(ctx, previous) : null;
  const memo = hit === null ? await memoStore(await memoBytes) : null;
  const prepared = hit === null ? await prepare(ctx, { machineBackend: true, ...hooks, recorded: dpkg, memo: memo!, early, last: await last }) : null;
  const digest = hit ?? digestOf(prepared!.plan, previous);
  const nftLive: NftLive | undefined = digest.backend !== 'nftables' ? undefined : (sealed ?? { kind: 'listed', listing: await listing!, generation });
  return { digest, prepared, files, previous, memo, state, nftLive, onDisk: stamping };
}

/**
 * What the plan `previous` digests left to build on: its view keys, and its console table and sudoers file when they
 * are still the very texts it hashed (a foreign edit, or a file of another plan, is not built on).
 */
export async function lastPlan(ctx: Context, previous: PlanDigest): Promise<LastPlan> {
  const [table, sudoers] = await Promise.all([ifHashed(statePaths(ctx.paths.stateDir).table, previous.table), ifHashed(ctx.paths.sudoersFile, previous.sudoers)]);
  return { viewKeys: previous.viewKeys, table, sudoers };
}

/** A file's text, when its sha256 is `hash`: else null. */
async function ifHashed(file: string, hash: string): Promise<string | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  return text !== null && sha256(text) === hash ? text : null;
}

function parseWhere(where: string) {
  const m = /^(.*):(\d+):(\d+)$/.exec(where);
  return m ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]) } : { file: where, line: 1, col: 1 };
}

// A policy file this large almost always names more users than are looked up one by one (system/nss.ts), or
// entitles groups, and then gatherFacts enumerates the users anyway. Otherwise the cost is one enumeration unused.
const ENUMERATING_BYTES = 64 * 1024;

/** Whether the main policy file is large enough that its parse will enumerate the users. */
async function enumeratingSize(ctx: Context): Promise<boolean> {
  return stat(ctx.paths.policy).then((s) => s.size >= ENUMERATING_BYTES, () => false);
}

/** Refuses early with a clear message when a command needs root. */
export function requireRoot(command: string): void {
  if (process.geteuid?.() !== 0) throw new ConsolegateError('NOT_ROOT', `\`${command}\` changes the firewall, sudoers and the viewer: run it as root`);
}
