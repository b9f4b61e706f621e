// `status`: is the live system what the policy says? Lists drift and entitlements not in force.
import { nftListingStarted } from '../apply/nft.js';
import { inspect } from './inspect.js';
import type { Context, Outcome } from './context.js';
import { prepare } from './context.js';

/** 'drift' when anything differs. */
export async function status(ctx: Context): Promise<Outcome> {
  const listing = nftListingStarted(ctx.exec); // while the policy is parsed
  const { plan } = await prepare(ctx);
  const drift = await inspect(ctx.exec, plan, ctx.paths, plan.backend === 'nftables' ? await listing : undefined);
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
