// `restore`: load the rules saved by the last apply, without reading the policy (the early boot unit runs it).
import { readSaved, restoreSaved } from '../apply/saved.js';
import { statePaths } from '../paths.js';
import type { Context, Outcome } from './context.js';
import { requireRoot } from './context.js';

/** Enforcement at boot must not wait on the policy, NSS or DNS: this needs none of them. */
export async function restore(ctx: Context): Promise<Outcome> {
  requireRoot('restore');
  const started = Date.now();
  const saved = await readSaved(ctx.paths.stateDir);
  const result = await restoreSaved(ctx.exec, ctx.paths.stateDir);
  const ms = Date.now() - started;
  if (ctx.json) ctx.out.json({ restored: result === 'restored', backend: saved?.backend ?? null, reason: saved?.reason ?? null, savedAt: saved?.savedAt ?? null, ms });
  else if (result === 'none') ctx.out.line(`nothing saved in ${statePaths(ctx.paths.stateDir).firewall}: apply loads the rules`);
  else ctx.out.line(`restored the ${saved!.backend} rules saved ${saved!.savedAt} (${saved!.reason}), ${ms} ms`);
  return 'ok';
}
