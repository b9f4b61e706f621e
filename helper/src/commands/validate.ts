// `validate`: parse and check the policy, resolve users/groups/hosts, report what would be skipped.
import type { Context, Outcome } from './context.js';
import { prepare } from './context.js';

/**
 * Succeeds when the policy is valid; skipped entitlements are warnings (errors with --strict). Pure: no root, no
 * firewall tools (config management validates fragments on machines and as users that have neither).
 */
export async function validate(ctx: Context): Promise<Outcome> {
  const { policy, plan } = await prepare(ctx, { machineBackend: false });
  if (ctx.json) {
    ctx.out.json({ valid: true, files: policy.files, backend: policy.firewall.backend, grants: plan.grants.length, skipped: plan.skipped });
    return 'ok';
  }
  for (const s of plan.skipped) ctx.out.warn(`${s.where}: warning: ${s.message}`);
  ctx.out.line(`policy is valid: ${policy.files.length} file(s), ${policy.vms.size} VM(s), ${plan.grants.length} grant(s) in force, ${plan.skipped.length} skipped; backend ${policy.firewall.backend}`);
  return 'ok';
}
