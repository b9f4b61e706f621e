// Parsing the kernel's log lines written by our rules (nft `flags skuid` and iptables `--log-uid`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDenyLine } from '../../helper/src/commands/audit.js';

test('nft log line', () => {
  const line = '2026-11-23T10:00:00,123456+00:00 kernel: consolegate-deny IN= OUT=lo SRC=127.0.0.1 DST=127.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=20002 WINDOW=65495 RES=0x00 SYN URGP=0 UID=1002 GID=1002';
  assert.deepEqual(parseDenyLine(line), { uid: 1002, src: '127.0.0.1', dst: '127.0.0.1', dport: 20002 });
});
test('IPv6 and foreign lines', () => {
  assert.deepEqual(parseDenyLine('consolegate-deny IN= OUT=lo SRC=::1 DST=::1 LEN=80 PROTO=TCP SPT=1 DPT=20004 SYN UID=7 GID=7'), { uid: 7, src: '::1', dst: '::1', dport: 20004 });
  assert.equal(parseDenyLine('other-prefix IN= OUT=lo SRC=::1 DST=::1 DPT=1 UID=7'), null);
  assert.equal(parseDenyLine('consolegate-deny without fields'), null);
});
