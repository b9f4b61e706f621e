// /etc/sudoers.d/consolegate: one Cmnd_Alias per VM; one rule per distinct set of VMs, its subjects by number only.
//
// Only numbers, VM ids, validated paths and names we generate ever reach this file: user and group names come from
// the directory (`alice@corp.example.com`, `Domain Users`, `host$`) and sudoers would read `@`, `\`, `$` and spaces
// as syntax. sudo parses the whole file on every click, and its cost follows the number of list members it reads
// (every `#uid`, every alias reference), so the file names each entitled uid once and each VM's alias once per set:
// - a group entitled as a whole is one `%#gid` instead of its members' uids;
// - users (and groups) entitled to the identical set of VMs share one `User_Alias` and one rule;
// - a subject alone in her set keeps the plain `#uid ALL=(root) NOPASSWD: …` line.
// sudo is the outer gate only: open-console admits a caller only if the root-only table lists her uid for the VM.
import type { Facts } from '../policy/facts.js';
import { ID_RE, PATH_RE } from '../policy/names.js';
import type { Policy } from '../policy/types.js';
import type { Grant } from './grants.js';

/** Variables the viewer needs to reach the user's display; sudo resets everything else. */
export const ENV_KEEP = ['DISPLAY', 'XAUTHORITY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR'] as const;

/** A group entitled to a VM as a whole: sudo sees `%#gid`; `covers` are the member uids it stands for here. */
export interface GroupGrant {
  gid: number;
  vm: string;
  /** Members whose grant for `vm` comes only through this (or another) group: they get no `#uid` for `vm`. */
  covers: number[];
}

/** The argv after `sudo -n` that opens `vm`; also what the VM's Cmnd_Alias allows, word for word. */
export function consoleCommand(openConsole: string, stateDirArg: string | null, vm: string): string[] {
  return [openConsole, ...(stateDirArg === null ? [] : ['--state-dir', stateDirArg]), vm];
}

/**
 * The VM's alias: `CG_` + the id upper-cased, `_` written `__` and `-` written `_H`, so two ids never share
 * one (alias names allow only `[A-Z0-9_]`).
 */
export function aliasFor(vm: string): string {
  assert(ID_RE.test(vm), `VM id ${JSON.stringify(vm)}`);
  return `CG_${vm.replaceAll('_', '__').replaceAll('-', '_H').toUpperCase()}`;
}

/**
 * The n-th set's User_Alias: `CG_U_<n>`. A VM alias never has a single `_` before a digit (aliasFor writes `_` as
 * `__` and `-` as `_H`), so the two kinds can never be confused by a reader (sudo keeps them apart anyway).
 */
export function userAliasFor(n: number): string {
  assert(Number.isSafeInteger(n) && n > 0, `alias number ${n}`);
  return `CG_U_${n}`;
}

/**
 * Which grants sudo can see through a group: one per (entitled group, VM) whose gid is known and not 0 and which
 * gives at least one member a grant here. A member also named by her user name for that VM is not covered:
 * her `#uid` stays, so her access does not wait for a new login session (sudo checks `%#gid` against the
 * caller's process groups).
 */
export function groupGrants(policy: Policy, facts: Facts, grants: Grant[]): GroupGrant[] {
  if (!facts.groupGids || facts.groupGids.size === 0) return [];
  // By VM, then uid: 100,000 grants without a string key each.
  const granted = new Map<string, Set<number>>();
  for (const g of grants) addTo(granted, g.vm, g.uid);
  const named = new Map<string, Set<number>>();
  for (const e of policy.entitlements) {
    for (const u of e.users) {
      const uid = facts.users.get(u.name)?.uid;
      if (uid !== undefined) addTo(named, e.vm, uid);
    }
  }
  const byKey = new Map<string, GroupGrant>();
  const uidsOf = new Map<string, number[]>();
  for (const e of policy.entitlements) {
    for (const g of e.groups) {
      const gid = facts.groupGids.get(g.name);
      if (gid === undefined || gid <= 0) continue; // members stay listed by uid
      let members = uidsOf.get(g.name);
      if (members === undefined) {
        members = (facts.groups.get(g.name) ?? []).flatMap((m) => facts.users.get(m)?.uid ?? []);
        uidsOf.set(g.name, members);
      }
      const [has, own] = [granted.get(e.vm), named.get(e.vm)];
      const covers = members.filter((uid) => has?.has(uid) && !own?.has(uid));
      if (covers.length === 0) continue;
      const key = `${gid}/${e.vm}`;
      const prev = byKey.get(key);
      byKey.set(key, { gid, vm: e.vm, covers: [...new Set([...(prev?.covers ?? []), ...covers])].sort((a, b) => a - b) });
    }
  }
  return [...byKey.values()];
}

/** What the file is rendered from. */
export interface SudoersInput {
  grants: readonly Grant[];
  groups?: GroupGrant[];
  openConsole: string;
  stateDirArg: string | null;
  sources: string[];
}

/** Renders the file. Every word was validated on load; this re-checks, because a sudoers line is a privilege. */
export function renderSudoers(opts: SudoersInput): string {
  assert(PATH_RE.test(opts.openConsole), `open-console path ${JSON.stringify(opts.openConsole)}`);
  assert(opts.stateDirArg === null || PATH_RE.test(opts.stateDirArg), `state dir ${JSON.stringify(opts.stateDirArg)}`);
  // 100,000 grants name a few hundred VMs: each id is checked and given its alias once, not once per grant.
  const aliasOf = new Map<string, string>();
  const vmChecked = (vm: string): string => {
    let alias = aliasOf.get(vm);
    if (alias === undefined) aliasOf.set(vm, (alias = aliasFor(vm)));
    return vm;
  };
  const covered = new Map<string, Set<number>>();
  const byGid = new Map<number, Set<string>>();
  for (const g of opts.groups ?? []) {
    if (!isId(g.gid)) assert(false, `group grant ${JSON.stringify([g.gid, g.vm])}`);
    addTo(byGid, g.gid, vmChecked(g.vm));
    for (const uid of g.covers) addTo(covered, g.vm, uid);
  }
  const byUid = new Map<number, Set<string>>();
  for (const g of opts.grants) {
    if (!isId(g.uid)) assert(false, `grant ${JSON.stringify([g.uid, g.vm])}`);
    vmChecked(g.vm);
    if (!covered.get(g.vm)?.has(g.uid)) addTo(byUid, g.uid, g.vm);
  }
  // Subjects in a fixed order (users by uid, then groups by gid): the same grants always give the same bytes, which
  // is how apply knows the file is up to date.
  const subjects = [
    ...[...byUid].sort(([a], [b]) => a - b).map(([uid, mine]) => ({ who: `#${uid}`, mine })),
    ...[...byGid].sort(([a], [b]) => a - b).map(([gid, mine]) => ({ who: `%#${gid}`, mine })),
  ];
  return sudoersFile(opts, aliasOf, subjects.map((s) => ({ who: s.who, set: setText(s.mine, aliasOf) })));
}

/** The VMs of a subject as its rule lists them: their aliases, by VM id. */
export function setText(vms: Iterable<string>, aliasOf: ReadonlyMap<string, string>): string {
  return [...vms].sort().map((vm) => aliasOf.get(vm)!).join(', ');
}

/**
 * The file from its VMs' aliases and its subjects in order, each with its set's text: one rule per distinct set, in
 * the order of its first subject (sudoers-reuse.ts builds the same file from the last one's rules).
 */
export function sudoersFile(opts: { openConsole: string; stateDirArg: string | null; sources: string[] }, aliasOf: ReadonlyMap<string, string>, subjects: readonly { who: string; set: string }[]): string {
  const aliases = [...aliasOf.keys()].sort().map((vm) => `Cmnd_Alias ${aliasOf.get(vm)!} = ${consoleCommand(opts.openConsole, opts.stateDirArg, vm).join(' ')}`);
  const bySet = new Map<string, string[]>();
  for (const s of subjects) {
    const who = bySet.get(s.set);
    if (who) who.push(s.who);
    else bySet.set(s.set, [s.who]);
  }
  // `(root)`: open-console starts as root, reads the root-only table and drops to the caller itself (SUDO_UID).
  const rules: string[] = [];
  let n = 0;
  for (const [set, who] of bySet) {
    if (who.length === 1) {
      rules.push(`${who[0]} ALL=(root) NOPASSWD: ${set}`);
      continue;
    }
    const alias = userAliasFor(++n);
    rules.push(`User_Alias ${alias} = ${who.join(', ')}`, `${alias} ALL=(root) NOPASSWD: ${set}`);
  }
  return [
    '# Generated by consolegate-helper from the consolegate policy; changes are overwritten.',
    `# Sources: ${opts.sources.join(' ').replace(/[^\x20-\x7e]/g, '?')}`,
    `Defaults!${opts.openConsole} env_keep += "${ENV_KEEP.join(' ')}"`,
    ...aliases,
    ...rules,
    '',
  ].join('\n');
}

// uid/gid 0 never appears: root needs no rule, and `%#0` would let every member of group root past the outer gate.
export function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

/** Adds `value` to the set at `key`, starting one when there is none. */
export function addTo<K, V>(m: Map<K, Set<V>>, key: K, value: V): void {
  const s = m.get(key);
  if (s) s.add(value);
  else m.set(key, new Set([value]));
}

/** Throws unless `ok`: a word that would reach the sudoers file is unsafe. */
export function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(`refusing to write an unsafe sudoers word: ${what}`);
}
