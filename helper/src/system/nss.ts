// Users and groups through NSS (getent), so LDAP/SSSD accounts resolve like local ones.
import type { Exec } from './exec.js';

/** A passwd entry: what we need of a user. */
export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

/** A group entry with its listed members (not the users whose primary group it is). */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// getent takes many keys at once; batching keeps 100k-entitlement policies to a handful of processes.
const BATCH = 2000;
// Each key is one NSS lookup, and with `files` each lookup scans /etc/passwd: 10,000 names against 10,000
// lines took 4.8 s. Above this many names one enumeration (a single pass) answers most of them.
const ENUMERATE_ABOVE = 100;

/**
 * Looks up users by name; unknown names are simply absent from the result. For many names, or when the caller
 * has enumerated already, enumeration answers first (its first entry per name is the one getpwnam returns:
 * both follow nsswitch.conf's order); only names it lacks are asked for by key, since LDAP/SSSD may not enumerate.
 */
export async function lookupUsers(run: Exec, names: string[], enumerated?: UserEntry[]): Promise<Map<string, UserEntry>> {
  const out = new Map<string, UserEntry>();
  const unique = [...new Set(names)];
  if (enumerated || unique.length > ENUMERATE_ABOVE) {
    const wanted = new Set(unique);
    for (const u of enumerated ?? (await enumerateUsers(run))) if (wanted.has(u.name) && !out.has(u.name)) out.set(u.name, u);
  }
  for (const line of await getent(run, 'passwd', unique.filter((n) => !out.has(n)))) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid && gid) out.set(name, { name, uid: Number(uid), gid: Number(gid) });
  }
  return out;
}

/** Looks up groups by name; unknown names are absent. */
export async function lookupGroups(run: Exec, names: string[]): Promise<Map<string, GroupEntry>> {
  const out = new Map<string, GroupEntry>();
  for (const line of await getent(run, 'group', names)) {
    const [name, , gid, members] = line.split(':');
    if (name && gid) out.set(name, { name, gid: Number(gid), members: members ? members.split(',').filter(Boolean) : [] });
  }
  return out;
}

/** Every user NSS can enumerate (LDAP may hide some); for "primary group" membership. */
export async function enumerateUsers(run: Exec): Promise<UserEntry[]> {
  // Whatever it lists is right; what it misses (a source that cannot enumerate) callers look up by key.
  const r = await run(['getent', 'passwd']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 4)
    .map(([name, , uid, gid]) => ({ name: name as string, uid: Number(uid), gid: Number(gid) }));
}

async function getent(run: Exec, db: string, keys: string[]): Promise<string[]> {
  const lines: string[] = [];
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += BATCH) {
    // Exit 2 means "some key not found", which is an answer, not a failure.
    const r = await run(['getent', db, ...unique.slice(i, i + BATCH)]);
    if (r.code !== 0 && r.code !== 2) throw new Error(`getent ${db} exited ${r.code}: ${r.stderr.trim()}`);
    lines.push(...r.stdout.split('\n').filter(Boolean));
  }
  return lines;
}

/** Names for uids (for audit output); unknown uids are absent. */
export async function lookupUsersByUid(run: Exec, uids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const line of await getent(run, 'passwd', uids.map(String))) {
    const [name, , uid] = line.split(':');
    if (name && uid) out.set(Number(uid), name);
  }
  return out;
}
