// Facts about this machine that the plan needs: uids, group members, addresses, CA files, the clock.
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { messageOf } from '../errors.js';
import type { Exec } from '../system/exec.js';
import { enumerateUsers, enumerationAnswers, lookupGroups, lookupUsers, type GroupEntry, type Refused, type UserEntry } from '../system/nss.js';
import type { Policy } from './types.js';

/** Everything plan/ needs from the outside world, gathered once so planning stays pure. */
export interface Facts {
  viewerGid: number | null;
  /** By the name as the policy (or a group's member list) spells it; `name` inside is NSS's spelling. */
  users: Map<string, UserEntry>;
  /** Group name as the policy spells it → member user names (listed members and users whose primary group it is). */
  groups: Map<string, string[]>;
  /** Entitled group name as the policy spells it → its gid, for `%#gid` in sudoers; absent: members by uid only. */
  groupGids?: Map<string, number>;
  /** Answers NSS gave that we would not use (a name with a control character, a non-numeric uid), by key. */
  refused?: Refused[];
  /** Server id → its addresses; absent when the host did not resolve. */
  addresses: Map<string, string[]>;
  /** Server id → CA PEM text; absent when unreadable. */
  ca: Map<string, string>;
  /** Why a server is unusable right now (host or CA), by server id. */
  serverProblems: Map<string, string>;
  /** Local time minus UTC, in minutes, now. */
  utcOffsetMinutes: number;
  now: Date;
}

/** NSS answers asked before the policy is read, from what the last plan asked (askEarly). */
export interface EarlyAnswers {
  /** The groups asked for, as gatherFacts asks them: entitled groups sorted, then the viewer group. */
  groups: string[];
  groupEntries: Promise<{ entries: Map<string, GroupEntry>; refused: Refused[] }>;
  /** The user enumeration, when the last plan needed one (it does not depend on the policy). */
  enumeration: Promise<UserEntry[]> | null;
}

/**
 * Starts the lookups the last plan needed (the plan cache's questions), so that a run that must parse the policy
 * again finds them answered by then. They are asked in this run, as they would be after the parse: gatherFacts
 * takes the group answers only for the very same groups, and the enumeration whenever it enumerates.
 */
export function askEarly(exec: Exec, q: { groups: string[]; viewerGroup: string; users: string[] }): EarlyAnswers {
  const groups = groupsAsked(q.groups, q.viewerGroup);
  const refused: Refused[] = [];
  const groupEntries = lookupGroups(exec, groups, refused).then((entries) => ({ entries, refused }));
  const enumeration = enumerates(q.groups.length, q.users.length) ? enumerateUsers(exec) : null;
  // Not awaited when the policy now asks something else; awaited (and thrown) where used.
  groupEntries.catch(() => undefined);
  enumeration?.catch(() => undefined);
  return { groups, groupEntries, enumeration };
}

/**
 * Only the user enumeration, started before a policy is parsed when no last plan says what it asks (a first apply)
 * but the policy is large enough to enumerate anyway (commands/context.ts). It asks no group: gatherFacts never
 * takes group answers from it.
 */
export function enumerateEarly(exec: Exec): EarlyAnswers {
  const enumeration = enumerateUsers(exec);
  enumeration.catch(() => undefined); // awaited (and thrown) where used
  return { groups: [], groupEntries: Promise.resolve({ entries: new Map(), refused: [] }), enumeration };
}

/**
 * The groups gatherFacts looks up, in the order it asks them: the entitled ones sorted (so the same groups are asked
 * the same way whatever the policy's order), then the viewer group.
 */
function groupsAsked(entitled: Iterable<string>, viewerGroup: string): string[] {
  return [...[...entitled].sort(), viewerGroup];
}

/** Whether gatherFacts enumerates the users: for entitled groups (their primary-group members), or many names. */
function enumerates(entitledGroups: number, userNames: number): boolean {
  return entitledGroups > 0 || enumerationAnswers(userNames);
}

/** Injected side effects for gathering facts. */
export interface FactSources {
  exec: Exec;
  /** Lookups started before the policy was parsed (askEarly). */
  early?: EarlyAnswers | null;
  resolveHost?: (host: string) => Promise<string[]>;
  readCa?: (path: string) => Promise<string>;
  now?: () => Date;
}

const DNS_TIMEOUT_MS = 5000;

/** Resolves every name in the policy; unknown users/groups and unresolvable hosts are absent, not errors. */
export async function gatherFacts(policy: Policy, src: FactSources): Promise<Facts> {
  const userNames = new Set<string>();
  const entitledGroups = new Set<string>();
  for (const e of policy.entitlements) {
    e.users.forEach((u) => userNames.add(u.name));
    e.groups.forEach((g) => entitledGroups.add(g.name));
  }
  // Two getent processes at once rather than one after the other: the enumeration that entitled groups (their
  // primary-group members) or many names need runs beside the group lookup; it is used only where it was before.
  const early = src.early ?? null;
  const enumeration = enumerates(entitledGroups.size, userNames.size) ? (early?.enumeration ?? enumerateUsers(src.exec)) : null;
  enumeration?.catch(() => undefined); // not awaited when no entitled group exists; awaited (and thrown) otherwise
  const refused: Refused[] = [];
  const asked = groupsAsked(entitledGroups, policy.viewer.group);
  const known = early !== null && early.groups.length === asked.length && early.groups.every((g, i) => g === asked[i]) ? await early.groupEntries : null;
  if (known) refused.push(...known.refused);
  const groupEntries = known?.entries ?? (await lookupGroups(src.exec, asked, refused));
  const groups = new Map<string, string[]>();
  const groupGids = new Map<string, number>();
  let all: UserEntry[] | undefined;
  if ([...entitledGroups].some((g) => groupEntries.has(g))) {
    // Primary-group members are not listed in the group entry; only enumeration finds them.
    all = await (enumeration ?? enumerateUsers(src.exec));
    for (const g of entitledGroups) {
      const entry = groupEntries.get(g);
      if (!entry) continue;
      const members = new Set(entry.members);
      for (const u of all) if (u.gid === entry.gid) members.add(u.name);
      groups.set(g, [...members].sort());
      groupGids.set(g, entry.gid);
      members.forEach((m) => userNames.add(m));
    }
  }
  const users = await lookupUsers(src.exec, [...userNames], all ?? (enumeration && enumerationAnswers(userNames.size) ? await enumeration : undefined), refused);

  const resolveHost = src.resolveHost ?? defaultResolve;
  const readCa = src.readCa ?? ((p: string) => readFile(p, 'utf8'));
  const addresses = new Map<string, string[]>();
  const ca = new Map<string, string>();
  const serverProblems = new Map<string, string>();
  await Promise.all(
    [...policy.servers.values()].map(async (s) => {
      try {
        addresses.set(s.id, net.isIP(s.host) ? [s.host] : await resolveHost(s.host));
      } catch (err) {
        serverProblems.set(s.id, `host \`${s.host}\` does not resolve (${messageOf(err)})`);
      }
      try {
        const pem = await readCa(s.ca);
        if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new Error('no PEM certificate in it');
        ca.set(s.id, pem);
      } catch (err) {
        const prev = serverProblems.get(s.id);
        const why = `CA \`${s.ca}\` is unusable (${messageOf(err)})`;
        serverProblems.set(s.id, prev ? `${prev}; ${why}` : why);
      }
    }),
  );

  const now = (src.now ?? (() => new Date()))();
  return {
    viewerGid: groupEntries.get(policy.viewer.group)?.gid ?? null,
    users,
    groups,
    groupGids,
    refused,
    addresses,
    ca,
    serverProblems,
    utcOffsetMinutes: -now.getTimezoneOffset(),
    now,
  };
}

async function defaultResolve(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DNS_TIMEOUT_MS / 1000} s`)), DNS_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    const addrs = [...new Set(found.map((a) => a.address))].sort();
    if (addrs.length === 0) throw new Error('no addresses');
    return addrs;
  } finally {
    clearTimeout(timer);
  }
}
