// What a failed apply leaves in the kernel: at most what both the rules in force and the new policy allow, so
// revocations take effect at once and new grants wait for a good apply. Runs after the transaction rolled back.
import { isDeepStrictEqual } from 'node:util';
import { chooseBackend } from '../apply/firewall.js';
import { loadModel, readSaved, writeSaved } from '../apply/saved.js';
import { ConsolegateError, messageOf } from '../errors.js';
import { intersectModels } from '../plan/fail-closed.js';
import type { FirewallModel } from '../plan/firewall-model.js';
import { planFirewall, type Plan } from '../plan/plan.js';
import { gatherFacts, type Facts } from '../policy/facts.js';
import { loadPolicyLenient } from '../policy/load.js';
import type { Context } from './context.js';

/**
 * Loads the intersection of the saved rules in force and the new policy (`plan` when it was rendered, else the
 * policy as far as it can be read), records it in firewall.json as `fail-closed`, and adds what happened to the
 * error's message. Never throws: a failure here is reported and the original error stays the one raised.
 */
export async function failClosed(ctx: Context, plan: Plan | null, err: unknown): Promise<void> {
  const note = (text: string) => {
    if (err instanceof ConsolegateError) err.message += `; ${text}`;
    else ctx.out.warn(`consolegate-helper: ${text}`);
  };
  try {
    const saved = await readSaved(ctx.paths.stateDir);
    const wanted = plan?.firewall ?? (await readableModel(ctx));
    const target = intersectModels(saved?.model ?? null, wanted);
    if (target === null) {
      note('fail closed: no rules were in force and the new policy could not be read, so no protected port is known');
      return;
    }
    // Where rules of ours are live, replace them there; a first apply uses the backend this machine offers.
    const backend = saved?.backend ?? plan?.backend ?? (await chooseBackend(ctx.exec, 'auto'));
    await loadModel(ctx.exec, backend, target);
    const unchanged = saved !== null && isDeepStrictEqual(target, saved.model);
    if (!unchanged) {
      // A full disk may refuse this too; the kernel has the rules already, only boot and `watch` would miss them.
      await writeSaved(ctx.paths.stateDir, { backend, reason: 'fail-closed', error: messageOf(err), model: target }).catch((e: unknown) => {
        ctx.out.warn(`warning: the fail-closed rules are loaded but could not be saved for boot and watch: ${messageOf(e)}`);
      });
    }
    note(
      saved === null
        ? 'fail closed: protected ports are closed to everyone until apply succeeds'
        : unchanged
          ? 'the rules in force are kept (the new policy revokes none of them; its new grants wait for a good apply)'
          : 'fail closed: only what both the rules in force and the new policy allow stays open (revocations took effect; new grants wait for a good apply)',
    );
  } catch (closeErr) {
    note(`could not load the fail-closed rules: ${messageOf(closeErr)}`);
  }
}

/** The new policy's firewall as far as the policy and this machine can be read; null when nothing is readable. */
async function readableModel(ctx: Context): Promise<FirewallModel | null> {
  try {
    const policy = await loadPolicyLenient(ctx.paths.policy, ctx.paths.policyDir);
    const facts: Facts = await gatherFacts(policy, { exec: ctx.exec, ...(ctx.now ? { now: ctx.now } : {}) });
    return planFirewall(policy, facts);
  } catch {
    return null;
  }
}
