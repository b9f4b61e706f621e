// `restore`: load the rules saved by the last apply, without reading the policy (the early boot unit runs it).
import { restoreSaved } from '../apply/saved.js';
import { statePaths } from '../paths.js';
import type { Context, Outcome } from './context.js';
import { requireRoot } from './context.js';

/** Enforcement at boot must not wait on the policy, NSS or DNS: this needs none of them. */
export async function restore(ctx: Context): Promise<Outcome> {
  requireRoot('restore');
  // Ports closed first, grants second: enforcement at boot must not wait for a large set to load.
  const r = await restoreSaved(ctx.exec, ctx.paths.stateDir, { closeFirst: true });
  if (r.result === 'none') {
    if (ctx.json) ctx.out.json({ restored: false, backend: null, reason: null, savedAt: null, closedMs: null, ms: 0 });
    else ctx.out.line(`nothing saved in ${statePaths(ctx.paths.stateDir).firewall}: apply loads the rules`);
    return 'ok';
  }
  const { saved } = r;
  const closed = r.closedMs === null ? null : Math.round(r.closedMs);
  if (ctx.json) ctx.out.json({ restored: true, backend: saved.backend, reason: saved.reason, savedAt: saved.savedAt, closedMs: closed, ms: Math.round(r.ms) });
  else ctx.out.line(`restored the ${saved.backend} rules saved ${saved.savedAt} (${saved.reason}): ${closed === null ? '' : `protected ports closed after ${closed} ms, `}grants loaded after ${Math.round(r.ms)} ms`);
  return 'ok';
}
