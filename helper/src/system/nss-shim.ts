// The NSS short-cut for the firewall tools: helper/native/nss-numeric.c, preloaded into nft and
// iptables-restore so that they take our numeric uids as numbers instead of looking each up in NSS first.
import { besideHelper } from './beside.js';

let found: string | null | undefined;

/** The shim beside the running helper bundle (system/beside.ts: root's alone), or null. */
export function nssShim(): string | null {
  if (found === undefined) found = besideHelper('nss-numeric.so');
  return found;
}

/** The environment for a firewall tool: `base` with the shim preloaded when there is one. */
export function withNssShim(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const shim = nssShim();
  if (shim === null) return base;
  return { ...base, LD_PRELOAD: [shim, base.LD_PRELOAD].filter(Boolean).join(' ') };
}
