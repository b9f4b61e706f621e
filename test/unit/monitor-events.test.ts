// `nft monitor` lines as Debian 12's nft 1.0.6 prints them (captured in a namespace), read by monitor-events.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransactionReader, sideOf, sidesOf, type Transaction } from '../../helper/src/apply/monitor-events.js';

const CAPTURED = `add table inet consolegate
add chain inet consolegate output { type filter hook output priority filter; policy accept; }
add set inet consolegate allow { type uid . ipv4_addr . inet_service; }
add element inet consolegate allow { 1000 . 127.0.0.1 . 5900 }
add rule inet consolegate output tcp dport 5900 reject
# new generation 7 by process 12951 (nft)
delete element inet consolegate allow { 1000 . 127.0.0.1 . 5900 }
# new generation 8 by process 12952 (nft)
delete chain ip filter CONSOLEGATE
delete chain ip filter OUTPUT
delete table ip filter
delete set inet consolegate allow
delete chain inet consolegate output
delete table inet consolegate
# new generation 10 by process 12955 (nft)
add chain inet other c { type filter hook output priority filter; policy accept; }
# new generation 14 by process 12959 (nft)
insert rule ip filter OUTPUT counter packets 0 bytes 0 jump CONSOLEGATE
# new generation 3 by process 12784 (iptables)
add rule ip filter DOCKER-USER counter packets 0 bytes 0 return
# new generation 4 by process 12790 (iptables)
# new generation 5`;

function read(text: string): Transaction[] {
  const out: Transaction[] = [];
  const r = new TransactionReader((t) => out.push(t));
  for (const l of text.split('\n')) r.line(l);
  return out;
}

test('transactions end at "# new generation N by process PID (comm)"; lines before it belong to it', () => {
  const ts = read(CAPTURED);
  assert.deepEqual(
    ts.map((t) => [t.generation, t.pid, t.comm, t.lines.length]),
    [
      [7, 12951, 'nft', 5],
      [8, 12952, 'nft', 1],
      [10, 12955, 'nft', 6],
      [14, 12959, 'nft', 1],
      [3, 12784, 'iptables', 1],
      [4, 12790, 'iptables', 1],
      [5, null, null, 0],
    ],
  );
});

test('only our table, and iptables OUTPUT/FORWARD/CONSOLEGATE in the filter tables, count', () => {
  const ts = read(CAPTURED);
  assert.deepEqual([...sidesOf(ts[0]!).keys()], ['nftables']);
  assert.deepEqual([...sidesOf(ts[2]!).keys()].sort(), ['iptables', 'nftables'], '`flush ruleset` hits both');
  assert.equal(sidesOf(ts[3]!).size, 0, 'a foreign table is not ours');
  assert.deepEqual([...sidesOf(ts[4]!).keys()], ['iptables']);
  assert.equal(sidesOf(ts[5]!).size, 0, 'a foreign chain in ip filter is not ours');
  assert.equal(sideOf('delete rule ip6 filter FORWARD handle 9'), 'iptables');
  assert.equal(sideOf('delete rule ip nat OUTPUT handle 9'), null, 'only the filter table holds our jump');
  assert.equal(sideOf('add table inet consolegatex'), null);
});

test('"# ERROR: We lost some netlink events!" is reported at once, not taken for a transaction', () => {
  const lost: string[] = [];
  const ts: Transaction[] = [];
  const r = new TransactionReader((t) => ts.push(t), (m) => lost.push(m));
  for (const l of ['delete rule inet consolegate output handle 3', '# ERROR: We lost some netlink events!', '# new generation 9 by process 77 (nft)']) r.line(l);
  assert.deepEqual(lost, ['ERROR: We lost some netlink events!']);
  assert.deepEqual(ts[0]!.lines, ['delete rule inet consolegate output handle 3']);
});
