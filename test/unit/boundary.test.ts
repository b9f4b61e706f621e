// The boundary module: the validators refuse what breaks the contract (naming the field), clocks and windows, paths.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BoundaryError, DAYS, describeWindow, isId, isSafePath, localClock, parseTable, policyClock, tablePath, viewPath, windowContains, type ConsoleTable,
} from '../../helper/src/boundary/index.js';

const table = (): ConsoleTable => ({
  version: 2,
  viewer: { path: '/usr/bin/remote-viewer', gid: 990 },
  utcOffsetMinutes: 60,
  vms: {
    debianx: {
      title: 'Books', server: 's', host: 'h', tlsPort: 20002, ca: '', hostSubject: 'CN=h',
      grants: [{ uid: 1000, window: null }, { uid: 1001, window: { days: ['Mon'], start: 480, end: 1080, hours: '08:00-18:00' } }],
    },
  },
});

test('parseTable keeps a valid table as it is and refuses a broken one, naming the field', () => {
  assert.deepEqual(parseTable(table()), table());
  const broken: [string, (t: ConsoleTable) => void, RegExp][] = [
    ['version', (t) => (t.version = 1 as never), /`version` to be 2/],
    ['viewer path', (t) => (t.viewer.path = '/usr/bin/../bin/sh'), /`viewer.path`/],
    ['vm id', (t) => (t.vms['Bad Id'] = t.vms.debianx!), /VM id/],
    ['port', (t) => (t.vms.debianx!.tlsPort = 0), /`vms.debianx.tlsPort`/],
    ['uid', (t) => (t.vms.debianx!.grants[0]!.uid = -1), /grants\[0\]\.uid/],
    ['window order', (t) => (t.vms.debianx!.grants[1]!.window!.end = 480), /window\.end/],
    ['day', (t) => (t.vms.debianx!.grants[1]!.window!.days = ['Monday'] as never), /window\.days/],
    ['offset', (t) => (t.utcOffsetMinutes = 1e6), /utcOffsetMinutes/],
  ];
  for (const [what, change, says] of broken) {
    const t = table();
    change(t);
    assert.throws(() => parseTable(t), (e: unknown) => e instanceof BoundaryError && says.test(e.message), what);
  }
});

test('days start on Monday on the local clock and on the policy clock', () => {
  assert.deepEqual(DAYS, ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
  // 2026-11-29 is a Sunday.
  const sunday = new Date(2026, 10, 29, 23, 30);
  assert.deepEqual(localClock(sunday), { day: 6, minute: 23 * 60 + 30 });
  assert.deepEqual(policyClock(new Date(Date.UTC(2026, 10, 29, 23, 30)), 60), { day: 0, minute: 30 });
});

test('windowContains: days and the end-exclusive range; describeWindow reads like the policy', () => {
  const w = { days: ['Mon' as const], start: 480, end: 1080, hours: '08:00-18:00' };
  assert.equal(windowContains(w, { day: 0, minute: 480 }), true);
  assert.equal(windowContains(w, { day: 0, minute: 1080 }), false);
  assert.equal(windowContains(w, { day: 1, minute: 600 }), false);
  assert.equal(windowContains({ days: null, start: 0, end: 1440, hours: null }, { day: 6, minute: 1439 }), true);
  assert.equal(describeWindow(w), 'Mon 08:00-18:00');
  assert.equal(describeWindow({ days: null, hours: null }), 'every day');
});

test('ids, paths, and where the table and views sit', () => {
  assert.equal(isId('a'.repeat(63)), true);
  assert.equal(isId('a'.repeat(64)), false);
  assert.equal(isSafePath('/var/lib/consolegate'), true);
  assert.equal(isSafePath('/var/lib/../etc'), false);
  assert.equal(tablePath('/var/lib/consolegate/'), '/var/lib/consolegate/console-table.json');
  assert.equal(viewPath('/srv/cg', 1001), '/srv/cg/views/1001.json');
});
