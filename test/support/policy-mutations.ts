// Generated policies for comparing validators: a valid base policy with a few structural mutations (a value replaced
// by one from a pool of valid, borderline and hostile values, a key removed, renamed or added). Written as YAML with
// yaml.stringify, so every validator reads exactly the generated data.
import fc from 'fast-check';
import { stringify } from 'yaml';

/** A policy as plain data (what YAML parses to). */
export type PolicyData = Record<string, unknown>;

/** A valid policy touching every part of the format, host mode included. */
export function basePolicy(): PolicyData {
  return {
    version: 1,
    viewer: { path: '/usr/bin/remote-viewer', group: 'spicegrp' },
    firewall: { backend: 'nftables', protect: [{ ports: '20000-20999' }, { ports: 5900 }], log: true },
    servers: {
      mysrv: { host: 'mysrv.example.org', ca: '/etc/consolegate/ca/mysrv.pem', 'host-subject': 'O=Example,CN=mysrv.example.org' },
      local: { host: '127.0.0.1', ca: '/etc/consolegate/ca/local.pem', 'host-subject': 'CN=localhost' },
    },
    vms: {
      debianx: { server: 'mysrv', 'tls-port': 20002, title: 'Book-keeping', 'bridge-port': { name: 'vnet3', mac: '52:54:00:12:34:56', ips: ['192.0.2.10'] } },
      leaptest: { server: 'mysrv', 'tls-port': 20004, domain: 'Leap-15' },
      tunnel: { server: 'local', 'tls-port': 30001, port: 30000 },
    },
    clients: ['192.0.2.0/24', '2001:db8::/64'],
    entitlements: [
      { vm: 'debianx', users: ['myself'], groups: ['accounting'] },
      { vm: 'leaptest', users: ['maggie'], when: { days: ['Mon', 'Tue'] } },
      { vm: 'leaptest', users: ['anne'], when: { days: ['Wed', 'Thu'], hours: '08:00-18:00' } },
    ],
  };
}

// Values a mutation may put in: right for some fields, borderline for others, hostile for all.
const IDS = ['debianx', 'mysrv', 'a', 'a'.repeat(63), 'a'.repeat(64), 'Debian', '-x', '_x', 'x.y', 'a b', 'é', 'ＡＬＬ', '1000'];
const NAMES = ['spicegrp', 'alice@corp.example.com', 'Domain Users', 'CORP\\alice', 'host$', ' alice', 'alice ', '1000', '+x', '-x', 'a:b', 'a\u202eb', 'a\u0085b', 'x'.repeat(256), 'é'.repeat(128), 'ALL', '%sudo', '$(id)'];
const PATHS = ['/usr/bin/remote-viewer', '/a/../b', '/a/./b', '/a/..', '/a/.', '/a/..b', 'relative/path', '/a b', '/v+1/x_y.pem', '/', '/a/*'];
const HOSTS = ['mysrv.example.org', '127.0.0.1', '::1', '2001:db8::7', '1.2.3', '-host', 'host-.example', 'host.example.', 'a_b.example', '999.1.1.1', 'x'.repeat(254), 'a..b'];
const TEXT = ['Book-keeping', 'A # b, c: d = e', '', '   ', 'line\nbreak', 'tab\there', 'nel\u0085', 'ls\u2028', 'ps\u2029', 'del\u007f', 'c1\u009b', 'x'.repeat(201), 'x'.repeat(513)];
const TIME = ['Mon', 'Sun', 'Funday', 'mon', '08:00-18:00', '00:00-24:00', '18:00-08:00', '08:00-08:00', '08:00-24:30', '24:00-24:00', '8:00-18:00', '08:00', '23:59-24:00'];
const PORTS = [20002, 1, 65535, 0, 65536, -1, 1.5, '20000-20999', '20002', '0', '99999', '5-3', '1-65535', '65535-65536', ' 5', '00001'];
const HOST_MODE = ['52:54:00:12:34:56', '53:54:00:12:34:56', '00:00:00:00:00:00', 'vnet3', 'vnet.', '..', 'Leap-15', '192.0.2.0/24', '192.0.2.1/24', '192.0.2.0/33', '2001:db8::/64', '224.0.0.1', '0.0.0.0', '::', 'ff02::1'];
const OTHER = ['auto', 'iptables', 'pf', true, false, null, 2, [], {}, ['alice'], { days: ['Mon'] }, [{ ports: 1 }]];

/** Every value a mutation may use. */
export const VALUE_POOL: readonly unknown[] = [...IDS, ...NAMES, ...PATHS, ...HOSTS, ...TEXT, ...TIME, ...PORTS, ...HOST_MODE, ...OTHER];

// Values worth trying first for a field (by its key, or its list's key): a field is mostly given values of its own kind.
const FIELD_POOLS: Record<string, readonly unknown[]> = {
  id: IDS, server: IDS, vm: IDS, group: [...IDS, ...NAMES], users: NAMES, groups: NAMES, path: PATHS, ca: PATHS, host: HOSTS,
  title: TEXT, 'host-subject': TEXT, days: TIME, hours: TIME, ports: PORTS, 'tls-port': PORTS, port: PORTS, version: PORTS,
  mac: HOST_MODE, name: HOST_MODE, ips: HOST_MODE, clients: HOST_MODE, domain: [...IDS, ...HOST_MODE], backend: OTHER, log: OTHER,
};

/** Keys a mutation may add or rename to: real ones (in the wrong place) and unknown ones. */
const KEY_POOL = ['version', 'users', 'groups', 'when', 'days', 'hours', 'tls-port', 'port', 'host', 'ports', 'name', 'mac', 'ips', 'domain', 'extra', 'Debian', 'new-vm', 'a b'];

/** One mutation: what to do, at which node (an index into all nodes), with which value or key. */
export interface Mutation {
  op: 'set' | 'delete' | 'add' | 'rename';
  at: number;
  pick: number;
}

/** Arbitrary: 0 to 3 mutations. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({ op: fc.constantFrom('set', 'set', 'delete', 'add', 'rename'), at: fc.noBias(fc.nat(10_000)), pick: fc.noBias(fc.nat(10_000)) }),
  { maxLength: 3 },
);

type Container = Record<string, unknown> | unknown[];

// Every place in the tree: a container, a key (object key or array index) inside it, and the field it stands for
// (the key itself, or the list's key for an item; `id` for the keys of `servers` and `vms`).
function places(root: Container): { parent: Container; key: string | number; field: string }[] {
  const out: { parent: Container; key: string | number; field: string }[] = [];
  const walk = (c: Container, name: string): void => {
    for (const key of Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c)) {
      out.push({ parent: c, key, field: typeof key === 'number' ? name : name === 'servers' || name === 'vms' ? 'id' : key });
      const v = (c as Record<string | number, unknown>)[key];
      if (v !== null && typeof v === 'object') walk(v as Container, typeof key === 'number' ? name : key);
    }
  };
  walk(root, '');
  return out;
}

/** Applies mutations to a copy of the base policy. */
export function mutate(base: PolicyData, mutations: Mutation[]): PolicyData {
  const root = structuredClone(base);
  for (const m of mutations) {
    const all = places(root);
    const place = all[m.at % all.length];
    if (!place) continue;
    const { parent, key, field } = place;
    // Three picks in four come from the field's own kind, so borderline values meet the fields they are borderline for.
    const pool = m.pick % 4 !== 0 ? (FIELD_POOLS[field] ?? VALUE_POOL) : VALUE_POOL;
    const value = structuredClone(pool[(m.pick >> 2) % pool.length]);
    const newKey = KEY_POOL[m.pick % KEY_POOL.length]!;
    if (Array.isArray(parent)) {
      const i = key as number;
      if (m.op === 'set') parent[i] = value;
      else if (m.op === 'delete') parent.splice(i, 1);
      else parent.push(value);
      continue;
    }
    const k = key as string;
    if (m.op === 'set') parent[k] = value;
    else if (m.op === 'delete') delete parent[k];
    else if (m.op === 'add') parent[newKey] = value;
    else {
      // Renaming a key keeps its value: the way a VM or server id, or a field name, goes wrong.
      const v = parent[k];
      delete parent[k];
      parent[field === 'id' && typeof value === 'string' ? value : newKey] = v;
    }
  }
  return root;
}

/** The policy as YAML text. */
export function toYaml(p: PolicyData): string {
  return stringify(p, { version: '1.2' });
}
