// iptables fallback: our chain CONSOLEGATE (IPv4 and IPv6), jumped from OUTPUT; loaded with *-restore --noflush.
import { mustExec, type Exec } from '../system/exec.js';
import { withNssShim } from '../system/nss-shim.js';
import type { FirewallModel } from '../plan/firewall-model.js';
import { IPT_CHAIN, renderIptables } from '../plan/iptables.js';
import type { Step } from './step.js';

type Family = 4 | 6;
const tool = (f: Family, what: 'save' | 'restore' | '') => `${f === 4 ? 'iptables' : 'ip6tables'}${what ? `-${what}` : ''}`;
const JUMP = `-A OUTPUT -j ${IPT_CHAIN}`;

/** What we own in one family: whether the chain exists, its rules, and how many OUTPUT jumps point at it. */
export interface ChainState {
  exists: boolean;
  rules: string[];
  jumps: number;
}

/** Reads our chain from `iptables-save`; rules come back in the tool's canonical spelling. */
export async function readChain(run: Exec, f: Family): Promise<ChainState> {
  const r = await mustExec(run, [tool(f, 'save'), '-t', 'filter']);
  const lines = r.stdout.split('\n');
  return {
    exists: lines.some((l) => l.startsWith(`:${IPT_CHAIN} `)),
    rules: lines.filter((l) => l.startsWith(`-A ${IPT_CHAIN} `)),
    jumps: lines.filter((l) => l === JUMP).length,
  };
}

async function restore(run: Exec, f: Family, text: string): Promise<void> {
  await mustExec(run, [tool(f, 'restore'), '--wait', '--noflush'], { input: text, env: withNssShim(process.env) });
}

/** Loads the model into one family's chain in a single restore commit. */
export async function loadChain(run: Exec, f: Family, model: FirewallModel): Promise<void> {
  const { jumps } = await readChain(run, f);
  await restore(run, f, renderIptables(model, f, { addJump: jumps === 0 }));
}

/** Removes every OUTPUT jump to our chain, then the chain; other rules and chains are left alone. */
export async function removeChain(run: Exec, f: Family): Promise<void> {
  const state = await readChain(run, f);
  if (!state.exists) return;
  const lines = ['*filter', ...Array.from({ length: state.jumps }, () => `-D OUTPUT -j ${IPT_CHAIN}`), `-F ${IPT_CHAIN}`, `-X ${IPT_CHAIN}`, 'COMMIT', ''];
  await restore(run, f, lines.join('\n'));
}

/** Puts a snapshot back: the same rules in the same order, the jump present if it was. */
async function restoreChain(run: Exec, f: Family, s: ChainState, denyOnly: FirewallModel): Promise<void> {
  if (!s.exists) return loadChain(run, f, denyOnly); // never leave ports open: fail closed
  const { jumps, rules } = await readChain(run, f);
  // Untouched (its restore failed or never ran): leave it, so a broken tool cannot fail the rollback.
  if (jumps > 0 === s.jumps > 0 && rules.join('\n') === s.rules.join('\n')) return;
  const lines = ['*filter', `:${IPT_CHAIN} - [0:0]`, ...(jumps === 0 && s.jumps > 0 ? [`-I OUTPUT 1 -j ${IPT_CHAIN}`] : []), ...s.rules, 'COMMIT', ''];
  await restore(run, f, lines.join('\n'));
}

/** The firewall step for iptables: IPv4 then IPv6; rollback restores both. */
export function iptablesStep(run: Exec, model: FirewallModel, denyOnly: FirewallModel): Step<[ChainState, ChainState]> {
  return {
    name: 'firewall (iptables)',
    snapshot: async () => [await readChain(run, 4), await readChain(run, 6)],
    apply: async () => {
      await loadChain(run, 4, model);
      await loadChain(run, 6, model);
    },
    rollback: async ([v4, v6]) => {
      await restoreChain(run, 4, v4, denyOnly);
      await restoreChain(run, 6, v6, denyOnly);
    },
  };
}
