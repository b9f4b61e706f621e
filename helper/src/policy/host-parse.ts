// The host-mode parts of a policy file: `clients` and each VM's `bridge-port` / `domain`. The client side ignores them.
import { formatPos, type Diagnostic, type SourcePos } from '../errors.js';
import { checkDomain, checkIfname, checkMac, parseCidr, parseGuestAddress } from './host-names.js';
import { Reader, printable } from './reader.js';
import type { BridgePort, ClientNet, Vm } from './types.js';

/** `clients: [192.0.2.0/24, "2001:db8:1::/48", 198.51.100.7]`. */
export function readClients(r: Reader, node: unknown, at: SourcePos): ClientNet[] {
  const out: ClientNet[] = [];
  for (const item of r.seq(node, '`clients`', at) ?? []) {
    const text = r.string(item, 'client network', at);
    if (text === null) continue;
    const parsed = parseCidr(text);
    if (typeof parsed === 'string') r.error(r.pos(item, at), `Invalid client network \`${printable(text)}\`: ${parsed}`);
    else out.push({ ...parsed, pos: r.pos(item, at) });
  }
  return out;
}

/** `bridge-port: { name: vnet3, mac: "52:54:00:12:34:56", ips: [192.0.2.10, "2001:db8::10"] }`; every key optional. */
export function readBridgePort(r: Reader, vmId: string, node: unknown, at: SourcePos): BridgePort | null {
  const m = r.map(node, `\`bridge-port\` of VM \`${printable(vmId)}\``, ['name', 'mac', 'ips'], at);
  if (!m) return null;
  let ok = true;
  const name = m.get('name');
  const nameV = name ? r.string(name.value, '`bridge-port.name`', r.pos(name.key), checkIfname) : null;
  if (name && nameV === null) ok = false;
  const mac = m.get('mac');
  const macV = mac ? r.string(mac.value, '`bridge-port.mac`', r.pos(mac.key), checkMac) : null;
  if (mac && macV === null) ok = false;
  const ips: BridgePort['ips'] = [];
  const ipsE = m.get('ips');
  for (const item of ipsE ? (r.seq(ipsE.value, '`bridge-port.ips`', r.pos(ipsE.key)) ?? []) : []) {
    const text = r.string(item, 'guest address', r.pos(ipsE!.key));
    const parsed = text === null ? null : parseGuestAddress(text);
    if (typeof parsed === 'string') r.error(r.pos(item), `Invalid guest address \`${printable(text!)}\`: ${parsed}`);
    if (parsed === null || typeof parsed === 'string') ok = false;
    else if (!ips.some((i) => i.text === parsed.text)) ips.push(parsed);
  }
  return ok ? { name: nameV, mac: macV?.toLowerCase() ?? null, ips, pos: at } : null;
}

/** `domain: Debian-X` — the libvirt domain of a VM whose id differs from it. */
export function readDomain(r: Reader, node: unknown, at: SourcePos): string | null {
  return r.string(node, '`domain`', at, checkDomain);
}

/**
 * Across VMs of one server: a bridge port, MAC or guest address belongs to one VM only (two VMs bound to one
 * address would let each pose as the other).
 */
export function checkBridgePorts(vms: Iterable<Vm>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, Vm>();
  for (const vm of vms) {
    const bp = vm.bridgePort;
    if (!bp) continue;
    const keys: [string, string][] = [];
    if (bp.name) keys.push([`port ${bp.name}`, `bridge port \`${bp.name}\``]);
    if (bp.mac) keys.push([`mac ${bp.mac}`, `MAC ${bp.mac}`]);
    for (const ip of bp.ips) keys.push([`ip ${ip.text}`, `address ${ip.text}`]);
    for (const [key, what] of keys) {
      const k = `${vm.server} ${key}`;
      const other = seen.get(k);
      if (other) out.push({ pos: bp.pos, message: `VM \`${vm.id}\` uses ${what} on server \`${vm.server}\`, already used by VM \`${other.id}\` at ${formatPos(other.bridgePort!.pos)}` });
      else seen.set(k, vm);
    }
  }
  return out;
}
