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
  // 100,000 grants: every (address, port) pair becomes a numbered endpoint once, so de-duplicating and ordering
  // the tuples compares numbers, not a string built per tuple.
  const endpoints = new Endpoints();
  const byWindow = new Map<string, { slots: UtcSlot[] | null; byUid: Map<number, Set<number>> }>();
  const slotsOf = new Map<string, UtcSlot[] | null>();
  for (const g of opts.grants) {
    const wkey = windowKey(g.window);
    let slots = slotsOf.get(wkey);
    if (slots === undefined) slotsOf.set(wkey, (slots = g.window ? toUtcSlots(g.window, opts.utcOffsetMinutes) : null));
    // A window that covers the whole week has no slots: it belongs with the grants that are always on.
    const key = slots === null ? 'always' : wkey;
    let entry = byWindow.get(key);
    if (!entry) byWindow.set(key, (entry = { slots, byUid: new Map() }));
    let mine = entry.byUid.get(g.uid);
    if (!mine) entry.byUid.set(g.uid, (mine = new Set()));
    for (const id of endpoints.of(g.addresses, g.ports)) mine.add(id);
  }
  const rank = endpoints.ranks();
  const keys = [...byWindow.keys()].sort((a, b) => (a === 'always' ? -1 : b === 'always' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  let n = 0;
  const groups: TupleGroup[] = keys.map((key) => {
    const { slots, byUid } = byWindow.get(key)!;
    const v4: Tuple[] = [];
    const v6: Tuple[] = [];
    // compareTuples' order: uid, then address, then port (the endpoint's rank).
    for (const uid of [...byUid.keys()].sort((a, b) => a - b)) {
      for (const id of [...byUid.get(uid)!].sort((a, b) => rank[a]! - rank[b]!)) {
        const e = endpoints.list[id]!;
        if (e.family === 4) v4.push({ uid, addr: e.addr, port: e.port });
        else if (e.family === 6) v6.push({ uid, addr: e.addr, port: e.port });
      }
    }
    return { name: slots === null ? 'allow' : `window${++n}`, slots, v4, v6 };
  });
  return { viewerGid: opts.viewerGid, groups, ports: opts.ports, log: opts.log };
}

/** Numbered (address, port) pairs; grants of one entitlement share their address and port arrays, so are cached by them. */
class Endpoints {
  readonly list: { addr: string; port: number; family: 0 | 4 | 6 }[] = [];
  private readonly ids = new Map<string, number>();
  private readonly byArrays = new Map<string[], Map<number[], number[]>>();

  /** The ids of every (address, port) pair of these arrays. */
  of(addresses: string[], ports: number[]): number[] {
    let byPorts = this.byArrays.get(addresses);
    if (!byPorts) this.byArrays.set(addresses, (byPorts = new Map()));
    let ids = byPorts.get(ports);
    if (!ids) {
      ids = [];
      for (const addr of addresses) {
        for (const port of ports) {
          const key = `${addr} ${port}`;
          let id = this.ids.get(key);
          if (id === undefined) {
            this.ids.set(key, (id = this.list.length));
            this.list.push({ addr, port, family: net.isIPv4(addr) ? 4 : net.isIPv6(addr) ? 6 : 0 });
          }
          ids.push(id);
        }
      }
      byPorts.set(ports, ids);
    }
    return ids;
  }

  /** Each id's position in (address, port) order. */
  ranks(): number[] {
    const order = this.list.map((_, i) => i).sort((a, b) => compareTuples({ uid: 0, ...this.list[a]! }, { uid: 0, ...this.list[b]! }));
    const rank: number[] = new Array<number>(this.list.length);
    order.forEach((id, i) => (rank[id] = i));
    return rank;
  }
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

/**
 * `text(addr, port)` made once per endpoint and looked up for every other tuple to it: the renderers write 100,000
 * lines that differ only in the uid, and building their endpoint part each time was most of their cost.
 */
export function perEndpoint(text: (addr: string, port: number) => string): (t: Tuple) => string {
  const byAddr = new Map<string, Map<number, string>>();
  return (t) => {
    let byPort = byAddr.get(t.addr);
    if (!byPort) byAddr.set(t.addr, (byPort = new Map()));
    let s = byPort.get(t.port);
    if (s === undefined) byPort.set(t.port, (s = text(t.addr, t.port)));
    return s;
  };
}
