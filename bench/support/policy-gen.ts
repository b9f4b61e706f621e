// Policies of a given size for the benchmarks: N entitlements = N (user, VM) pairs = N sudoers lines = N set elements.
import { BENCH_GROUP, FIRST_UID, userName } from './world.js';

/** How the entitlements are written down. */
export type Shape =
  /** One entitlement per VM listing its users: how config management would generate a big policy. */
  | 'per-vm'
  /**
   * per-vm, but no two users entitled to the same set of VMs (per-vm's users come in 100 sets of 100 alike): no
   * uid classes, so the firewall holds every (uid, VM) pair as its own element. Use `distinctVmsOf`.
   */
  | 'distinct'
  /** One entitlement item per (user, VM) pair: the most YAML for the same grants (worst case for the parser). */
  | 'per-pair'
  /**
   * Every VM entitled through one group (BENCH_GROUP) holding every user: a tiny YAML whose cost is NSS group
   * expansion and rendering. Use `groupSizesFor`, and a World created with `groupMembers: s.users`.
   */
  | 'group';

/** The numbers behind a generated policy. */
export interface Sizes {
  entitlements: number;
  users: number;
  vms: number;
  /** VMs per user. */
  perUser: number;
}

/**
 * Users and VMs for `n` entitlements: every user is entitled to 10 VMs (fewer when n < 10), and there are
 * n/100 VMs (at least 10), so 100,000 entitlements are 10,000 users and 1,000 VMs with 100 users each.
 */
export function sizesFor(n: number): Sizes {
  const perUser = Math.min(10, n);
  const users = Math.ceil(n / perUser);
  const vms = Math.max(perUser, Math.ceil(n / 100));
  if (vms > 1000) throw new Error(`${n} entitlements would need more than 1,000 VMs (ports 20000-20999)`);
  return { entitlements: users * perUser, users, vms, perUser };
}

/**
 * Users and VMs for `n` entitlements through one group: 500 users (fewer when n < 500), each entitled to every
 * VM, so 100,000 entitlements are 500 users × 200 VMs.
 */
export function groupSizesFor(n: number): Sizes {
  const users = Math.min(500, n);
  const vms = Math.ceil(n / users);
  if (vms > 1000) throw new Error(`${n} entitlements through 500 users would need more than 1,000 VMs (ports 20000-20999)`);
  return { entitlements: users * vms, users, vms, perUser: vms };
}

/** The VMs user `u` is entitled to: spread evenly so every VM gets the same number of users. */
export function vmsOf(u: number, s: Sizes): number[] {
  const stride = Math.max(1, Math.floor(s.vms / s.perUser));
  return Array.from({ length: s.perUser }, (_, j) => (u + j * stride) % s.vms);
}

/**
 * User `u`'s VMs in the distinct shape: VM u mod vms, then steps of a stride that differs between the users who
 * share that first VM, so no two users have the same set (checked by `distinctSets`).
 */
export function distinctVmsOf(u: number, s: Sizes): number[] {
  const stride = Math.floor(s.vms / s.perUser) + 1 + Math.floor(u / s.vms);
  return Array.from({ length: s.perUser }, (_, j) => (u + j * stride) % s.vms);
}

/** Throws unless every user of the distinct shape has a set of VMs of their own. */
export function distinctSets(s: Sizes): void {
  const seen = new Set<string>();
  for (let u = 0; u < s.users; u++) {
    const key = distinctVmsOf(u, s)
      .sort((a, b) => a - b)
      .join(',');
    if (seen.has(key)) throw new Error(`distinct shape: user ${u} has the same VMs as another (${key})`);
    seen.add(key);
  }
}

/** Generated account `u`'s uid (see World). */
export function uidOf(u: number): number {
  return FIRST_UID + u;
}

/** The policy body (servers, vms, entitlements) for `Sandbox.policy()`; VM v listens on 127.0.0.1:20000+v. */
export function policyBody(s: Sizes, shape: Shape): string {
  const out = ['servers:', '  bench: { host: 127.0.0.1, ca: $CA, host-subject: "CN=bench" }', 'vms:'];
  for (let v = 0; v < s.vms; v++) out.push(`  vm${v}: { server: bench, tls-port: ${20000 + v} }`);
  out.push('entitlements:');
  if (shape === 'group') {
    if (s.perUser !== s.vms) throw new Error('the group shape entitles every user to every VM: use groupSizesFor');
    for (let v = 0; v < s.vms; v++) out.push(`  - { vm: vm${v}, groups: [${BENCH_GROUP}] }`);
  } else if (shape === 'per-pair') {
    for (let u = 0; u < s.users; u++) for (const v of vmsOf(u, s)) out.push(`  - { vm: vm${v}, users: [${userName(u)}] }`);
  } else {
    const of = shape === 'distinct' ? distinctVmsOf : vmsOf;
    const byVm: string[][] = Array.from({ length: s.vms }, () => []);
    for (let u = 0; u < s.users; u++) for (const v of of(u, s)) byVm[v]!.push(userName(u));
    byVm.forEach((names, v) => {
      if (names.length > 0) out.push(`  - vm: vm${v}`, `    users: [${names.join(', ')}]`);
    });
  }
  return out.join('\n') + '\n';
}

/**
 * The account the benchmarks' one-entitlement change gives vm0: in the group shape the one past the group (which the
 * World creates), else the last listed user without vm0; undefined when every listed user has it.
 */
export function changeAccount(s: Sizes, shape: Shape): number | undefined {
  if (shape === 'group') return s.users;
  const of = shape === 'distinct' ? distinctVmsOf : vmsOf;
  return Array.from({ length: s.users }, (_, u) => s.users - 1 - u).find((u) => !of(u, s).includes(0));
}
