// `apply`: make the system match the policy in one transaction; on failure roll back and fail closed.
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { firewallStep, iptablesFingerprint, otherBackendRules } from '../apply/firewall.js';
import { digestOf, type PlanDigest } from '../plan/digest.js';
import { writePlanCache } from './plan-cache.js';
import { rulesetGeneration, sameGeneration } from '../apply/generation.js';
import { removeChain } from '../apply/iptables.js';
import { nftRemove } from '../apply/nft.js';
import { acquireLock } from '../apply/lock.js';
import { APPLY_COMM_PREFIX, ownCommands } from '../apply/monitor-own.js';
import { savedIsCurrent, savedStep, writeSaved } from '../apply/saved.js';
import { stateStep, type StateFile } from '../apply/state.js';
import { step, type Step } from '../apply/step.js';
import { prepareSudoers, sudoersStep, VisudoMissing } from '../apply/sudoers.js';
import { runTransaction } from '../apply/transaction.js';
import { dpkgAnswer, ensureGroup, viewerStep, type DpkgAnswer, type ViewerOriginal } from '../apply/viewer.js';
import { ConsolegateError, messageOf } from '../errors.js';
import { statePaths } from '../paths.js';
import { nssShim } from '../system/nss-shim.js';
import type { Plan } from '../plan/plan.js';
import { inspect, type Live } from './inspect.js';
import { failClosed } from './fail-closed.js';
import type { Context, Outcome } from './context.js';
import { prepare, prepareLive, renderOptions, requireRoot, type LivePrepared } from './context.js';
import { writeParseMemo } from './parse-memo-file.js';
import { isEmptyDir, removeStaleTemps, writeAtomic } from '../system/fs.js';
import { startViewDir, type EarlyViewDir } from '../apply/view-thread.js';
import { spreadSubdirs } from '../system/spread-dirs.js';

/**
 * Applies; on failure everything is rolled back, the firewall fails closed (commands/fail-closed.ts) and
 * APPLY_FAILED (or the policy's own error) is raised. Failing closed covers every stage, from reading the policy on.
 */
export async function apply(outer: Context): Promise<Outcome> {
  requireRoot('apply');
  const started = Date.now();
  // Our firewall tools run under names `watch` recognises (monitor-own.ts), so it does not reload after us.
  const own = await ownCommands(outer.exec, process.env, APPLY_COMM_PREFIX);
  try {
    return await applyLocked({ ...outer, exec: own.exec }, started);
  } finally {
    await own.close();
  }
}

async function applyLocked(ctx: Context, started: number): Promise<Outcome> {
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o755 });
  const lock = await acquireLock(ctx.exec, statePaths(ctx.paths.stateDir).lock);
  let plan: Plan | null = null;
  let early: EarlyViewDir | null = null;
  // A first apply's records (below): finished under the lock, but never before failing closed.
  let recording: Promise<void> | null = null;
  try {
    await removeStale(ctx);
    // A first apply's views (none there yet) are created on another thread as soon as the plan has them.
    const views = statePaths(ctx.paths.stateDir).views;
    if (await isEmptyDir(views)) {
      await spreadSubdirs(ctx.exec, ctx.paths.stateDir);
      early = startViewDir(views);
    }
    // What is live is read under the lock (our nft table known from the ruleset generation, or listed meanwhile),
    // and the plan's digest, from the plan cache when nothing it depends on changed.
    // Whether dpkg owns the viewer takes dpkg-query a while (it reads every package's file list): asked as soon
    // as the policy names the viewer, while the rest of it is rendered, unless the plan cache has the answer for
    // this state of dpkg's database.
    const dpkgAsked = new Map<string, Promise<DpkgAnswer>>();
    const live = await prepareLive(
      ctx,
      {
        loaded: (policy, recorded) => {
          const answer = dpkgAnswer(ctx.exec, policy.viewer.path, recorded);
          answer.catch(() => undefined); // awaited by applyPlan, unless the run ends before
          dpkgAsked.set(policy.viewer.path, answer);
        },
        viewsReady: (planned) => early?.send(planned),
      },
      { stamp: early === null },
    );
    // The timer re-applies every few minutes: when nothing differs, touch nothing (no reload of large sets). Rules
    // other than the last apply's are a difference already, and the state step checks the views itself.
    const rulesChanged = live.state?.firewall.rendered !== live.digest.firewall;
    // What dpkg said, for the plan cache (nothing when it was not asked or failed).
    const dpkgSaid = async (viewer: string) => dpkgAsked.get(viewer)?.catch(() => undefined);
    if (live.digest.viewer.gid !== null && !rulesChanged && (await inspect(ctx.exec, live.digest, ctx.paths, live)).length === 0) {
      await upToDate(ctx, live, started, await dpkgSaid(live.digest.viewer.path));
      return 'ok';
    }
    let prepared = live.prepared ?? (await prepare(ctx));
    // Rules name the group's gid, so it must exist first; creating it is harmless and not rolled back.
    if (prepared.facts.viewerGid === null) {
      await ensureGroup(ctx.exec, prepared.policy.viewer.group);
      prepared = await prepare(ctx);
    }
    plan = prepared.plan;
    const digest = prepared === live.prepared ? live.digest : digestOf(plan, live.previous);
    const viewer = plan.viewer.path;
    if (!dpkgAsked.has(viewer)) dpkgAsked.set(viewer, dpkgAnswer(ctx.exec, viewer, null));
    // The plan cache and the parses are what these inputs give, whether or not this apply succeeds: recorded while
    // the firewall loads, in the time the transaction waits for nft.
    const record = async () => {
      const dpkg = await dpkgSaid(viewer);
      await spare(ctx, 'the plan cache', () => writePlanCache(ctx, live.files, prepared, digest, renderOptions(ctx), dpkg));
      await keepParses(ctx, live);
    };
    // A first apply waits for its view writer thread: there the records are made before the transaction, in the
    // main thread's waits (sudoers check, writer thread), not after the writer thread has answered.
    const recorded = early === null ? null : record();
    recording = recorded;
    await applyPlan(ctx, plan, digest, started, live, dpkgAsked.get(viewer)!.then((a) => a.owns), early, recorded === null ? record : () => recorded);
    return 'ok';
  } catch (err) {
    await failClosed(ctx, plan, err);
    throw err;
  } finally {
    await early?.discard();
    await recording;
    await lock.release();
  }
}

/**
 * Removes the temp files and staged directories a killed apply left (their step never renamed them); nobody else
 * writes these while we hold the lock (host mode keeps its own files, under its own lock, in the same directory:
 * not these names).
 */
async function removeStale(ctx: Context): Promise<void> {
  const sp = statePaths(ctx.paths.stateDir);
  await removeStaleTemps(ctx.paths.stateDir, [sp.state, sp.table, sp.firewall, sp.loaded, sp.planCache, sp.parseMemo, sp.views].map((f) => path.basename(f)));
  await removeStaleTemps(sp.views);
  await removeStaleTemps(path.dirname(ctx.paths.sudoersFile), [path.basename(ctx.paths.sudoersFile)]);
}

/**
 * Nothing to change: record what may be missing (the generation, firewall.json, the plan cache) and say so.
 * `dpkg`: what dpkg said about the viewer in this run, for the plan cache.
 */
async function upToDate(ctx: Context, live: LivePrepared, started: number, dpkg: DpkgAnswer | undefined): Promise<void> {
  const { digest } = live;
  for (const s of digest.skipped) ctx.out.warn(`${s.where}: warning: ${s.message}`);
  await chmod(ctx.paths.stateDir, 0o755);
  await spare(ctx, 'the ruleset generation', () => reseal(ctx, live));
  // Saved by a version that did not save its rules (boot and watch need them): that needs the model itself.
  const { prepared } = live;
  if (!(await savedIsCurrent(ctx.paths.stateDir, digest.backend, digest.model))) {
    const { plan } = prepared ?? (await prepare(ctx));
    await writeSaved(ctx.paths.stateDir, { backend: plan.backend, reason: 'applied', model: plan.firewall });
  }
  if (prepared) await spare(ctx, 'the plan cache', () => writePlanCache(ctx, live.files, prepared, digest, renderOptions(ctx), dpkg));
  await keepParses(ctx, live);
  const users = Object.keys(digest.views).length;
  if (ctx.json) ctx.out.json({ applied: false, upToDate: true, backend: digest.backend, grants: digest.grants, users, skipped: digest.skipped, plan: prepared ? 'rendered' : 'cached', ms: Date.now() - started });
  else ctx.out.line(`up to date: backend ${digest.backend}, ${digest.grants} grant(s) for ${users} user(s), ${digest.skipped.length} skipped`);
}

/**
 * Runs the transaction for a rendered plan; the caller holds the lock, has looked at what is live and found changes.
 * `statoverride`: whether dpkg owns the viewer (then its lock goes through dpkg-statoverride); `early`: a first
 * apply's views, being written on another thread; `record`: what only spares later runs work, done meanwhile.
 */
async function applyPlan(
  ctx: Context,
  plan: Plan,
  digest: PlanDigest,
  started: number,
  live: LivePrepared,
  statoverride: Promise<boolean>,
  early: EarlyViewDir | null,
  record: () => Promise<void>,
): Promise<void> {
  const gid = plan.viewer.gid;
  if (gid === null) throw new ConsolegateError('APPLY_FAILED', `viewer group \`${plan.viewer.group}\` could not be created`);
  for (const s of plan.skipped) ctx.out.warn(`${s.where}: warning: ${s.message}`);

  // A read that takes a while runs beside the sudoers check; it does not depend on what this apply changes.
  const leftover = otherBackendRules(ctx.exec, plan.backend);
  for (const p of [statoverride, leftover]) p.catch(() => undefined); // awaited below, unless an earlier check throws
  await chmod(ctx.paths.stateDir, 0o755);
  // Everything is rendered and the sudoers candidate checked before the first change to the system; visudo checks
  // it while the steps below read what they will change.
  const sudoersChecked = checkedSudoers(ctx, plan.sudoers);
  sudoersChecked.catch(() => undefined); // awaited below
  try {
    await buildAndRun(ctx, { plan, gid, digest, started, live, statoverride, leftover, sudoersChecked, early, record });
  } catch (err) {
    // The candidate is renamed into place only by the sudoers step; whatever failed, it must not stay behind
    // (sudo skips dot files, but every failed apply would leave one more in /etc/sudoers.d).
    await sudoersChecked.then((file) => rm(file, { force: true }), () => undefined);
    throw err;
  }
}

/** Writes the sudoers candidate beside the target and has visudo check it; its path, or APPLY_FAILED. */
async function checkedSudoers(ctx: Context, sudoers: string): Promise<string> {
  return prepareSudoers(ctx.exec, ctx.paths.sudoersFile, sudoers).catch((err: unknown) => {
    throw new ConsolegateError('APPLY_FAILED', err instanceof VisudoMissing ? `sudoers: ${err.message}` : `sudoers: ${messageOf(err)}; nothing was changed`, { cause: err });
  });
}

/** What applyPlan hands on: the plan and what was found or started for it. */
interface Applying {
  plan: Plan;
  gid: number;
  digest: PlanDigest;
  started: number;
  live: LivePrepared;
  statoverride: Promise<boolean>;
  /** otherBackendRules, started before the transaction. */
  leftover: Promise<string | null>;
  /** The checked sudoers candidate's path (checkedSudoers). */
  sudoersChecked: Promise<string>;
  early: EarlyViewDir | null;
  /** Records that spare later runs work (never throws): done while the firewall loads. */
  record: () => Promise<void>;
}

/** applyPlan's steps, put together while visudo checks the sudoers candidate, then run as one transaction. */
async function buildAndRun(ctx: Context, a: Applying): Promise<void> {
  const { plan, gid, digest, started, live, statoverride, leftover, sudoersChecked, early, record } = a;
  const previous = live.state;
  // What was found live is the firewall step's starting point and snapshot; nothing is listed after loading.
  const firewall = firewallStep(ctx.exec, plan, live.nftLive);
  if (nssShim() === null && plan.grants.length > 0) {
    ctx.out.warn('warning: nss-numeric.so is not beside the helper (or not root-owned): the firewall tools look every uid up in NSS first, which is slow with many entitlements, and an account named like a uid would take its place');
  }
  const steps: Step[] = [firewall.step];
  const viewerOpts = { path: plan.viewer.path, group: plan.viewer.group, gid, mode: plan.viewer.mode, statoverride: await statoverride };
  const viewer = viewerStep(ctx.exec, viewerOpts);
  const viewerNow = await viewer.snapshot();
  if (viewerNow === null) ctx.out.warn(`warning: viewer ${plan.viewer.path} does not exist; consoles cannot open until virt-viewer is installed and apply runs again`);
  else steps.push(step(viewer));
  const sudoersAt = steps.length;
  // The views' stamps taken while the policy was parsed, if the thread has answered (inspect took them already).
  const onDisk = (await live.onDisk?.take()) ?? null;
  // Saved before state.json: both are written only when every system changed; rollback restores the old rules' file.
  steps.push(step(savedStep(ctx.paths.stateDir, plan.backend, plan.firewall)));
  steps.push(
    step(
      stateStep({
        stateDir: ctx.paths.stateDir,
        table: plan.table,
        exec: ctx.exec,
        views: plan.views,
        early,
        loadedNft: plan.backend === 'nftables' ? plan.nft : null,
        sealed: previous?.views,
        ...(onDisk ? { stamps: onDisk.stamps } : {}),
        hashes: () => digest.views,
        // Proven by inspect against the digest it used; valid where this plan wants the same view.
        ...(live.sealedViews ? { sealedViews: new Set([...live.sealedViews].filter((uid) => live.digest.views[uid] === digest.views[uid])) } : {}),
        state: async (views): Promise<StateFile> => ({
          version: 1,
          backend: plan.backend,
          appliedAt: new Date().toISOString(),
          firewall: { rendered: digest.firewall, ...(plan.backend === 'nftables' ? { loaded: (await firewall.sealed()) ?? undefined } : { live: (await iptablesFingerprint(ctx.exec)) ?? '' }) },
          viewer: originalViewer(previous?.viewer ?? null, viewerNow, viewerOpts),
          views,
        }),
      }),
    ),
  );
  steps.splice(sudoersAt, 0, step(sudoersStep(ctx.paths.sudoersFile, await sudoersChecked)));
  await runTransaction(steps, { info: (m) => ctx.out.line(m), warn: (m) => ctx.out.warn(m) }, record);

  // Not only when state.json names the other backend: a switch killed after state.json was written leaves them too.
  if ((await leftover) !== null) await removeOtherBackend(ctx, plan.backend);
  const ms = Date.now() - started;
  if (ctx.json) ctx.out.json({ applied: true, backend: plan.backend, grants: plan.grants.length, users: plan.views.size, skipped: plan.skipped, plan: 'rendered', ms });
  else ctx.out.line(`applied: backend ${plan.backend}, ${plan.grants.length} grant(s) for ${plan.views.size} user(s), ${plan.skipped.length} skipped, ${ms} ms`);
}

/**
 * The viewer as it was before consolegate: the recorded original if we have one for this path, else what it
 * is now — unless it already carries exactly our lock (state lost, or the package's postinst locked it first),
 * then the packaged default root:root 0755 without a statoverride.
 */
function originalViewer(recorded: ViewerOriginal | null, now: ViewerOriginal | null, lock: { path: string; gid: number; mode: number }): ViewerOriginal | null {
  if (recorded && recorded.path === lock.path) return recorded;
  if (now === null) return null;
  const alreadyLocked = now.spec.uid === 0 && now.spec.gid === lock.gid && now.spec.mode === lock.mode;
  return alreadyLocked ? { ...now, spec: { uid: 0, gid: 0, mode: 0o755 }, override: null } : now;
}

/** Records something that only spares later runs work: failing to is a warning, never a failed (fail-closed) apply. */
async function spare(ctx: Context, what: string, record: () => Promise<void>): Promise<void> {
  await record().catch((err: unknown) => ctx.out.warn(`warning: could not record ${what} (the next run does the full work): ${messageOf(err)}`));
}

/** Keeps this run's parses of the policy files for the next run that finds one changed (commands/parse-memo-file.ts). */
async function keepParses(ctx: Context, live: LivePrepared): Promise<void> {
  const memo = live.memo;
  if (memo) await spare(ctx, 'the policy parses', () => writeParseMemo(ctx.paths.stateDir, memo));
}

/**
 * Up to date, but our table had to be listed (the ruleset moved since our load, by someone else's tables): when
 * nothing moved during that listing, record the generation it showed, so the next check needs no listing.
 */
async function reseal(ctx: Context, live: Live): Promise<void> {
  const seal = live.state?.firewall.loaded;
  if (live.nftLive?.kind !== 'listed' || live.nftLive.generation === null || !seal || !live.state) return;
  const now = await rulesetGeneration(ctx.exec);
  if (!sameGeneration(now, live.nftLive.generation)) return;
  const state: StateFile = { ...live.state, firewall: { ...live.state.firewall, loaded: { ...seal, generation: now } } };
  await writeAtomic(statePaths(ctx.paths.stateDir).state, JSON.stringify(state) + '\n', { mode: 0o600, uid: 0, gid: 0 });
}

async function removeOtherBackend(ctx: Context, current: 'nftables' | 'iptables'): Promise<void> {
  try {
    if (current === 'nftables') {
      await removeChain(ctx.exec, 4);
      await removeChain(ctx.exec, 6);
    } else {
      await nftRemove(ctx.exec);
    }
  } catch (err) {
    ctx.out.warn(`warning: could not remove the previous backend's rules: ${messageOf(err)}`);
  }
}
