// Users and groups through NSS (getent), so LDAP/SSSD accounts resolve like local ones.
import { checkDirectoryName, isNumericId, quoteName } from '../policy/names.js';
import type { Exec } from './exec.js';

/** A passwd entry: what we need of a user. `name` is NSS's own spelling, which may differ from the key asked. */
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

/** An answer NSS gave that we refuse to use, and why; the caller reports it. */
export interface Refused {
  key: string;
  /** Set when the group `key` was usable but listed this member, which was not. */
  member?: string;
  why: string;
}

// getent takes many keys at once; batching keeps 100k-entitlement policies to a handful of processes.
const BATCH = 2000;
// Each key is one NSS lookup, and with `files` each lookup scans /etc/passwd: 10,000 names against 10,000
// lines took 4.8 s. Above this many names one enumeration (a single pass) answers most of them.
const ENUMERATE_ABOVE = 100;

/** Whether `lookupUsers` answers this many distinct names from one enumeration (so a caller may start it early). */
export function enumerationAnswers(names: number): boolean {
  return names > ENUMERATE_ABOVE;
}

/**
 * Looks up users by name; the result is keyed by the name as asked (SSSD may answer `ALICE` or
 * `alice@corp.example.com` with another spelling). Unknown names are absent; answers that fail our checks are
 * absent too and listed in `refused`. For many names, or when the caller has enumerated already, enumeration
 * answers first (its first entry per name is the one getpwnam returns: both follow nsswitch.conf's order); only
 * names it lacks are asked for by key, since LDAP/SSSD may not enumerate.
 */
export async function lookupUsers(run: Exec, names: string[], enumerated?: UserEntry[], refused: Refused[] = []): Promise<Map<string, UserEntry>> {
  const out = new Map<string, UserEntry>();
  const unique = [...new Set(names)];
  if (enumerated || enumerationAnswers(unique.length)) {
    const wanted = new Set(unique);
    for (const u of enumerated ?? (await enumerateUsers(run))) if (wanted.has(u.name) && !out.has(u.name)) out.set(u.name, u);
  }
  for (const [key, line] of await getentByKey(run, 'passwd', unique.filter((n) => !out.has(n)))) {
    const u = parsePasswd(line);
    if (typeof u === 'string') refused.push({ key, why: u });
    else out.set(key, u);
  }
  return out;
}

/** Looks up groups by name, keyed by the name as asked; unknown names are absent, refused answers listed. */
export async function lookupGroups(run: Exec, names: string[], refused: Refused[] = []): Promise<Map<string, GroupEntry>> {
  const out = new Map<string, GroupEntry>();
  for (const [key, line] of await getentByKey(run, 'group', names)) {
    const g = parseGroup(line, (member, why) => refused.push({ key, member, why }));
    if (typeof g === 'string') refused.push({ key, why: g });
    else out.set(key, g);
  }
  return out;
}

/** Every user NSS can enumerate (LDAP may hide some); for "primary group" membership. Malformed lines are dropped. */
export async function enumerateUsers(run: Exec): Promise<UserEntry[]> {
  // Whatever it lists is right; what it misses (a source that cannot enumerate) callers look up by key.
  const r = await run(['getent', 'passwd']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(parsePasswd)
    .filter((u): u is UserEntry => typeof u !== 'string');
}

/** A passwd line → entry, or why it cannot be used. Exported for tests. */
export function parsePasswd(line: string): UserEntry | string {
  const f = line.split(':');
  if (f.length !== 7) return `a passwd line must have 7 fields, got ${f.length}`;
  const [name, , uid, gid] = f as [string, string, string, string];
  const bad = checkDirectoryName(name);
  if (bad !== null) return `its name ${quoteName(name)} ${bad}`;
  if (!isNumericId(uid) || !isNumericId(gid)) return `uid/gid ${quoteName(`${uid}/${gid}`)} are not plain numbers`;
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** A group line → entry (members failing the name check are dropped and reported), or why it cannot be used. */
export function parseGroup(line: string, onBadMember: (member: string, why: string) => void = () => {}): GroupEntry | string {
  const f = line.split(':');
  if (f.length !== 4) return `a group line must have 4 fields, got ${f.length}`;
  const [name, , gid, list] = f as [string, string, string, string];
  const bad = checkDirectoryName(name);
  if (bad !== null) return `its name ${quoteName(name)} ${bad}`;
  if (!isNumericId(gid)) return `gid ${quoteName(gid)} is not a plain number`;
  const members: string[] = [];
  for (const m of list.split(',').filter(Boolean)) {
    const why = checkDirectoryName(m);
    if (why === null) members.push(m);
    else onBadMember(m, why);
  }
  return { name, gid: Number(gid), members };
}

/**
 * Asks getent for many keys and ties each answer line to its key. getent prints one line per key found, in key
 * order, and nothing for a key it does not know; it never says which were missing. Lines whose name is a key
 * asked anchor the order; the keys between two anchors own the lines between them: none means unknown, as many
 * means one each, anything else is asked again in halves. So a batch costs one process unless NSS answered in
 * another spelling (SSSD's `alice` for `alice@corp.example.com`) beside unknown names. Lines are matched only when
 * every one is well-formed, so a name holding a line break (two half-lines) cannot shift answers onto other
 * keys; a single key answered by anything but one line is left out.
 */
async function getentByKey(run: Exec, db: 'passwd' | 'group', keys: string[]): Promise<Map<string, string>> {
  const fields = db === 'passwd' ? 7 : 4;
  const wellFormed = (line: string) => line.split(':').length === fields;
  const out = new Map<string, string>();
  const ask = async (part: string[]): Promise<void> => {
    if (part.length === 0) return;
    const lines = await getent(run, db, part);
    if (lines.length === 0) return;
    if (part.length === 1) {
      if (lines.length === 1) out.set(part[0]!, lines[0]!);
      return;
    }
    const gaps = lines.every(wellFormed) ? alignByName(part, lines) : null;
    if (gaps === null) return halves(part);
    for (const g of gaps) {
      if (g.lines.length === g.keys.length) g.keys.forEach((k, i) => out.set(k, g.lines[i]!));
      else if (g.lines.length > 0) await (g.keys.length === part.length ? halves(g.keys) : ask(g.keys));
    }
  };
  const halves = async (part: string[]): Promise<void> => {
    const mid = Math.ceil(part.length / 2);
    await ask(part.slice(0, mid));
    await ask(part.slice(mid));
  };
  for (const batch of chunks([...new Set(keys)], BATCH)) await ask(batch);
  return out;
}

/**
 * Splits one getent answer into runs: each line named exactly like its key is a run of its own, and the keys
 * and lines between two such anchors form a run together. Null when the anchors do not account for the lines
 * (more lines than keys somewhere), so the caller asks again.
 */
function alignByName(keys: string[], lines: string[]): { keys: string[]; lines: string[] }[] | null {
  const names = lines.map((l) => l.slice(0, l.indexOf(':')));
  const runs: { keys: string[]; lines: string[] }[] = [];
  let pendingKeys: string[] = [];
  let j = 0;
  for (const k of keys) {
    const m = names.indexOf(k, j);
    if (m === -1) {
      pendingKeys.push(k);
      continue;
    }
    runs.push({ keys: pendingKeys, lines: lines.slice(j, m) }, { keys: [k], lines: [lines[m]!] });
    pendingKeys = [];
    j = m + 1;
  }
  runs.push({ keys: pendingKeys, lines: lines.slice(j) });
  return runs.some((r) => r.lines.length > r.keys.length) ? null : runs.filter((r) => r.keys.length > 0);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function getent(run: Exec, db: 'passwd' | 'group', keys: string[]): Promise<string[]> {
  // `--`: a key is never read as an option. Exit 2 means "some key not found", which is an answer.
  const r = await run(['getent', '--', db, ...keys]);
  if (r.code !== 0 && r.code !== 2) throw new Error(`getent ${db} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Names for uids (for audit output); unknown uids, and names we would not show, are absent. */
export async function lookupUsersByUid(run: Exec, uids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const [key, line] of await getentByKey(run, 'passwd', [...new Set(uids)].map(String))) {
    const u = parsePasswd(line);
    if (typeof u !== 'string' && String(u.uid) === key) out.set(u.uid, u.name);
  }
  return out;
}
