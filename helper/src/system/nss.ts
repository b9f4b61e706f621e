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

/** Looks up users by name; unknown names are simply absent from the result. */
export async function lookupUsers(run: Exec, names: string[]): Promise<Map<string, UserEntry>> {
  const out = new Map<string, UserEntry>();
  for (const line of await getent(run, 'passwd', names)) {
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
