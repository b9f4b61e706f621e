// `status`: is the live system what the policy says? Lists drift and entitlements not in force.
import { readSavedHead } from '../apply/saved.js';
import { ConsolegateError } from '../errors.js';
import { inspect } from './inspect.js';
import type { Context, Outcome } from './context.js';
import { prepareLive } from './context.js';

/** 'drift' when anything differs. */
export async function status(ctx: Context): Promise<Outcome> {
  const { digest: plan, prepared, state, nftLive } = await prepareLive(ctx).catch(async (err: unknown) => {
    // The policy that failed to apply may fail here too: still say what the firewall is doing meanwhile.
    const saved = await readSavedHead(ctx.paths.stateDir);
    if (saved?.reason === 'fail-closed' && err instanceof ConsolegateError) err.message += `; the firewall has been fail-closed since ${saved.savedAt}`;
    throw err;
  });
  const drift = await inspect(ctx.exec, plan, ctx.paths, { state, nftLive });
  // After a failed apply the firewall is the fail-closed intersection: say so first, with why.
  const saved = await readSavedHead(ctx.paths.stateDir);
  if (saved?.reason === 'fail-closed') {
    drift.unshift({ system: 'firewall', message: `fail closed since ${saved.savedAt}: the last apply failed (${saved.error ?? 'unknown error'}); only what both the previous rules and the policy allow is open until apply succeeds` });
  }
  if (ctx.json) {
    ctx.out.json({ inSync: drift.length === 0, backend: plan.backend, grants: plan.grants, failClosed: saved?.reason === 'fail-closed', drift, skipped: plan.skipped, plan: prepared ? 'rendered' : 'cached' });
  } else {
    ctx.out.line(drift.length === 0 ? `in sync (backend ${plan.backend}, ${plan.grants} grant(s))` : 'drift:');
    for (const d of drift) ctx.out.line(`  ${d.system}: ${d.message}`);
    if (plan.skipped.length > 0) ctx.out.line('not in force on this machine:');
    for (const s of plan.skipped) ctx.out.line(`  ${s.where}: ${s.message}`);
  }
  return drift.length === 0 ? 'ok' : 'drift';
}
