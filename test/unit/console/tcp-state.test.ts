// /proc/net/tcp{,6} parsing: addresses, ports, states and the uid column, as the kernel prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchSockets, normalizeAddress, parseProcNetTcp, readTcpTable, TCP_ESTABLISHED } from '../../../electron/services/tcp-state.js';
import net from 'node:net';

const TCP4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:172B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12241 1 00000000c0e8b346 100 0 0 10 0
   1: 0100007F:D352 0100007F:172B 01 00000000:00000000 00:00000000 00000000  1001        0 53321 1 0000000012345678 20 4 30 10 -1
   2: 0100007F:D354 0100007F:172B 06 00000000:00000000 03:000010D4 00000000  1001        0 0 3 000000000b66f837
`;
// ::1 port 5931 ← ::1 port 41000, uid 1002; and ::ffff:127.0.0.1.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:A028 00000000000000000000000001000000:172B 01 00000000:00000000 00:00000000 00000000  1002        0 777 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:A029 0000000000000000FFFF00000100007F:172B 01 00000000:00000000 00:00000000 00000000  1002        0 778 1 0000000000000000 20 4 30 10 -1
`;

test('IPv4 rows: little-endian address words, hex ports, state, uid, inode', () => {
  const rows = parseProcNetTcp(TCP4);
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1], { localAddress: '127.0.0.1', localPort: 54098, remoteAddress: '127.0.0.1', remotePort: 5931, state: TCP_ESTABLISHED, uid: 1001, inode: 53321 });
  assert.equal(rows[0]?.state, 0x0a, 'LISTEN');
});

test('IPv6 rows, and IPv4-mapped addresses come out as IPv4', () => {
  const rows = parseProcNetTcp(TCP6);
  assert.equal(rows[0]?.remoteAddress, '::1');
  assert.equal(rows[0]?.localPort, 41000);
  assert.equal(rows[1]?.remoteAddress, '127.0.0.1');
});

test('matchSockets: only ESTABLISHED sockets of that uid to that address and port', () => {
  const rows = [...parseProcNetTcp(TCP4), ...parseProcNetTcp(TCP6)];
  assert.deepEqual(matchSockets(rows, { uid: 1001, addresses: new Set(['127.0.0.1']), port: 5931 }).map((s) => s.inode), [53321]);
  assert.deepEqual(matchSockets(rows, { uid: 1002, addresses: new Set(['127.0.0.1', '::1']), port: 5931 }).map((s) => s.inode), [777, 778]);
  assert.equal(matchSockets(rows, { uid: 1003, addresses: new Set(['127.0.0.1']), port: 5931 }).length, 0);
  assert.equal(matchSockets(rows, { uid: 1001, addresses: new Set(['127.0.0.2']), port: 5931 }).length, 0);
});

test('malformed rows are skipped, not thrown on', () => {
  assert.deepEqual(parseProcNetTcp('header\n garbage line\n 0: zz:zz 00:00 01\n'), []);
});

test('normalizeAddress makes DNS answers and kernel text comparable', () => {
  assert.equal(normalizeAddress('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(normalizeAddress('2001:DB8::1'), '2001:db8::1');
  assert.equal(normalizeAddress('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(normalizeAddress('10.0.0.1'), '10.0.0.1');
});

test('readTcpTable sees a live loopback connection of our own uid', async () => {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.on('connect', () => r()));
  try {
    const mine = matchSockets(await readTcpTable(), { uid: process.getuid?.() ?? 0, addresses: new Set(['127.0.0.1']), port });
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.localPort, client.localPort);
  } finally {
    client.destroy();
    server.close();
  }
});
