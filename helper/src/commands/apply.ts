// `apply`: make the system match the policy in one transaction; on failure roll back and fail closed.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { firewallStep, liveFingerprint, otherBackendRules, renderedFingerprint } from '../apply/firewall.js';
import { removeChain } from '../apply/iptables.js';
import { nftRemove } from '../apply/nft.js';
import { acquireLock } from '../apply/lock.js';
import { readSaved, savedStep, writeSaved } from '../apply/saved.js';
import { readState, stateStep, type StateFile } from '../apply/state.js';
import { step, type Step } from '../apply/step.js';
import { checkVisudo, prepareSudoers, sudoersStep } from '../apply/sudoers.js';
import { runTransaction } from '../apply/transaction.js';
import { dpkgOwns, ensureGroup, viewerStep, type ViewerOriginal } from '../apply/viewer.js';
import { ConsolegateError, messageOf } from '../errors.js';
import { statePaths } from '../paths.js';
import { nssShim } from '../system/nss-shim.js';
import type { Plan } from '../plan/plan.js';
import { inspect } from './inspect.js';
import { failClosed } from './fail-closed.js';
import type { Context, Outcome } from './context.js';
import { prepare, prepareListed, requireRoot } from './context.js';

/**
 * Applies; on failure everything is rolled back, the firewall fails closed (commands/fail-closed.ts) and
 * APPLY_FAILED (or the policy's own error) is raised. Failing closed covers every stage, from reading the policy on.
 */
export async function apply(ctx: Context): Promise<Outcome> {
  requireRoot('apply');
  const started = Date.now();
  await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o755 });
  const lock = await acquireLock(ctx.exec, statePaths(ctx.paths.stateDir).lock);
  let plan: Plan | null = null;
  try {
    // Our nft table is listed under the lock, while the policy is parsed and rendered.
    let prepared = await prepareListed(ctx);
    // Rules name the group's gid, so it must exist first; creating it is harmless and not rolled back.
    if (prepared.facts.viewerGid === null) {
      await ensureGroup(ctx.exec, prepared.policy.viewer.group);
      prepared = { ...(await prepare(ctx)), nftListing: prepared.nftListing };
    }
    plan = prepared.plan;
    return await applyPlan(ctx, plan, started, prepared.nftListing);
  } catch (err) {
    await failClosed(ctx, plan, err);
    throw err;
  } finally {
    await lock.release();
  }
}

/** Runs the transaction for a rendered plan; the caller holds the lock and has listed our nft table. */
async function applyPlan(ctx: Context, plan: Plan, started: number, nftListing: string | null | undefined): Promise<Outcome> {
  const gid = plan.viewer.gid;
  if (gid === null) throw new ConsolegateError('APPLY_FAILED', `viewer group \`${plan.viewer.group}\` could not be created`);
  for (const s of plan.skipped) ctx.out.warn(`${s.where}: warning: ${s.message}`);

  const previous = await readState(ctx.paths.stateDir);
  await chmod(ctx.paths.stateDir, 0o755);
  // The timer re-applies every few minutes: when nothing differs, touch nothing (no reload of large sets).
  if ((await inspect(ctx.exec, plan, ctx.paths, nftListing)).length === 0) {
    // Up to date, but saved by a version that did not save its rules (boot and watch need them).
    const saved = await readSaved(ctx.paths.stateDir);
    const savedCurrent = saved !== null && saved.reason === 'applied' && saved.backend === plan.backend && isDeepStrictEqual(saved.model, plan.firewall);
    if (!savedCurrent) await writeSaved(ctx.paths.stateDir, { backend: plan.backend, reason: 'applied', model: plan.firewall });
    if (ctx.json) ctx.out.json({ applied: false, upToDate: true, backend: plan.backend, grants: plan.grants.length, users: plan.views.size, skipped: plan.skipped, ms: Date.now() - started });
    else ctx.out.line(`up to date: backend ${plan.backend}, ${plan.grants.length} grant(s) for ${plan.views.size} user(s), ${plan.skipped.length} skipped`);
    return 'ok';
  }
  await checkVisudo(ctx.exec).catch((err: unknown) => {
    throw new ConsolegateError('APPLY_FAILED', `sudoers: visudo is not usable (package sudo): ${messageOf(err)}`, { cause: err });
  });
  // Everything is rendered and the sudoers candidate checked before the first change to the system.
  const checkedSudoers = await prepareSudoers(ctx.exec, ctx.paths.sudoersFile, plan.sudoers).catch((err: unknown) => {
    throw new ConsolegateError('APPLY_FAILED', `sudoers: ${messageOf(err)}; nothing was changed`, { cause: err });
  });

  // The listing is used for the up-to-date check above and as the firewall step's snapshot. The one after
  // loading (recorded in state.json) runs while the other steps write their files.
  const firewall = firewallStep(ctx.exec, plan, nftListing);
  let loaded: Promise<string | null> | null = null;
  if (nssShim() === null && plan.grants.length > 0) {
    ctx.out.warn('warning: nss-numeric.so is not beside the helper (or not root-owned): the firewall tools look every uid up in NSS first, which is slow with many entitlements, and an account named like a uid would take its place');
  }
  const steps: Step[] = [
    {
      ...firewall,
      apply: async () => {
        await firewall.apply();
        loaded = liveFingerprint(ctx.exec, plan.backend);
        loaded.catch(() => undefined); // awaited by the state step
      },
    },
  ];
  const viewerOpts = { path: plan.viewer.path, group: plan.viewer.group, gid, mode: plan.viewer.mode, statoverride: await dpkgOwns(ctx.exec, plan.viewer.path) };
  const viewer = viewerStep(ctx.exec, viewerOpts);
  const viewerNow = await viewer.snapshot();
  if (viewerNow === null) ctx.out.warn(`warning: viewer ${plan.viewer.path} does not exist; consoles cannot open until virt-viewer is installed and apply runs again`);
  else steps.push(step(viewer));
  steps.push(step(sudoersStep(ctx.paths.sudoersFile, checkedSudoers)));
  // Saved before state.json: both are written only when every system changed; rollback restores the old rules' file.
  steps.push(step(savedStep(ctx.paths.stateDir, plan.backend, plan.firewall)));
  steps.push(
    step(
      stateStep({
        stateDir: ctx.paths.stateDir,
        table: plan.table,
        exec: ctx.exec,
        views: plan.views,
        state: async (): Promise<StateFile> => ({
          version: 1,
          backend: plan.backend,
          appliedAt: new Date().toISOString(),
          firewall: { rendered: renderedFingerprint(plan), live: (await (loaded ?? liveFingerprint(ctx.exec, plan.backend))) ?? '' },
          viewer: originalViewer(previous?.viewer ?? null, viewerNow, viewerOpts),
        }),
      }),
    ),
  );
  await runTransaction(steps, { info: (m) => ctx.out.line(m), warn: (m) => ctx.out.warn(m) }).catch(async (err: unknown) => {
    // Only the sudoers step renames the checked candidate into place; if an earlier step failed it is still
    // there (sudo skips dot files, but every failed apply would leave one more in /etc/sudoers.d).
    await rm(checkedSudoers, { force: true });
    throw err;
  });

  // Not only when state.json names the other backend: a switch killed after state.json was written leaves them too.
  if ((await otherBackendRules(ctx.exec, plan.backend)) !== null) await removeOtherBackend(ctx, plan.backend);
  const ms = Date.now() - started;
  if (ctx.json) ctx.out.json({ applied: true, backend: plan.backend, grants: plan.grants.length, users: plan.views.size, skipped: plan.skipped, ms });
  else ctx.out.line(`applied: backend ${plan.backend}, ${plan.grants.length} grant(s) for ${plan.views.size} user(s), ${plan.skipped.length} skipped, ${ms} ms`);
  return 'ok';
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
