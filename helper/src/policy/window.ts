// Time windows: parsing `HH:MM-HH:MM`, and whether a moment falls inside a window.
import { DAYS, type Day, type TimeWindow } from './types.js';

const HOURS_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/** Parses `08:00-18:00` into minutes since midnight, or says why it cannot. */
export function parseHours(text: string): { start: number; end: number } | string {
  const m = HOURS_RE.exec(text);
  if (!m) return 'must be HH:MM-HH:MM in 24-hour time, e.g. 08:00-18:00';
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  if (end > 24 * 60) return 'must end at 24:00 at the latest';
  // Windows across midnight are two entitlements; one rule spanning two days is ambiguous about which day counts.
  if (end <= start) return 'must end after it starts (split a window across midnight into two entitlements)';
  return { start, end };
}

/** Day index Monday=0 … Sunday=6 of a JS Date in local time. */
export function localDayIndex(d: Date): number {
  return (d.getDay() + 6) % 7;
}

/** True when `now` (local time) is inside the window. */
export function windowContains(w: TimeWindow, now: Date): boolean {
  const day = DAYS[localDayIndex(now)] as Day;
  if (w.days && !w.days.includes(day)) return false;
  const minute = now.getHours() * 60 + now.getMinutes();
  return minute >= w.start && minute < w.end;
}

/** `Mon,Tue 08:00-18:00` — how a window reads in messages. */
export function describeWindow(w: TimeWindow): string {
  const days = w.days ? w.days.join(',') : 'every day';
  return w.hours ? `${days} ${w.hours}` : days;
}
