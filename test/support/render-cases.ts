// Generated policies and facts that exercise every path of the renderers (windows, IPv6, several servers, a
// server that does not resolve, groups, root in a group, unknown names, a plain port beside the TLS port), so a
// golden comparison of their output catches any byte the renderers change. Deterministic: no clock, no random.
import type { Facts } from '../../helper/src/policy/facts.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import type { Policy } from '../../helper/src/policy/types.js';
import type { UserEntry } from '../../helper/src/system/nss.js';

/** One rendering input: the policy as parsed, and the machine as plan/ sees it. */
export interface RenderCase {
  name: string;
  policy: Policy;
  facts: Facts;
}

/** How a case is generated. */
export interface CaseSpec {
  name: string;
  /** `per-vm`: users listed by name per VM; `group`: every VM entitled through groups. */
  shape: 'per-vm' | 'group';
  users: number;
  vms: number;
  perUser: number;
  utcOffsetMinutes: number;
  log: boolean;
}

/** The specs the golden test renders: both shapes, two UTC offsets, log on and off. */
export const CASE_SPECS: CaseSpec[] = [
  { name: 'per-vm', shape: 'per-vm', users: 120, vms: 24, perUser: 4, utcOffsetMinutes: 0, log: true },
  { name: 'per-vm-utc+5:30', shape: 'per-vm', users: 120, vms: 24, perUser: 4, utcOffsetMinutes: 330, log: false },
  { name: 'per-vm-large', shape: 'per-vm', users: 1500, vms: 60, perUser: 6, utcOffsetMinutes: -480, log: true },
  { name: 'group', shape: 'group', users: 80, vms: 30, perUser: 0, utcOffsetMinutes: 0, log: true },
  { name: 'group-utc+10', shape: 'group', users: 80, vms: 30, perUser: 0, utcOffsetMinutes: 600, log: false },
];

// Servers: IPv4 only, IPv4 + IPv6, IPv6 only (two addresses), and one whose host did not resolve.
const SERVERS = ['four', 'dual', 'six', 'down'] as const;
const ADDRESSES: Record<string, string[]> = {
  four: ['127.0.0.1'],
  dual: ['192.0.2.10', '2001:db8::10'],
  six: ['2001:db8::20', 'fd00::20'],
};
const WINDOWS = [
  '{ days: [Mon, Tue] }',
  '{ days: [Wed, Thu], hours: "08:00-18:00" }',
  '{ hours: "22:00-24:00" }',
  '{ days: [Sat, Sun], hours: "00:00-06:30" }',
  '{ days: [Mon, Tue, Wed, Thu, Fri, Sat, Sun] }',
];

/** User `i`'s name; uids follow names, except every 7th account whose uid runs backwards (order must not matter). */
const userName = (i: number) => `u${String(i).padStart(5, '0')}`;
const uidOf = (i: number) => (i % 7 === 3 ? 90_000 - i : 5000 + i);

/** The policy text of a spec. */
export function caseYaml(s: CaseSpec): string {
  const out = ['version: 1', 'viewer:', '  path: /usr/bin/remote-viewer', '  group: spicegrp', 'firewall:', '  backend: nftables', '  protect:', '    - ports: "20000-20099"', '    - ports: 5900', `  log: ${s.log}`, 'servers:'];
  for (const id of SERVERS) out.push(`  ${id}: { host: ${id === 'four' ? '127.0.0.1' : `${id}.example.org`}, ca: /etc/consolegate/ca/${id}.pem, host-subject: "CN=${id}" }`);
  out.push('vms:');
  for (let v = 0; v < s.vms; v++) {
    const port = v % 5 === 2 ? `, port: ${21000 + v}` : '';
    const title = v % 3 === 0 ? `, title: "Machine ${v}"` : '';
    out.push(`  vm${v}: { server: ${SERVERS[v % SERVERS.length]}, tls-port: ${20000 + v}${port}${title} }`);
  }
  out.push('entitlements:');
  if (s.shape === 'per-vm') {
    const byVm: string[][] = Array.from({ length: s.vms }, () => []);
    for (let u = 0; u < s.users; u++) for (let j = 0; j < s.perUser; j++) byVm[(u * 3 + j * 5) % s.vms]!.push(userName(u));
    byVm.forEach((names, v) => {
      if (v % 4 === 1) names.push('ghost');
      // Every VM's users with no window; some VMs again with a window for part of them (same user, both).
      out.push(`  - vm: vm${v}`, `    users: [${names.join(', ')}]`);
      if (v % 3 === 1) out.push(`  - vm: vm${v}`, `    users: [${names.filter((_, i) => i % 2 === 0).join(', ')}]`, `    when: ${WINDOWS[v % WINDOWS.length]}`);
      if (v % 3 === 2) out.push(`  - vm: vm${v}`, `    users: [${names.slice(0, 3).join(', ')}]`, `    when: ${WINDOWS[(v + 2) % WINDOWS.length]}`);
    });
  } else {
    for (let v = 0; v < s.vms; v++) {
      const groups = v % 6 === 5 ? '[everyone, nosuchgroup]' : '[everyone]';
      out.push(`  - { vm: vm${v}, groups: ${groups} }`);
      if (v % 4 === 0) out.push(`  - { vm: vm${v}, groups: [shift], users: [${userName(v)}], when: ${WINDOWS[v % WINDOWS.length]} }`);
    }
  }
  return out.join('\n') + '\n';
}

/** The facts plan/ would be handed for a spec. */
export function caseFacts(s: CaseSpec): Facts {
  const users = new Map<string, UserEntry>();
  for (let u = 0; u < s.users; u++) users.set(userName(u), { name: userName(u), uid: uidOf(u), gid: 100 });
  const groups = new Map<string, string[]>();
  if (s.shape === 'group') {
    users.set('toor', { name: 'toor', uid: 0, gid: 0 });
    // Sorted, as gatherFacts hands them over; root is in it and must be skipped, a stranger is not a user.
    groups.set('everyone', [...Array.from({ length: s.users }, (_, u) => userName(u)), 'stranger', 'toor'].sort());
    groups.set('shift', Array.from({ length: s.users }, (_, u) => userName(u)).filter((_, u) => u % 3 === 0));
  }
  return {
    viewerGid: 990,
    users,
    groups,
    refused: [],
    addresses: new Map(Object.entries(ADDRESSES)),
    ca: new Map(['four', 'dual', 'six'].map((id) => [id, `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`])),
    serverProblems: new Map([['down', 'host `down.example.org` does not resolve (test)']]),
    utcOffsetMinutes: s.utcOffsetMinutes,
    now: new Date('2026-11-23T10:00:00Z'),
  };
}

/** Parses and merges a spec's policy; throws on any diagnostic (the generator is wrong then). */
export function renderCase(s: CaseSpec): RenderCase {
  const parsed = parseFragment(`${s.name}.yaml`, caseYaml(s));
  const merged = mergeFragments([parsed.fragment]);
  const problems = [...parsed.diagnostics, ...merged.diagnostics];
  if (problems.length > 0) throw new Error(`generated policy ${s.name} is invalid: ${problems[0]!.message}`);
  return { name: s.name, policy: merged.policy, facts: caseFacts(s) };
}
