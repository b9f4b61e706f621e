// `plan`: what apply would change, without changing anything.
import { inspect } from './inspect.js';
import type { Context, Outcome } from './context.js';
import { prepareLive } from './context.js';

/** Lists pending changes; 'changes-pending' when there are any. */
export async function plan(ctx: Context): Promise<Outcome> {
  const { digest: p, state, nftLive } = await prepareLive(ctx);
  const changes = await inspect(ctx.exec, p, ctx.paths, { state, nftLive });
  if (ctx.json) {
    ctx.out.json({ backend: p.backend, grants: p.grants, changes, skipped: p.skipped });
  } else {
    for (const s of p.skipped) ctx.out.warn(`${s.where}: warning: ${s.message}`);
    if (changes.length === 0) ctx.out.line('nothing to do: the system matches the policy');
    else {
      ctx.out.line(`apply would change (backend ${p.backend}, ${p.grants} grant(s)):`);
      for (const c of changes) ctx.out.line(`  ${c.system}: ${c.message}`);
    }
  }
  return changes.length === 0 ? 'ok' : 'changes-pending';
}
