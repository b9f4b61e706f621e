// iptables fallback: our chains CONSOLEGATE (from OUTPUT) and CONSOLEGATE-FWD (from FORWARD), IPv4 and IPv6,
// each jumped to first; loaded with *-restore --noflush.
import { mustExec, type Exec } from '../system/exec.js';
import { withNssShim } from '../system/nss-shim.js';
import type { FirewallModel } from '../plan/firewall-model.js';
import { IPT_CHAIN, IPT_FWD_CHAIN, IPT_HOOKS, renderIptables } from '../plan/iptables.js';
import type { Step } from './step.js';

type Family = 4 | 6;
type Hook = (typeof IPT_HOOKS)[number]['hook'];
const tool = (f: Family, what: 'save' | 'restore' | '') => `${f === 4 ? 'iptables' : 'ip6tables'}${what ? `-${what}` : ''}`;

/** Our jumps in one built-in chain: how many, and whether the chain's first rule is one of them. */
export interface JumpState {
  jumps: number;
  first: boolean;
}

/** What we own in one family: whether the chains exist, their rules, and the jumps to them. */
export interface ChainState {
  /** CONSOLEGATE exists (the chain that decides who connects). */
  exists: boolean;
  /** CONSOLEGATE-FWD exists. */
  forwardExists: boolean;
  /** Both chains' rules, in the tool's canonical spelling. */
  rules: string[];
  /** OUTPUT jumps to CONSOLEGATE (kept as a number for callers that only ask "is it hooked"). */
  jumps: number;
  hooks: Record<Hook, JumpState>;
}

/** Whether both chains exist and each is jumped to exactly once, as the first rule of its built-in chain. */
export function jumpsFirst(s: ChainState): boolean {
  return s.exists && s.forwardExists && IPT_HOOKS.every(({ hook }) => s.hooks[hook].first && s.hooks[hook].jumps === 1);
}

/** Reads our chains from `iptables-save`; rules come back in the tool's canonical spelling. */
export async function readChain(run: Exec, f: Family): Promise<ChainState> {
  const r = await mustExec(run, [tool(f, 'save'), '-t', 'filter']);
  const lines = r.stdout.split('\n');
  const hook = (h: Hook, chain: string): JumpState => {
    const rules = lines.filter((l) => l.startsWith(`-A ${h} `));
    const jump = `-A ${h} -j ${chain}`;
    return { jumps: rules.filter((l) => l === jump).length, first: rules[0] === jump };
  };
  const hooks = { OUTPUT: hook('OUTPUT', IPT_CHAIN), FORWARD: hook('FORWARD', IPT_FWD_CHAIN) };
  return {
    exists: lines.some((l) => l.startsWith(`:${IPT_CHAIN} `)),
    forwardExists: lines.some((l) => l.startsWith(`:${IPT_FWD_CHAIN} `)),
    rules: lines.filter((l) => l.startsWith(`-A ${IPT_CHAIN} `) || l.startsWith(`-A ${IPT_FWD_CHAIN} `)),
    jumps: hooks.OUTPUT.jumps,
    hooks,
  };
}

async function restore(run: Exec, f: Family, text: string): Promise<void> {
  await mustExec(run, [tool(f, 'restore'), '--wait', '--noflush'], { input: text, env: withNssShim(process.env) });
}

/** The jump lines that put ours first in one commit: stale ones deleted, one inserted at the top of each. */
function jumpLines(s: ChainState): string[] {
  if (jumpsFirst(s)) return [];
  return IPT_HOOKS.flatMap(({ hook, chain }) => [...Array.from({ length: s.hooks[hook].jumps }, () => `-D ${hook} -j ${chain}`), `-I ${hook} 1 -j ${chain}`]);
}

/** Loads the model into one family's chains in a single restore commit, our jumps first in OUTPUT and FORWARD. */
export async function loadChain(run: Exec, f: Family, model: FirewallModel): Promise<void> {
  const s = await readChain(run, f);
  const ok = jumpsFirst(s);
  await restore(run, f, renderIptables(model, f, ok ? { addJump: false } : { addJump: true, staleJumps: { OUTPUT: s.hooks.OUTPUT.jumps, FORWARD: s.hooks.FORWARD.jumps } }));
}

/** Removes every jump to our chains, then the chains; other rules and chains are left alone. */
export async function removeChain(run: Exec, f: Family): Promise<void> {
  const s = await readChain(run, f);
  if (!s.exists && !s.forwardExists) return;
  const lines = ['*filter'];
  for (const { hook, chain } of IPT_HOOKS) lines.push(...Array.from({ length: s.hooks[hook].jumps }, () => `-D ${hook} -j ${chain}`));
  if (s.exists) lines.push(`-F ${IPT_CHAIN}`, `-X ${IPT_CHAIN}`);
  if (s.forwardExists) lines.push(`-F ${IPT_FWD_CHAIN}`, `-X ${IPT_FWD_CHAIN}`);
  await restore(run, f, [...lines, 'COMMIT', ''].join('\n'));
}

/**
 * Puts a snapshot back: the same rules in the same order, our jumps first. A snapshot from before the forward
 * chain existed keeps the forward chain as it is now (refusing routed connections is never more open).
 */
async function restoreChain(run: Exec, f: Family, s: ChainState, denyOnly: FirewallModel): Promise<void> {
  if (!s.exists) return loadChain(run, f, denyOnly); // never leave ports open: fail closed
  const now = await readChain(run, f);
  // Untouched (its restore failed or never ran): leave it, so a broken tool cannot fail the rollback.
  if (jumpsFirst(now) === jumpsFirst(s) && now.rules.join('\n') === s.rules.join('\n')) return;
  const keepForward = !s.forwardExists;
  const rules = keepForward ? [...s.rules, ...now.rules.filter((l) => l.startsWith(`-A ${IPT_FWD_CHAIN} `))] : s.rules;
  const lines = ['*filter', `:${IPT_CHAIN} - [0:0]`, `:${IPT_FWD_CHAIN} - [0:0]`, ...jumpLines(now), ...rules, 'COMMIT', ''];
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
