// `status`: is the live system what the policy says? Lists drift and entitlements not in force.
import { inspect } from './inspect.js';
import type { Context, Outcome } from './context.js';
import { prepareListed } from './context.js';

/** 'drift' when anything differs. */
export async function status(ctx: Context): Promise<Outcome> {
  const { plan, nftListing } = await prepareListed(ctx);
  const drift = await inspect(ctx.exec, plan, ctx.paths, nftListing);
  if (ctx.json) {
    ctx.out.json({ inSync: drift.length === 0, backend: plan.backend, grants: plan.grants.length, drift, skipped: plan.skipped });
  } else {
    ctx.out.line(drift.length === 0 ? `in sync (backend ${plan.backend}, ${plan.grants.length} grant(s))` : 'drift:');
    for (const d of drift) ctx.out.line(`  ${d.system}: ${d.message}`);
    if (plan.skipped.length > 0) ctx.out.line('not in force on this machine:');
    for (const s of plan.skipped) ctx.out.line(`  ${s.where}: ${s.message}`);
  }
  return drift.length === 0 ? 'ok' : 'drift';
}
