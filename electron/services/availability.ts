// When a VM in the user's view can be opened, relative to a moment on the local clock, in words a person reads. Pure.
import { DAYS, DAY_MINUTES, localClock, parseHours, type Day, type ViewFile, type ViewWindow } from '../../helper/src/boundary/index.js';

/** When a VM can be opened, relative to a given moment. */
export type Availability =
  | { now: true; label: string; closes: { day: Day; time: string } | null }
  | { now: false; label: string; opens: { day: Day; time: string } | null };

/** A VM as the launcher shows it: the view's data plus availability, minus the command (main keeps that). */
export interface VmEntry {
  id: string;
  title: string;
  server: string;
  host: string;
  tlsPort: number;
  schedule: string;
  availability: Availability;
}

const WEEK = 7 * DAY_MINUTES;

// The view's `hours` were validated by parseView; a whole day when absent.
function minutes(w: ViewWindow): { start: number; end: number } {
  const parsed = w.hours === undefined ? null : parseHours(w.hours);
  return parsed === null || typeof parsed === 'string' ? { start: 0, end: DAY_MINUTES } : parsed;
}

// Windows as merged [start, end) intervals in minutes of the week (Monday 00:00 = 0), in local time.
function weekIntervals(windows: ViewWindow[]): Array<[number, number]> {
  const raw: Array<[number, number]> = [];
  for (const w of windows) {
    const { start, end } = minutes(w);
    for (const d of w.days ?? DAYS) raw.push([DAYS.indexOf(d) * DAY_MINUTES + start, DAYS.indexOf(d) * DAY_MINUTES + end]);
  }
  raw.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const iv of raw) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  // Sunday running to midnight continues into a window starting Monday 00:00.
  const first = merged[0];
  const last = merged[merged.length - 1];
  if (merged.length > 1 && first && last && first[0] === 0 && last[1] === WEEK) {
    merged.shift();
    last[1] = WEEK + first[1];
  }
  return merged;
}

function at(minuteOfWeek: number): { day: Day; time: string } {
  const m = ((minuteOfWeek % WEEK) + WEEK) % WEEK;
  const day = DAYS[Math.floor(m / DAY_MINUTES)] as Day;
  const mins = m % DAY_MINUTES;
  return { day, time: `${String(Math.floor(mins / 60)).padStart(2, '0')}:${String(mins % 60).padStart(2, '0')}` };
}

// "today 08:00", "tomorrow 08:00" or "Mon 08:00", counted from `from` in calendar days; "until" reads
// better as "until 18:00" / "until midnight".
function when(from: number, target: number, phrase: 'opens' | 'until'): string {
  const bare = phrase === 'until';
  const { day, time } = at(target);
  const daysAhead = Math.floor(target / DAY_MINUTES) - Math.floor(from / DAY_MINUTES);
  if (daysAhead === 0) return bare ? time : `today ${time}`;
  if (daysAhead === 1) return bare && time === '00:00' ? 'midnight' : `tomorrow ${time}`;
  return `${day} ${time}`;
}

/** Whether a VM with these windows is available at `now` (local time), and when that changes. */
export function availability(windows: ViewWindow[] | null, now: Date): Availability {
  if (windows === null) return { now: true, label: 'Available now', closes: null };
  const clock = localClock(now);
  const nowMin = clock.day * DAY_MINUTES + clock.minute;
  const ivs = weekIntervals(windows);
  if (ivs.length === 0) return { now: false, label: 'Not available at any time', opens: null };
  if (ivs.length === 1 && ivs[0] && ivs[0][0] === 0 && ivs[0][1] >= WEEK) return { now: true, label: 'Available now', closes: null };
  for (const [s, e] of ivs) {
    // An interval may wrap past the end of the week; test now and now + one week.
    for (const t of [nowMin, nowMin + WEEK]) {
      if (t >= s && t < e) return { now: true, label: `Available now · until ${when(t, e, 'until')}`, closes: at(e) };
    }
  }
  let best = Infinity;
  for (const [s] of ivs) best = Math.min(best, (s - nowMin + WEEK) % WEEK);
  const opensAt = nowMin + best;
  return { now: false, label: `Opens ${when(nowMin, opensAt, 'opens')}`, opens: at(opensAt) };
}

/** A short human summary of the windows, e.g. "Mon, Tue 08:00–18:00"; "Any time" when unrestricted. */
export function describeWindows(windows: ViewWindow[] | null): string {
  if (windows === null) return 'Any time';
  if (windows.length === 0) return 'Never';
  return windows
    .map((w) => {
      const days = w.days === undefined || w.days.length === 7 ? 'Every day' : w.days.join(', ');
      const allDay = w.hours === undefined || w.hours === '00:00-24:00';
      if (allDay && days === 'Every day') return 'Any time';
      return allDay || w.hours === undefined ? days : `${days} ${w.hours.replace('-', '–')}`;
    })
    .join('; ');
}

/** Turns a validated view into what the UI shows at `now`. */
export function toEntries(view: ViewFile, now: Date): VmEntry[] {
  return view.vms.map((vm) => ({
    id: vm.id,
    title: vm.title,
    server: vm.server,
    host: vm.host,
    tlsPort: vm.tlsPort,
    schedule: describeWindows(vm.windows),
    availability: availability(vm.windows, now),
  }));
}
