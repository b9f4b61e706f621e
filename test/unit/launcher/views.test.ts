// The view service: availability from time windows (pure), validation, the empty-list reasons, and watching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DAYS, parseHours, parseView, viewPath, type Day } from '../../../helper/src/boundary/index.js';
import { availability, describeWindows } from '../../../electron/services/availability.js';
import { watchView } from '../../../electron/services/view-watch.js';
import { loadView, type ViewSnapshot } from '../../../electron/services/views.js';

// A local time in the week of Monday 2026-01-05, so `at('Mon', '10:00')` is a Monday at 10:00 local time.
function at(day: Day, time: string): Date {
  const [h, m] = time.split(':').map(Number);
  return new Date(2026, 0, 5 + DAYS.indexOf(day), h, m);
}

const vm = (over: Record<string, unknown> = {}) => ({
  id: 'debianx', title: 'Book-keeping', server: 'mysrv', host: 'mysrv.example.org', tlsPort: 20002, windows: null,
  command: ['sudo', '-n', '-u', 'alice', '-g', 'spicegrp', '/usr/libexec/consolegate/open-console', 'debianx'], ...over,
});
const viewJson = (vms: unknown[]) => ({ version: 1, user: 'alice', uid: 1001, viewerGroup: 'spicegrp', vms });

test('availability: null windows means always available', () => {
  const a = availability(null, at('Wed', '03:00'));
  assert.deepEqual(a, { now: true, label: 'Available now', closes: null });
});

test('availability: inside an hours window says until when', () => {
  const a = availability([{ days: ['Mon', 'Tue'], hours: '08:00-18:00' }], at('Mon', '10:00'));
  assert.equal(a.now, true);
  assert.equal(a.label, 'Available now · until 18:00');
});

test('availability: consecutive whole days merge, so the window closes at the last day\'s midnight', () => {
  const a = availability([{ days: ['Mon', 'Tue'] }], at('Mon', '10:00'));
  assert.equal(a.label, 'Available now · until Wed 00:00');
  assert.equal(availability([{ days: ['Mon'] }], at('Mon', '10:00')).label, 'Available now · until midnight');
});

test('availability: before the window opens today', () => {
  const a = availability([{ days: ['Mon'], hours: '08:00-18:00' }], at('Mon', '07:59'));
  assert.deepEqual(a, { now: false, label: 'Opens today 08:00', opens: { day: 'Mon', time: '08:00' } });
});

test('availability: end is exclusive and the next opening may be tomorrow or days away', () => {
  assert.equal(availability([{ hours: '08:00-18:00' }], at('Mon', '18:00')).label, 'Opens tomorrow 08:00');
  assert.equal(availability([{ days: ['Mon'], hours: '08:00-18:00' }], at('Mon', '18:00')).label, 'Opens Mon 08:00');
  assert.equal(availability([{ days: ['Wed', 'Thu'], hours: '08:00-18:00' }], at('Fri', '09:00')).label, 'Opens Wed 08:00');
});

test('availability: any matching window makes it available (DESIGN: "any window matches")', () => {
  const windows = [{ days: ['Mon' as Day], hours: '08:00-10:00' }, { days: ['Fri' as Day] }];
  assert.equal(availability(windows, at('Fri', '23:00')).now, true);
  assert.equal(availability(windows, at('Mon', '11:00')).label, 'Opens Fri 00:00');
});

test('availability: a window across the week boundary is one stretch, whichever day the week starts on', () => {
  const a = availability([{ days: ['Sat', 'Sun'] }], at('Sat', '12:00'));
  assert.equal(a.now, true);
  assert.equal(a.label, 'Available now · until Mon 00:00');
  const b = availability([{ days: ['Sun', 'Mon'] }], at('Sun', '12:00'));
  assert.deepEqual(b, { now: true, label: 'Available now · until Tue 00:00', closes: { day: 'Tue', time: '00:00' } });
  assert.equal(availability([{ days: ['Sun', 'Mon'] }], at('Sat', '23:00')).label, 'Opens tomorrow 00:00');
});

test('availability: every day, all day is simply available; an empty list never is', () => {
  assert.deepEqual(availability([{}], at('Thu', '12:00')), { now: true, label: 'Available now', closes: null });
  assert.deepEqual(availability([], at('Thu', '12:00')), { now: false, label: 'Not available at any time', opens: null });
});

test('parseHours accepts 24:00 as an end and rejects backwards or malformed ranges', () => {
  assert.deepEqual(parseHours('18:00-24:00'), { start: 1080, end: 1440 });
  assert.match(parseHours('18:00-08:00') as string, /end after it starts/);
  assert.match(parseHours('8:00-18:00') as string, /HH:MM-HH:MM/);
  assert.match(parseHours('24:00-24:00') as string, /HH:MM-HH:MM/);
  assert.match(parseHours('08:00-24:30') as string, /24:00 at the latest/);
  assert.throws(() => parseView(viewJson([vm({ windows: [{ hours: '18:00-08:00' }] })])), /`vms\[0\]\.windows\[0\]\.hours`.*end after it starts/);
});

test('describeWindows summarises for people', () => {
  assert.equal(describeWindows(null), 'Any time');
  assert.equal(describeWindows([{ days: ['Mon', 'Tue'], hours: '08:00-18:00' }, { days: ['Sat'] }]), 'Mon, Tue 08:00–18:00; Sat');
  assert.equal(describeWindows([{ hours: '09:00-17:00' }]), 'Every day 09:00–17:00');
  assert.equal(describeWindows([{ hours: '00:00-24:00' }]), 'Any time');
  assert.equal(describeWindows([{ days: ['Sun'], hours: '00:00-24:00' }]), 'Sun');
});

test('parseView names the bad value', () => {
  assert.throws(() => parseView(viewJson([vm({ tlsPort: 70000 })])), /`vms\[0\]\.tlsPort` to be an integer 1-65535, got `70000`/);
  assert.throws(() => parseView(viewJson([vm({ id: 'Bad Id' })])), /`vms\[0\]\.id`/);
  assert.throws(() => parseView(viewJson([vm({ windows: [{ days: ['Monday'] }] })])), /days/);
  assert.throws(() => parseView(viewJson([vm({ command: [] })])), /command/);
  assert.throws(() => parseView({ ...viewJson([]), version: 2 }), /`version` to be 1/);
  assert.equal(parseView(viewJson([vm({ title: undefined })])).vms[0]?.title, 'debianx');
});

async function tempState(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'cg-views-'));
}

test('loadView: no views directory means no policy was applied here', async () => {
  const dir = await tempState();
  const { snapshot } = await loadView({ stateDir: dir, uid: 1001 });
  assert.equal(snapshot.status, 'no-policy');
  await rm(dir, { recursive: true });
});

test('loadView: views directory without my file, or with an empty list, means nothing is assigned to me', async () => {
  const dir = await tempState();
  await mkdir(path.join(dir, 'views'));
  assert.equal((await loadView({ stateDir: dir, uid: 1001 })).snapshot.status, 'no-vms');
  await writeFile(viewPath(dir, 1001), JSON.stringify(viewJson([])));
  assert.deepEqual((await loadView({ stateDir: dir, uid: 1001 })).snapshot, { status: 'no-vms', path: viewPath(dir, 1001), user: 'alice' });
  await rm(dir, { recursive: true });
});

test('loadView: a broken file is reported as unreadable with the reason, and a good one lists entries', async () => {
  const dir = await tempState();
  await mkdir(path.join(dir, 'views'));
  await writeFile(viewPath(dir, 1001), '{ not json');
  const bad = (await loadView({ stateDir: dir, uid: 1001 })).snapshot;
  assert.equal(bad.status, 'unreadable');
  await writeFile(viewPath(dir, 1001), JSON.stringify(viewJson([vm({ windows: [{ days: ['Mon'], hours: '08:00-18:00' }] })])));
  const { snapshot, view } = await loadView({ stateDir: dir, uid: 1001, now: () => at('Mon', '09:00') });
  assert.equal(view?.vms[0]?.command.at(-1), 'debianx');
  assert.deepEqual(snapshot, {
    status: 'ok', user: 'alice',
    vms: [{ id: 'debianx', title: 'Book-keeping', server: 'mysrv', host: 'mysrv.example.org', tlsPort: 20002, schedule: 'Mon 08:00–18:00', availability: { now: true, label: 'Available now · until 18:00', closes: { day: 'Mon', time: '18:00' } } }],
  });
  // The UI never sees the command: main alone decides what runs.
  assert.equal(JSON.stringify(snapshot).includes('open-console'), false);
  await rm(dir, { recursive: true });
});

test('watchView follows a view that appears and is then replaced by rename, as apply does', async () => {
  const dir = await tempState();
  const seen: ViewSnapshot[] = [];
  const stop = watchView({ stateDir: dir, uid: 1001, pollMs: 100 }, (s) => seen.push(s));
  const until = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 30));
    assert.ok(pred(), `timed out; saw ${JSON.stringify(seen.map((s) => s.status))}`);
  };
  await until(() => seen.at(-1)?.status === 'no-policy');
  await mkdir(path.join(dir, 'views'));
  const tmp = path.join(dir, 'views', '.tmp');
  await writeFile(tmp, JSON.stringify(viewJson([vm()])));
  await rename(tmp, viewPath(dir, 1001));
  await until(() => seen.at(-1)?.status === 'ok');
  await writeFile(tmp, JSON.stringify(viewJson([vm(), vm({ id: 'leaptest', title: 'Leap' })])));
  await rename(tmp, viewPath(dir, 1001));
  await until(() => { const s = seen.at(-1); return s?.status === 'ok' && s.vms.length === 2; });
  stop();
  await rm(dir, { recursive: true });
});

test('watchView follows a whole views directory renamed over an empty one (a first apply), by inotify alone', async () => {
  const dir = await tempState();
  await mkdir(path.join(dir, 'views'));
  const seen: ViewSnapshot[] = [];
  // No poll within the test: every snapshot after the first comes from a watch event.
  const stop = watchView({ stateDir: dir, uid: 1001, pollMs: 600_000 }, (s) => seen.push(s));
  const until = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 30));
    assert.ok(pred(), `timed out; saw ${JSON.stringify(seen.map((s) => s.status))}`);
  };
  try {
    await until(() => seen.length === 1);
    const staged = path.join(dir, '.views.staged');
    await mkdir(staged);
    await writeFile(path.join(staged, '1001.json'), JSON.stringify(viewJson([vm()])));
    await rename(staged, path.join(dir, 'views'));
    await until(() => seen.at(-1)?.status === 'ok');
    // The next change lands in the new directory: seen only if the watch moved there.
    const tmp = path.join(dir, 'views', '.tmp');
    await writeFile(tmp, JSON.stringify(viewJson([vm(), vm({ id: 'leaptest', title: 'Leap' })])));
    await rename(tmp, viewPath(dir, 1001));
    await until(() => { const s = seen.at(-1); return s?.status === 'ok' && s.vms.length === 2; });
  } finally {
    stop();
    await rm(dir, { recursive: true });
  }
});
