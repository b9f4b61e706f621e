// Strict checks for what host mode writes into nft rules: interface names, MAC addresses, IP addresses, CIDRs.
import net from 'node:net';

/** Linux interface names as libvirt and admins make them (vnet3, tap-web1, br0.10): at most 15 bytes (IFNAMSIZ). */
export const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** A MAC address as six colon-separated hex octets. */
export const MAC_RE = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;
/** libvirt domain names (passed to `virsh dumpxml` as one argument, never through a shell). */
export const DOMAIN_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;

/** An address or a network, as nft will read it. */
export interface Cidr {
  family: 4 | 6;
  /** Canonical text: `192.0.2.0/24`, `2001:db8::/64`, or a bare address for a single host. */
  text: string;
}

/** Why `value` is not a usable interface name, or null. */
export function checkIfname(value: string): string | null {
  if (!IFNAME_RE.test(value)) return `must match ${IFNAME_RE.source} (an interface name of at most 15 characters)`;
  return value === '.' || value === '..' ? 'is not an interface name' : null;
}

/** Why `value` is not a unicast MAC address, or null. */
export function checkMac(value: string): string | null {
  if (!MAC_RE.test(value)) return 'must be six colon-separated hex octets like 52:54:00:12:34:56';
  const first = parseInt(value.slice(0, 2), 16);
  if (first & 1) return 'is a multicast/broadcast address, not a guest NIC';
  return /^(00:){5}00$/.test(value) ? 'must not be all zeros' : null;
}

/** Why `value` is not a libvirt domain name we accept, or null. */
export function checkDomain(value: string): string | null {
  return DOMAIN_RE.test(value) ? null : `must match ${DOMAIN_RE.source}`;
}

/** The 4 or 16 bytes of a literal address, or null. */
export function addressBytes(text: string): number[] | null {
  const family = net.isIP(text);
  if (family === 4) return text.split('.').map(Number);
  if (family !== 6) return null;
  let s = text.toLowerCase();
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    s = `${s.slice(0, v4.index)}0:0`; // placeholder groups, replaced below
  }
  const [left, right] = s.includes('::') ? s.split('::') : [s, null];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const l = groups(left);
  const r = right === null ? [] : groups(right);
  const all = right === null ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : null;
}

/** Canonical text of an address's bytes (IPv6 compressed the way nft lists it). */
function bytesText(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes `::` (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** A single unicast address a guest may use as its source: `{ family, text }`, or why not. */
export function parseGuestAddress(value: string): Cidr | string {
  const bytes = addressBytes(value);
  if (bytes === null) return 'must be a literal IPv4 or IPv6 address';
  if (bytes.every((b) => b === 0)) return 'must not be the unspecified address';
  if (bytes.length === 4 && (bytes[0]! >= 224 || bytes[0] === 0 || bytes[0] === 127)) return 'must be a unicast IPv4 address';
  if (bytes.length === 16 && (bytes[0] === 0xff || bytes.slice(0, 15).every((b) => b === 0))) return 'must be a unicast IPv6 address';
  return { family: bytes.length === 4 ? 4 : 6, text: bytesText(bytes) };
}

/** A client network `192.0.2.0/24`, `2001:db8::/64`, or a single address; host bits must be zero. */
export function parseCidr(value: string): Cidr | string {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(value);
  const bytes = m ? addressBytes(m[1]!) : null;
  if (!m || bytes === null) return 'must be an IPv4 or IPv6 address, optionally with /prefix (like 192.0.2.0/24 or 2001:db8::/64)';
  const max = bytes.length * 8;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max || (m[2] !== undefined && m[2].length > 1 && m[2].startsWith('0'))) return `prefix must be 0-${max}`;
  const network = bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  if (network.some((b, i) => b !== bytes[i])) return `has host bits set; the network is ${bytesText(network)}/${prefix}`;
  const family = bytes.length === 4 ? 4 : 6;
  return { family, text: prefix === max ? bytesText(bytes) : `${bytesText(bytes)}/${prefix}` };
}
