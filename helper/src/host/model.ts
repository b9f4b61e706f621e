// Policy + one server + what libvirt says → the host model: console ports, managed clients, bound guest ports.
// Pure: libvirt's answers are passed in.
import { ConsolegateError, type Diagnostic } from '../errors.js';
import { parseGuestAddress } from '../policy/host-names.js';
import type { Policy, Vm } from '../policy/types.js';
import type { DomainInfo } from './libvirt.js';

/** A guest port bound to its MAC and addresses. */
export interface Guest {
  vm: string;
  port: string;
  mac: string;
  v4: string[];
  v6: string[];
}

/** Everything the host tables are rendered from. */
export interface HostModel {
  server: string;
  /** Every console port of the server's VMs, ascending. */
  ports: number[];
  clientsV4: string[];
  clientsV6: string[];
  guests: Guest[];
  log: boolean;
  /** VMs left unbound and why (no port known, not running…). */
  warnings: string[];
}

/** libvirt's answer per VM id: the domain, why it could not be read, or null when libvirt is absent. */
export type Domains = Map<string, DomainInfo | string | null>;

/** The VMs of `server` whose bridge port lacks a name or MAC: only these are looked up in libvirt. */
export function vmsNeedingLibvirt(policy: Policy, server: string): { vm: string; domain: string }[] {
  return [...policy.vms.values()].filter((v) => v.server === server && (!v.bridgePort?.name || !v.bridgePort.mac)).map((v) => ({ vm: v.id, domain: v.domain ?? v.id }));
}

/** Builds the model; a VM whose port is known but that has no address, or a clash between VMs, is POLICY_INVALID. */
export function hostModel(policy: Policy, server: string, domains: Domains): HostModel {
  if (!policy.servers.has(server)) {
    const known = [...policy.servers.keys()].join(', ') || 'none';
    throw new ConsolegateError('USAGE', `server \`${server}\` is not in the policy (servers: ${known})`);
  }
  const problems: Diagnostic[] = [];
  const warnings: string[] = [];
  const ports = new Set<number>();
  const guests: Guest[] = [];
  const owner = new Map<string, string>();
  for (const vm of [...policy.vms.values()].filter((v) => v.server === server).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    ports.add(vm.tlsPort);
    if (vm.port !== null) ports.add(vm.port);
    const dom = domains.get(vm.id);
    if (dom && typeof dom !== 'string') for (const p of dom.consolePorts) ports.add(p);
    const g = bindGuest(vm, dom, warnings, problems);
    if (!g) continue;
    for (const key of [`port ${g.port}`, `MAC ${g.mac}`, ...[...g.v4, ...g.v6].map((a) => `address ${a}`)]) {
      const other = owner.get(key);
      if (other) problems.push({ pos: vm.pos, message: `VM \`${vm.id}\` would be bound to ${key}, which VM \`${other}\` has (libvirt or the policy)` });
      else owner.set(key, vm.id);
    }
    guests.push(g);
  }
  if (problems.length > 0) throw new ConsolegateError('POLICY_INVALID', `host mode cannot bind the guest ports of server \`${server}\` (${problems.length} problem${problems.length === 1 ? '' : 's'})`, { diagnostics: problems });
  const clients = policy.clients ?? [];
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    server,
    ports: [...ports].sort((a, b) => a - b),
    clientsV4: uniq(clients.filter((c) => c.family === 4).map((c) => c.text)),
    clientsV6: uniq(clients.filter((c) => c.family === 6).map((c) => c.text)),
    guests,
    log: policy.firewall.log,
    warnings,
  };
}

/** The VM's port from the policy, completed from libvirt; null (with a warning or a problem) when it cannot be bound. */
function bindGuest(vm: Vm, dom: DomainInfo | string | null | undefined, warnings: string[], problems: Diagnostic[]): Guest | null {
  const bp = vm.bridgePort;
  let name = bp?.name ?? null;
  let mac = bp?.mac ?? null;
  let ips = bp?.ips ?? [];
  if (name === null || mac === null) {
    if (dom === null || dom === undefined) {
      warnings.push(`VM \`${vm.id}\`: no anti-spoofing: ${bp ? '`bridge-port` lacks `name` or `mac`' : 'no `bridge-port`'} in the policy and libvirt (virsh) is not installed`);
      return null;
    }
    if (typeof dom === 'string') {
      warnings.push(`VM \`${vm.id}\`: no anti-spoofing: ${dom}`);
      return null;
    }
    const fits = dom.interfaces.filter((i) => (name === null || i.dev === name) && (mac === null || i.mac === mac));
    if (fits.length !== 1) {
      const why = fits.length === 0 ? 'no bridge or network interface of its libvirt domain matches' : `its libvirt domain has ${fits.length} bridge/network interfaces`;
      problems.push({ pos: bp?.pos ?? vm.pos, message: `VM \`${vm.id}\`: ${why}; set \`bridge-port.name\` or \`bridge-port.mac\`` });
      return null;
    }
    const itf = fits[0]!;
    if (itf.dev === null) {
      warnings.push(`VM \`${vm.id}\`: no anti-spoofing until it runs (libvirt names its port only then; apply again after it starts)`);
      return null;
    }
    name ??= itf.dev;
    mac ??= itf.mac;
    if (ips.length === 0) ips = itf.ips;
    if (mac === null) {
      problems.push({ pos: bp?.pos ?? vm.pos, message: `VM \`${vm.id}\`: libvirt gives no MAC for port ${name}; set \`bridge-port.mac\`` });
      return null;
    }
  }
  if (ips.length === 0) {
    problems.push({ pos: bp?.pos ?? vm.pos, message: `VM \`${vm.id}\`: port ${name} has no addresses to bind; list the guest's own addresses in \`bridge-port.ips\`` });
    return null;
  }
  const v6 = ips.filter((i) => i.family === 6).map((i) => i.text);
  // The EUI-64 link-local address the guest uses for neighbour discovery unless it is configured otherwise.
  if (v6.length > 0) {
    const ll = eui64LinkLocal(mac);
    if (!v6.includes(ll)) v6.push(ll);
  }
  return { vm: vm.id, port: name, mac, v4: ips.filter((i) => i.family === 4).map((i) => i.text), v6 };
}

/** fe80::/64 with the modified EUI-64 interface id of `mac` (RFC 4291), written the way nft lists it. */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const id = [b[0]! ^ 2, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups = [0, 2, 4, 6].map((i) => ((id[i]! << 8) | id[i + 1]!).toString(16));
  const parsed = parseGuestAddress(`fe80::${groups.join(':')}`);
  return typeof parsed === 'string' ? `fe80::${groups.join(':')}` : parsed.text;
}
