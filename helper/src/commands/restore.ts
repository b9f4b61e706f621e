// `restore`: load the rules saved by the last apply, without reading the policy (the early boot unit runs it).
import { readSaved, restoreSaved } from '../apply/saved.js';
import { statePaths } from '../paths.js';
import type { Context, Outcome } from './context.js';
import { requireRoot } from './context.js';

/** Enforcement at boot must not wait on the policy, NSS or DNS: this needs none of them. */
export async function restore(ctx: Context): Promise<Outcome> {
  requireRoot('restore');
  const saved = await readSaved(ctx.paths.stateDir);
  // Ports closed first, grants second: enforcement at boot must not wait for a large set to load.
  const r = await restoreSaved(ctx.exec, ctx.paths.stateDir, { closeFirst: true });
  const closed = r.result === 'restored' && r.closedMs !== null ? Math.round(r.closedMs) : null;
  if (ctx.json) {
    ctx.out.json({ restored: r.result === 'restored', backend: saved?.backend ?? null, reason: saved?.reason ?? null, savedAt: saved?.savedAt ?? null, closedMs: closed, ms: r.result === 'restored' ? Math.round(r.ms) : 0 });
  } else if (r.result === 'none') ctx.out.line(`nothing saved in ${statePaths(ctx.paths.stateDir).firewall}: apply loads the rules`);
  else ctx.out.line(`restored the ${saved!.backend} rules saved ${saved!.savedAt} (${saved!.reason}): ${closed === null ? '' : `protected ports closed after ${closed} ms, `}grants loaded after ${Math.round(r.ms)} ms`);
  return 'ok';
}
