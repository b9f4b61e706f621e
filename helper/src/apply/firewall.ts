// Backend choice and the backend-neutral face of the firewall: step, fingerprints, removal.
import { ConsolegateError } from '../errors.js';
import type { FirewallModel } from '../plan/firewall-model.js';
import { renderNft } from '../plan/nft.js';
import { sha256 } from '../plan/digest.js';
import type { Backend, Plan } from '../plan/plan.js';
import { hasCommand, type Exec } from '../system/exec.js';
import { iptablesStep, jumpsFirst, readChain, removeChain } from './iptables.js';
import { nftListTerse, nftRemove, nftStep, type NftLive, type NftSeal } from './nft.js';
import type { Step } from './step.js';

/**
 * Whether `nft` is installed and the kernel answers it (it may lack nf_tables). Asked with a terse listing of the
 * ruleset: `nft list tables` fetches every set element first (seconds with 100,000 of ours), `-t list ruleset` does not.
 */
export async function nftUsable(run: Exec): Promise<boolean> {
  return (await hasCommand('nft')) && (await run(['nft', '-t', 'list', 'ruleset'])).code === 0;
}

/** Picks the backend: the policy's choice, or for `auto` nftables when `nft` works here, else iptables. */
export async function chooseBackend(run: Exec, wanted: 'auto' | Backend): Promise<Backend> {
  const iptWorks = async () => (await hasCommand('iptables-restore')) && (await hasCommand('ip6tables-restore'));
  if (wanted === 'nftables' || (wanted === 'auto' && (await nftUsable(run)))) {
    if (wanted === 'nftables' && !(await hasCommand('nft'))) throw unavailable('nftables', '`nft` is not installed (package nftables)');
    return 'nftables';
  }
  if (await iptWorks()) return 'iptables';
  throw unavailable(wanted, wanted === 'auto' ? 'neither `nft` nor `iptables-restore`/`ip6tables-restore` work here (packages nftables, iptables)' : '`iptables-restore`/`ip6tables-restore` are not installed (package iptables)');
}

function unavailable(backend: string, why: string): ConsolegateError {
  return new ConsolegateError('BACKEND_UNAVAILABLE', `firewall backend ${backend}: ${why}`);
}

/** The same model with every grant dropped: protected ports closed for everyone. What failure leaves behind. */
export function denyOnly(model: FirewallModel): FirewallModel {
  return { ...model, groups: [] };
}

/**
 * The transaction step for the plan's backend, and after it ran what it loaded (nftables; null for iptables).
 * `nftLive`: the table as apply found it under the lock, so the step does not list 100,000 elements again.
 */
export function firewallStep(run: Exec, plan: Plan, nftLive?: NftLive): { step: Step; sealed: () => Promise<NftSeal> | null } {
  const closed = denyOnly(plan.firewall);
  if (plan.backend === 'iptables') return { step: iptablesStep(run, plan.firewall, closed) as Step, sealed: () => null };
  const s = nftStep(run, plan.nft ?? renderNft(plan.firewall), renderNft(closed), nftLive);
  return { step: s as Step, sealed: () => s.sealed() };
}

/** Fingerprint of our iptables chains and jumps as they are now, or null when ours are missing. */
export async function iptablesFingerprint(run: Exec): Promise<string | null> {
  const [v4, v6] = [await readChain(run, 4), await readChain(run, 6)];
  if (!v4.exists || !v6.exists || v4.jumps === 0 || v6.jumps === 0) return null;
  // Where the jumps stand is part of what is live: a foreign rule ahead of ours decides first (drift).
  return sha256(JSON.stringify([v4.rules, v6.rules, jumpsFirst(v4), jumpsFirst(v6)]));
}

/**
 * Our rules in the backend the plan does not use, named, or null. A backend switch removes them only after its
 * transaction, so a crash or a failed removal leaves them loaded, and they still decide who connects (issue 6).
 */
export async function otherBackendRules(run: Exec, current: Backend): Promise<string | null> {
  if (current === 'iptables') {
    return (await nftUsable(run)) && (await nftListTerse(run)) !== null ? 'nft table inet consolegate' : null;
  }
  for (const f of [4, 6] as const) {
    if ((await hasCommand(f === 4 ? 'iptables-save' : 'ip6tables-save')) && (await readChain(run, f).then((c) => c.exists || c.forwardExists))) return 'iptables chain CONSOLEGATE';
  }
  return null;
}

/** Removes our table/chains from every backend present; foreign rules stay as they are. */
export async function removeFirewall(run: Exec): Promise<void> {
  if (await nftUsable(run)) await nftRemove(run);
  if (await hasCommand('iptables-save')) await removeChain(run, 4);
  if (await hasCommand('ip6tables-save')) await removeChain(run, 6);
}
