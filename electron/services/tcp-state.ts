// The kernel's TCP socket table (/proc/net/tcp, /proc/net/tcp6), read the way an unprivileged user can.
// The viewer runs as the user but with the viewer group, so the user cannot read its /proc/<pid>/fd
// (the kernel wants matching gids for that); the socket table is world-readable and has the uid column.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h). */
export const TCP_ESTABLISHED = 0x01;

/** One row of the socket table: endpoints, state, owning uid and socket inode. */
export interface TcpSocket {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: number;
  uid: number;
  inode: number;
}

/** Parses the text of /proc/net/tcp or /proc/net/tcp6; malformed rows are skipped. */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const rows: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10) continue;
    const local = endpoint(f[1]);
    const remote = endpoint(f[2]);
    const state = Number.parseInt(f[3] ?? '', 16);
    const uid = Number(f[7]);
    const inode = Number(f[9]);
    if (local === null || remote === null || !Number.isInteger(state) || !Number.isInteger(uid) || !Number.isInteger(inode)) continue;
    rows.push({ localAddress: local.address, localPort: local.port, remoteAddress: remote.address, remotePort: remote.port, state, uid, inode });
  }
  return rows;
}

// "0100007F:172B" (IPv4) or 32 hex digits (IPv6); each 32-bit word is in host (little-endian) byte order.
function endpoint(field: string | undefined): { address: string; port: number } | null {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(field ?? '');
  if (m === null) return null;
  const hex = m[1] as string;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(word.slice(b, b + 2), 16));
  }
  return { address: bytes.length === 4 ? bytes.join('.') : ipv6(bytes), port: Number.parseInt(m[2] as string, 16) };
}

function ipv6(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return normalizeAddress(groups.join(':'));
}

/** Canonical text of an IP address, so literals from DNS and from the kernel compare equal; IPv4-mapped IPv6 becomes IPv4. */
export function normalizeAddress(address: string): string {
  if (net.isIPv4(address)) return address;
  if (!net.isIPv6(address)) return address;
  // SocketAddress prints the compressed, lower-case form (and ::ffff:a.b.c.d for mapped addresses).
  const canonical = new net.SocketAddress({ address, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  return mapped !== null ? (mapped[1] as string) : canonical;
}

/** What to look for: sockets of this uid to one of these addresses on this port, in this state. */
export interface SocketQuery {
  uid: number;
  addresses: ReadonlySet<string>;
  port: number;
  state?: number;
}

/** The sockets in a table that match a query (state defaults to ESTABLISHED). */
export function matchSockets(table: readonly TcpSocket[], q: SocketQuery): TcpSocket[] {
  const state = q.state ?? TCP_ESTABLISHED;
  return table.filter((s) => s.uid === q.uid && s.state === state && s.remotePort === q.port && q.addresses.has(s.remoteAddress));
}

/** Reads both socket tables of the caller's network namespace; a missing tcp6 (IPv6 disabled) is an empty table. */
export async function readTcpTable(procNet = '/proc/net'): Promise<TcpSocket[]> {
  const read = async (name: string): Promise<TcpSocket[]> => {
    try {
      return parseProcNetTcp(await readFile(`${procNet}/${name}`, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  const [v4, v6] = await Promise.all([read('tcp'), read('tcp6')]);
  return [...v4, ...v6];
}

/** The same, synchronously: for a snapshot that must be complete before something else starts. */
export function readTcpTableSync(procNet = '/proc/net'): TcpSocket[] {
  const read = (name: string): TcpSocket[] => {
    try {
      return parseProcNetTcp(readFileSync(`${procNet}/${name}`, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  return [...read('tcp'), ...read('tcp6')];
}
