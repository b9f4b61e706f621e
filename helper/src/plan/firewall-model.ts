// The firewall as data, shared by both renderers: tuple groups per time window, and the protected ports.
import net from 'node:net';
import type { PortRange } from '../policy/types.js';
import { windowKey, type Grant } from './grants.js';
import { toUtcSlots, type UtcSlot } from './utc.js';

/** One allowed (uid, address, port) tuple. */
export interface Tuple {
  uid: number;
  addr: string;
  port: number;
}

/** Tuples that share a time restriction; `slots` null means always. */
export interface TupleGroup {
  name: string;
  slots: UtcSlot[] | null;
  v4: Tuple[];
  v6: Tuple[];
}

/** What both backends render. */
export interface FirewallModel {
  viewerGid: number | string;
  groups: TupleGroup[];
  ports: PortRange[];
  log: boolean;
}

/** Builds the backend-neutral model from grants; ordering is stable so rendered text is reproducible. */
export function firewallModel(opts: { grants: Grant[]; ports: PortRange[]; viewerGid: number | string; log: boolean; utcOffsetMinutes: number }): FirewallModel {
  const byWindow = new Map<string, { slots: UtcSlot[] | null; tuples: Map<string, Tuple> }>();
  for (const g of opts.grants) {
    const slots = g.window ? toUtcSlots(g.window, opts.utcOffsetMinutes) : null;
    // A window that covers the whole week has no slots: it belongs with the grants that are always on.
    const key = slots === null ? 'always' : windowKey(g.window);
    const entry = byWindow.get(key) ?? { slots, tuples: new Map() };
    for (const addr of g.addresses) for (const port of g.ports) entry.tuples.set(`${g.uid} ${addr} ${port}`, { uid: g.uid, addr, port });
    byWindow.set(key, entry);
  }
  const keys = [...byWindow.keys()].sort((a, b) => (a === 'always' ? -1 : b === 'always' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  let n = 0;
  const groups: TupleGroup[] = keys.map((key) => {
    const { slots, tuples } = byWindow.get(key)!;
    const list = [...tuples.values()].sort(compareTuples);
    return {
      name: slots === null ? 'allow' : `window${++n}`,
      slots,
      v4: list.filter((t) => net.isIPv4(t.addr)),
      v6: list.filter((t) => net.isIPv6(t.addr)),
    };
  });
  return { viewerGid: opts.viewerGid, groups, ports: opts.ports, log: opts.log };
}

/** The order tuples are rendered in: uid, then address, then port. */
export function compareTuples(a: Tuple, b: Tuple): number {
  return a.uid - b.uid || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0) || a.port - b.port;
}

/** Day names as the kernel's time matches spell them, Monday first. */
export const NFT_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export const XT_DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** Log rate limit: enough to see who tried, not enough to flood the journal. */
export const LOG_RATE = { perSecond: 10, burst: 20 } as const;
