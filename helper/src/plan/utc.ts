// Local weekly windows → UTC slots, because the kernel's time matches (nft meta hour/day, xt_time) run on UTC.
import type { TimeWindow } from '../policy/types.js';

const DAY = 24 * 60;
const WEEK = 7 * DAY;

/** A UTC time slot: on these days (0 = Monday), from start to end minutes (end exclusive, ≤ 1440). */
export interface UtcSlot {
  days: number[];
  start: number;
  end: number;
}

/** Converts a local window to UTC slots for the given offset (local − UTC, minutes); null: no restriction. */
export function toUtcSlots(w: TimeWindow, utcOffsetMinutes: number): UtcSlot[] | null {
  const localDays = w.days ? w.days.map((d) => ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(d)) : [0, 1, 2, 3, 4, 5, 6];
  if (localDays.length === 7 && w.start === 0 && w.end === DAY) return null;
  // Cut every shifted interval at UTC midnights, then merge the pieces that share their hours.
  const pieces = new Map<string, UtcSlot>();
  for (const d of localDays) {
    let a = (((d * DAY + w.start - utcOffsetMinutes) % WEEK) + WEEK) % WEEK;
    let remaining = w.end - w.start;
    while (remaining > 0) {
      const day = Math.floor(a / DAY);
      const from = a % DAY;
      const to = Math.min(DAY, from + remaining);
      const key = `${from}-${to}`;
      const slot = pieces.get(key) ?? { days: [], start: from, end: to };
      if (!slot.days.includes(day)) slot.days.push(day);
      pieces.set(key, slot);
      remaining -= to - from;
      a = ((day + 1) % 7) * DAY;
    }
  }
  return [...pieces.values()]
    .map((s) => ({ ...s, days: s.days.sort((x, y) => x - y) }))
    .sort((x, y) => x.start - y.start || x.end - y.end);
}

/** `HH:MM` or `HH:MM:SS` of a minute count, for rule text. */
export function clock(minutes: number, seconds = 0): string {
  const h = String(Math.floor(minutes / 60)).padStart(2, '0');
  const m = String(minutes % 60).padStart(2, '0');
  return seconds ? `${h}:${m}:${String(seconds).padStart(2, '0')}` : `${h}:${m}`;
}

/** The inclusive last second of a slot ending at `end` minutes: rule ranges are inclusive, windows are not. */
export function lastSecond(end: number): string {
  return clock(end - 1, 59);
}
