// Days, hours and weekly windows, as the policy, the console table and the views spell them; pure and TZ-free: the
// caller says which clock a moment is read on.

/** Day names, Monday first: a day's index is its number in the week (Monday 0 … Sunday 6). */
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
/** One day name. */
export type Day = (typeof DAYS)[number];
/** Minutes in a day; windows end at most here (24:00). */
export const DAY_MINUTES = 24 * 60;

/** A weekly window: on `days` (null: every day) from `start` to `end` minutes after midnight, end exclusive. */
export interface TimeWindow {
  days: Day[] | null;
  start: number;
  end: number;
  /** As written, for views and messages; null: the whole day. */
  hours: string | null;
}

/** A moment as a day of the week (Monday 0) and a minute of that day. */
export interface Clock {
  day: number;
  minute: number;
}

const HOURS_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/** Whether `v` is a day name. */
export function isDay(v: unknown): v is Day {
  return (DAYS as readonly unknown[]).includes(v);
}

/** Parses `08:00-18:00` into minutes since midnight, or says why it cannot. */
export function parseHours(text: string): { start: number; end: number } | string {
  const m = HOURS_RE.exec(text);
  if (!m) return 'must be HH:MM-HH:MM in 24-hour time, e.g. 08:00-18:00';
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  if (end > DAY_MINUTES) return 'must end at 24:00 at the latest';
  // Windows across midnight are two entitlements; one rule spanning two days is ambiguous about which day counts.
  if (end <= start) return 'must end after it starts (split a window across midnight into two entitlements)';
  return { start, end };
}

/** `now` on the machine's local clock (the launcher shows times the way its user reads them). */
export function localClock(now: Date): Clock {
  return { day: (now.getDay() + 6) % 7, minute: now.getHours() * 60 + now.getMinutes() };
}

/** `now` on the policy's clock: UTC plus the offset the firewall's windows were rendered with. Never reads TZ. */
export function policyClock(now: Date, utcOffsetMinutes: number): Clock {
  const t = new Date(now.getTime() + utcOffsetMinutes * 60_000);
  return { day: (t.getUTCDay() + 6) % 7, minute: t.getUTCHours() * 60 + t.getUTCMinutes() };
}

/** Whether the moment is inside the window. */
export function windowContains(w: TimeWindow, clock: Clock): boolean {
  if (w.days && !w.days.includes(DAYS[clock.day] as Day)) return false;
  return clock.minute >= w.start && clock.minute < w.end;
}

/** `Mon,Tue 08:00-18:00` — how a window reads in messages. */
export function describeWindow(w: Pick<TimeWindow, 'days' | 'hours'>): string {
  const days = w.days ? w.days.join(',') : 'every day';
  return w.hours ? `${days} ${w.hours}` : days;
}
