// open-console's decision: who, which VM, and when; its arguments accept nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OC_EXIT, decide, parseOpenArgs } from '../../helper/src/open-console.js';
import type { ConsoleTable } from '../../helper/src/plan/views.js';

const table: ConsoleTable = {
  version: 1,
  viewer: { path: '/usr/bin/remote-viewer', group: 'spicegrp', gid: 990 },
  vms: {
    debianx: { title: 'Books', server: 's', host: 'h', tlsPort: 20002, ca: 'x', hostSubject: 'CN=h', grants: [{ uid: 1000, window: null }] },
    leaptest: {
      title: 'Leap', server: 's', host: 'h', tlsPort: 20004, ca: 'x', hostSubject: 'CN=h',
      grants: [{ uid: 1001, window: { days: ['Mon', 'Tue'], start: 480, end: 1080, hours: '08:00-18:00' } }],
    },
  },
};
const code = (fn: () => unknown) => {
  try {
    fn();
    return 0;
  } catch (err) {
    return (err as { exit: number }).exit;
  }
};
// 2026-11-23 is a Monday.
const monday10 = new Date(2026, 10, 23, 10, 0);
const monday19 = new Date(2026, 10, 23, 19, 0);
const wednesday10 = new Date(2026, 10, 25, 10, 0);

test('the entitled user with the viewer group may open, at any time when there is no window', () => {
  assert.equal(decide(table, 'debianx', { uid: 1000, egid: 990 }, monday19).tlsPort, 20002);
});
test('another user, an unknown VM, or the wrong group is refused with its own exit code', () => {
  assert.equal(code(() => decide(table, 'debianx', { uid: 1001, egid: 990 }, monday10)), OC_EXIT.notEntitled);
  assert.equal(code(() => decide(table, 'nope', { uid: 1000, egid: 990 }, monday10)), OC_EXIT.notEntitled);
  assert.equal(code(() => decide(table, '__proto__', { uid: 1000, egid: 990 }, monday10)), OC_EXIT.notEntitled);
  assert.equal(code(() => decide(table, 'debianx', { uid: 1000, egid: 1000 }, monday10)), OC_EXIT.identity);
});
test('time windows are checked in local time', () => {
  assert.equal(code(() => decide(table, 'leaptest', { uid: 1001, egid: 990 }, monday10)), 0);
  assert.equal(code(() => decide(table, 'leaptest', { uid: 1001, egid: 990 }, monday19)), OC_EXIT.outsideWindow);
  assert.equal(code(() => decide(table, 'leaptest', { uid: 1001, egid: 990 }, wednesday10)), OC_EXIT.outsideWindow);
});
test('arguments: VM, or --state-dir DIR VM; nothing else', () => {
  assert.deepEqual(parseOpenArgs(['debianx']), { stateDir: '/var/lib/consolegate', vm: 'debianx' });
  assert.deepEqual(parseOpenArgs(['--state-dir', '/tmp/x', 'debianx']), { stateDir: '/tmp/x', vm: 'debianx' });
  for (const bad of [[], ['a', 'b'], ['--state-dir'], ['--state-dir', 'rel', 'vm'], ['--state-dir', '/a b', 'vm'], ['VM!'], ['../x'], ['--host=evil', 'vm']]) {
    assert.equal(code(() => parseOpenArgs(bad)), OC_EXIT.usage, JSON.stringify(bad));
  }
});
