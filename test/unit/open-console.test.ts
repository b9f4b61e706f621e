// open-console's decision: who (from SUDO_UID, as root), which VM, and when (on the policy's clock, never the
// caller's TZ); its arguments accept nothing else and the viewer's environment comes from an allow-list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OC_EXIT, callerUid, decide, parseOpenArgs, policyClock, viewerEnv } from '../../helper/src/open-console.js';
import type { ConsoleTable } from '../../helper/src/plan/views.js';

const table: ConsoleTable = {
  version: 2,
  viewer: { path: '/usr/bin/remote-viewer', gid: 990 },
  utcOffsetMinutes: 0,
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
// 2026-11-23 is a Monday; these are UTC moments.
const monday10 = new Date(Date.UTC(2026, 10, 23, 10, 0));
const monday19 = new Date(Date.UTC(2026, 10, 23, 19, 0));
const wednesday10 = new Date(Date.UTC(2026, 10, 25, 10, 0));

test('the entitled user may open, at any time when there is no window', () => {
  assert.equal(decide(table, 'debianx', 1000, monday19).tlsPort, 20002);
});
test('another user or an unknown VM is refused with its own exit code', () => {
  assert.equal(code(() => decide(table, 'debianx', 1001, monday10)), OC_EXIT.notEntitled);
  assert.equal(code(() => decide(table, 'nope', 1000, monday10)), OC_EXIT.notEntitled);
  assert.equal(code(() => decide(table, '__proto__', 1000, monday10)), OC_EXIT.notEntitled);
});
test('time windows are checked on the policy clock (UTC plus the table offset)', () => {
  assert.equal(code(() => decide(table, 'leaptest', 1001, monday10)), 0);
  assert.equal(code(() => decide(table, 'leaptest', 1001, monday19)), OC_EXIT.outsideWindow);
  assert.equal(code(() => decide(table, 'leaptest', 1001, wednesday10)), OC_EXIT.outsideWindow);
  // At UTC+10, 19:00 UTC Monday is 05:00 Tuesday: before the window; 23:00 UTC Monday is 09:00 Tuesday: inside.
  const east = { ...table, utcOffsetMinutes: 600 };
  assert.equal(code(() => decide(east, 'leaptest', 1001, monday19)), OC_EXIT.outsideWindow);
  assert.equal(code(() => decide(east, 'leaptest', 1001, new Date(Date.UTC(2026, 10, 23, 23, 0)))), 0);
  assert.deepEqual(policyClock(new Date(Date.UTC(2026, 10, 23, 23, 30)), -60), { day: 0, minute: 22 * 60 + 30 });
});
test('issue 11: the caller\'s TZ does not move the window (the decision never reads local time)', () => {
  const saved = process.env.TZ;
  try {
    process.env.TZ = 'UTC-14';
    assert.equal(code(() => decide(table, 'leaptest', 1001, monday19)), OC_EXIT.outsideWindow);
    assert.equal(code(() => decide(table, 'leaptest', 1001, monday10)), 0);
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});
test('the caller comes from SUDO_UID, and only when running as root through sudo', () => {
  assert.equal(callerUid({ SUDO_UID: '1000' }, { uid: 0, euid: 0 }), 1000);
  for (const [env, ids] of [
    [{}, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '0' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '1000x' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '-1' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '01000' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '4294967295' }, { uid: 0, euid: 0 }],
    [{ SUDO_UID: '1000' }, { uid: 1000, euid: 1000 }],
    [{ SUDO_UID: '1000' }, { uid: 1000, euid: 0 }],
  ] as const) {
    assert.equal(code(() => callerUid(env, ids)), OC_EXIT.identity, JSON.stringify([env, ids]));
  }
});
test('the viewer\'s environment: display, runtime dir and locale from the caller; identity from passwd; nothing else', () => {
  const env = viewerEnv(
    { DISPLAY: ':1', XAUTHORITY: '/x', WAYLAND_DISPLAY: 'w', XDG_RUNTIME_DIR: '/run/user/1000', LANG: 'de_DE.UTF-8', LC_TIME: 'C', TZ: 'UTC-14', LD_PRELOAD: '/evil.so', GTK_MODULES: 'evil', HOME: '/root', SUDO_UID: '1000', PATH: '/home/x/bin' },
    { name: 'alice@corp.example.com', home: '/home/alice', shell: '/bin/bash' },
  );
  assert.deepEqual(env, {
    PATH: '/usr/local/bin:/usr/bin:/bin', DISPLAY: ':1', XAUTHORITY: '/x', WAYLAND_DISPLAY: 'w', XDG_RUNTIME_DIR: '/run/user/1000', LANG: 'de_DE.UTF-8', LC_TIME: 'C',
    HOME: '/home/alice', USER: 'alice@corp.example.com', LOGNAME: 'alice@corp.example.com', SHELL: '/bin/bash',
  });
  assert.deepEqual(viewerEnv({ DISPLAY: ':1' }, null), { PATH: '/usr/local/bin:/usr/bin:/bin', DISPLAY: ':1' });
});
test('arguments: VM, or --state-dir DIR VM; nothing else', () => {
  assert.deepEqual(parseOpenArgs(['debianx']), { stateDir: '/var/lib/consolegate', vm: 'debianx' });
  assert.deepEqual(parseOpenArgs(['--state-dir', '/tmp/x', 'debianx']), { stateDir: '/tmp/x', vm: 'debianx' });
  for (const bad of [[], ['a', 'b'], ['--state-dir'], ['--state-dir', 'rel', 'vm'], ['--state-dir', '/a b', 'vm'], ['VM!'], ['../x'], ['--host=evil', 'vm']]) {
    assert.equal(code(() => parseOpenArgs(bad)), OC_EXIT.usage, JSON.stringify(bad));
  }
});
