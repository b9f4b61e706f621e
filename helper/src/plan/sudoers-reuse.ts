// Sudoers of a change, user by user: the file names every entitled uid once with her set of VMs, and building those
// sets from 100,000 grants took ~0.1 s of a one-change apply. A user whose grants did not change (view-reuse.ts
// knows who did) has the set the last file gives her; only the others' sets are built from their grants. The file
// is then laid out as renderSudoers lays it out, so the bytes are the same.
import { addTo, aliasFor, assert, isId, renderSudoers, setText, sudoersFile, type SudoersInput } from './sudoers.js';

/** The last plan's file (the very text it hashed), and what changed since (PlannedViews.changes, view-reuse.ts). */
export interface LastSudoers {
  text: string;
  /** Users whose grants may differ from the last plan's. */
  touched: ReadonlySet<number>;
  /** Every user with a grant now. */
  uids: readonly number[];
  /** Every VM with a grant now. */
  vms: readonly string[];
}

/** The sudoers file, built on `last` when it can be. */
export function sudoersText(input: SudoersInput, last: LastSudoers | null): string {
  return (last && reuse(input, last)) ?? renderSudoers(input);
}

function reuse(input: SudoersInput, last: LastSudoers): string | null {
  // A group entitled as a whole stands for members who then have no rule of their own: built whole, now or before
  // (setsOf takes no `%#gid` subject).
  if ((input.groups ?? []).length > 0) return null;
  const was = setsOf(last.text);
  if (was === null) return null;
  const aliasOf = new Map(last.vms.map((vm) => [vm, aliasFor(vm)]));
  const mine = new Map<number, Set<string>>();
  for (const g of input.grants) if (last.touched.has(g.uid)) addTo(mine, g.uid, g.vm);
  const subjects: { who: string; set: string }[] = [];
  for (const uid of [...last.uids].sort((a, b) => a - b)) {
    // As renderSudoers checks every grant's uid (a sudoers line is a privilege).
    assert(isId(uid), `grant ${uid}`);
    const vms = mine.get(uid);
    const set = vms ? setText(vms, aliasOf) : last.touched.has(uid) ? undefined : was.get(uid);
    if (set === undefined) return null;
    subjects.push({ who: `#${uid}`, set });
  }
  return sudoersFile(input, aliasOf, subjects);
}

const USER_RULE = /^#(\d+) ALL=\(root\) NOPASSWD: (CG_[A-Z0-9_]+(?:, CG_[A-Z0-9_]+)*)$/;
const USER_ALIAS = /^User_Alias (CG_U_\d+) = (#\d+(?:, #\d+)*)$/;
const ALIAS_RULE = /^(CG_U_\d+) ALL=\(root\) NOPASSWD: (CG_[A-Z0-9_]+(?:, CG_[A-Z0-9_]+)*)$/;

/** Each uid's set text in a file sudoersFile wrote; null when a line after the VMs' aliases is not one it writes. */
function setsOf(text: string): Map<number, string> | null {
  const lines = text.split('\n');
  let i = 3;
  while (i < lines.length && lines[i]!.startsWith('Cmnd_Alias ')) i++;
  const sets = new Map<number, string>();
  for (; i < lines.length - 1; i++) {
    const rule = USER_RULE.exec(lines[i]!);
    if (rule) {
      sets.set(Number(rule[1]), rule[2]!);
      continue;
    }
    const alias = USER_ALIAS.exec(lines[i]!);
    const aliasRule = alias ? ALIAS_RULE.exec(lines[i + 1] ?? '') : null;
    if (!alias || !aliasRule || aliasRule[1] !== alias[1]) return null;
    for (const who of alias[2]!.split(', ')) sets.set(Number(who.slice(1)), aliasRule[2]!);
    i++;
  }
  return lines.at(-1) === '' ? sets : null;
}
