// Local windows → UTC slots: the kernel matches UTC, the policy speaks local time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toUtcSlots } from '../../helper/src/plan/utc.js';
import type { TimeWindow } from '../../helper/src/policy/types.js';

const w = (days: TimeWindow['days'], start: number, end: number): TimeWindow => ({ days, start, end, hours: null });

test('UTC stays as it is', () => {
  assert.deepEqual(toUtcSlots(w(['Mon'], 480, 1080), 0), [{ days: [0], start: 480, end: 1080 }]);
});
test('a whole week is no restriction at all', () => {
  assert.equal(toUtcSlots(w(null, 0, 1440), 120), null);
});
test('west of UTC a late window spills into the next UTC day, Sunday wraps to Monday', () => {
  // Sun 20:00-24:00 at UTC-5 is Mon 01:00-05:00 UTC.
  assert.deepEqual(toUtcSlots(w(['Sun'], 1200, 1440), -300), [{ days: [0], start: 60, end: 300 }]);
  // Fri 22:00-24:00 at UTC-3 is Sat 01:00-03:00 UTC.
  assert.deepEqual(toUtcSlots(w(['Fri'], 1320, 1440), -180), [{ days: [5], start: 60, end: 180 }]);
});
test('a window cut by UTC midnight becomes two slots with shifted days', () => {
  // Mon 00:00-02:00 at UTC+1 is Sun 23:00-24:00 and Mon 00:00-01:00 UTC.
  assert.deepEqual(toUtcSlots(w(['Mon'], 0, 120), 60), [
    { days: [0], start: 0, end: 60 },
    { days: [6], start: 1380, end: 1440 },
  ]);
});
test('every day with hours keeps all seven days', () => {
  assert.deepEqual(toUtcSlots(w(null, 480, 1080), 60), [{ days: [0, 1, 2, 3, 4, 5, 6], start: 420, end: 1020 }]);
});
test('total minutes are preserved for every offset', () => {
  for (let off = -720; off <= 840; off += 15) {
    const slots = toUtcSlots(w(['Tue', 'Sat'], 450, 1410), off)!;
    const total = slots.reduce((n, s) => n + s.days.length * (s.end - s.start), 0);
    assert.equal(total, 2 * 960, `offset ${off}`);
  }
});
