// `remove`: take away everything consolegate owns and put the viewer back as it was.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTemps } from '../system/fs.js';
import { removeFirewall } from '../apply/firewall.js';
import { acquireLock } from '../apply/lock.js';
import { readState } from '../apply/state.js';
import { removeSudoers } from '../apply/sudoers.js';
import { restoreViewer } from '../apply/viewer.js';
import { statePaths } from '../paths.js';
import type { Context, Outcome } from './context.js';
import { requireRoot } from './context.js';

/** Works without a policy: what to restore is in state.json. Foreign rules and files are never touched. */
export async function remove(ctx: Context): Promise<Outcome> {
  requireRoot('remove');
  const sp = statePaths(ctx.paths.stateDir);
  const lock = await acquireLock(ctx.exec, sp.lock);
  try {
    const state = await readState(ctx.paths.stateDir).catch(() => null);
    await removeFirewall(ctx.exec);
    await removeSudoers(ctx.paths.sudoersFile);
    if (state?.viewer) await restoreViewer(ctx.exec, state.viewer);
    await rm(sp.views, { recursive: true, force: true });
    await removeStaleTemps(ctx.paths.stateDir, [path.basename(sp.views)]);
    await rm(sp.table, { force: true });
    await rm(sp.firewall, { force: true });
    await rm(sp.loaded, { force: true });
    await rm(sp.planCache, { force: true });
    await rm(sp.parseMemo, { force: true });
    await rm(sp.state, { force: true });
    const restored = state?.viewer ? `; ${state.viewer.path} restored to mode ${state.viewer.spec.mode.toString(8).padStart(4, '0')}` : '';
    if (ctx.json) ctx.out.json({ removed: true, viewerRestored: Boolean(state?.viewer) });
    else ctx.out.line(`removed consolegate's firewall rules, sudoers file and state${restored}`);
    return 'ok';
  } finally {
    await lock.release();
    await rm(sp.lock, { force: true });
  }
}
