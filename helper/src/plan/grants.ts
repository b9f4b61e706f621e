// Policy + facts → the concrete grants (uid, addresses, port, window), and what had to be skipped and why.
import { formatPos } from '../errors.js';
import type { Facts } from '../policy/facts.js';
import type { UserEntry } from '../system/nss.js';
import { quoteName } from '../policy/names.js';
import type { Policy, TimeWindow } from '../policy/types.js';

/** One user allowed to reach one VM's console ports, maybe only within a window. */
export interface Grant {
  user: string;
  uid: number;
  vm: string;
  addresses: string[];
  ports: number[];
  window: TimeWindow | null;
}

/** An entitlement (or part of one) that is not in force on this machine right now. */
export interface Skipped {
  where: string;
  message: string;
}

/** Expands entitlements into grants; unknown users/groups and unusable servers become `skipped`. */
export function expandGrants(policy: Policy, facts: Facts): { grants: Grant[]; skipped: Skipped[] } {
  const grants: Grant[] = [];
  const skipped: Skipped[] = [];
  // VM and window → the uids granted it already: the same person named twice (user and group) is one grant.
  const seen = new Map<string, Set<number>>();
  const reportedServers = new Set<string>();
  // A group's members that are users here, with their entries: worked out once, not once per entitlement naming it.
  const groupMembers = new Map<string, { names: string[]; entries: UserEntry[] } | null>();
  const membersOf = (group: string): { names: string[]; entries: UserEntry[] } | null => {
    let found = groupMembers.get(group);
    if (found === undefined) {
      const members = facts.groups.get(group);
      found = members ? { names: [], entries: [] } : null;
      for (const m of members ?? []) {
        const user = facts.users.get(m);
        if (user) {
          found!.names.push(m);
          found!.entries.push(user);
        }
      }
      groupMembers.set(group, found);
    }
    return found;
  };
  for (const e of policy.entitlements) {
    const vm = policy.vms.get(e.vm);
    if (!vm) continue; // merge already rejected it
    const problem = facts.serverProblems.get(vm.server);
    const addresses = facts.addresses.get(vm.server);
    if (problem || !addresses) {
      const key = `${vm.server}/${vm.id}`;
      if (!reportedServers.has(key)) {
        reportedServers.add(key);
        skipped.push({ where: formatPos(e.pos), message: `VM \`${vm.id}\`: server \`${vm.server}\`: ${problem ?? 'no addresses'}; its entitlements stay denied` });
      }
      continue;
    }
    // Who this entitlement names, with their passwd entries (looked up once), in the order they are named.
    const names: string[] = [];
    const entries: UserEntry[] = [];
    for (const u of e.users) {
      const user = facts.users.get(u.name);
      if (user) {
        names.push(u.name);
        entries.push(user);
      } else skipped.push({ where: formatPos(u.pos), message: `user \`${u.name}\` ${refusedWhy(facts, u.name) ?? 'does not exist on this machine'}; skipped` });
    }
    for (const g of e.groups) {
      const members = membersOf(g.name);
      if (!members) skipped.push({ where: formatPos(g.pos), message: `group \`${g.name}\` ${refusedWhy(facts, g.name) ?? 'does not exist on this machine'}; skipped` });
      else {
        for (let i = 0; i < members.names.length; i++) {
          names.push(members.names[i]!);
          entries.push(members.entries[i]!);
        }
      }
      for (const r of facts.refused ?? []) {
        if (r.key === g.name && r.member !== undefined) skipped.push({ where: formatPos(g.pos), message: `group \`${g.name}\`: member ${quoteName(r.member)} skipped (${r.why})` });
      }
    }
    const ports = vm.port === null ? [vm.tlsPort] : [vm.tlsPort, vm.port];
    const seenKey = `${vm.id}/${windowKey(e.when)}`;
    let granted = seen.get(seenKey);
    if (!granted) seen.set(seenKey, (granted = new Set()));
    for (let i = 0; i < names.length; i++) {
      const [name, user] = [names[i]!, entries[i]!];
      // Root needs no entitlement and sudoers never names it; a directory group holding a uid-0 account (or a
      // local group with root in it) must not make the whole plan unrenderable.
      if (user.uid === 0) {
        const message = `VM \`${vm.id}\`: \`${name}\` resolves to uid 0 (root), which is never entitled; skipped`;
        if (!skipped.some((x) => x.message === message)) skipped.push({ where: formatPos(e.pos), message });
        continue;
      }
      if (granted.has(user.uid)) continue;
      granted.add(user.uid);
      grants.push({ user: name, uid: user.uid, vm: vm.id, addresses, ports, window: e.when });
    }
  }
  return { grants, skipped };
}

// NSS answered, but with something we will not use (see system/nss.ts); the key was validated on load.
function refusedWhy(facts: Facts, key: string): string | null {
  const r = facts.refused?.find((x) => x.key === key && x.member === undefined);
  return r ? `was refused (NSS answered: ${r.why})` : null;
}

/** A stable key for a window, for grouping and de-duplication. */
export function windowKey(w: TimeWindow | null): string {
  return w === null ? 'always' : `${w.days ? w.days.join(',') : '*'}@${w.start}-${w.end}`;
}
