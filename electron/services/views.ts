// The logged-in user's view (<stateDir>/views/<uid>.json): read, validate, watch, and say when each VM is available.
// Plain Node, no Electron: the main process and the UI tests use this same module.
import { readFile, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/** Default state directory; CONSOLEGATE_STATE_DIR overrides it (docs/interfaces.md). */
export const DEFAULT_STATE_DIR = '/var/lib/consolegate';

/** Day names as the policy and the view spell them, indexed like Date#getDay() (Sunday = 0). */
export const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Day = (typeof DAYS)[number];

/** One time window: no `days` = every day, no `hours` = the whole day. */
export interface TimeWindow {
  days?: Day[];
  hours?: string;
}

/** One VM as apply writes it into the view. */
export interface ViewVm {
  id: string;
  title: string;
  server: string;
  host: string;
  tlsPort: number;
  windows: TimeWindow[] | null;
  command: string[];
}

/** The whole view file, version 1. */
export interface ViewFile {
  version: 1;
  user: string;
  uid: number;
  generatedAt: string;
  viewerGroup: string;
  vms: ViewVm[];
}

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

/** What the launcher knows about the view right now; the status explains an empty list. */
export type ViewSnapshot =
  | { status: 'ok'; user: string; vms: VmEntry[] }
  | { status: 'no-policy'; path: string }
  | { status: 'no-vms'; path: string; user: string | null }
  | { status: 'unreadable'; path: string; message: string };

/** A view file that breaks the contract; the message names the bad value. */
export class ViewError extends Error {
  override name = 'ViewError';
}

const VM_ID = /^[a-z0-9][a-z0-9_-]*$/;
const HOURS = /^(?:([01]\d|2[0-3]):([0-5]\d))-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const WEEK = 7 * 1440;

/** Resolves the state directory from the environment, as the helper does. */
export function stateDirFrom(env: NodeJS.ProcessEnv): string {
  const v = env.CONSOLEGATE_STATE_DIR;
  return v !== undefined && v !== '' ? path.resolve(v) : DEFAULT_STATE_DIR;
}

/** Path of a user's view inside the state directory. */
export function viewPath(stateDir: string, uid: number): string {
  return path.join(stateDir, 'views', `${uid}.json`);
}

/** Parses "HH:MM-HH:MM" into minutes since midnight; throws on anything else. */
export function parseHours(hours: string): { start: number; end: number } {
  const m = HOURS.exec(hours);
  if (!m) throw new ViewError(`Expected \`hours\` like "08:00-18:00", got \`${hours}\``);
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = m[5] === '24' ? 1440 : Number(m[3]) * 60 + Number(m[4]);
  if (end <= start) throw new ViewError(`Expected \`hours\` to end after it starts, got \`${hours}\``);
  return { start, end };
}

/** Validates parsed JSON against the view contract (docs/interfaces.md) and returns it typed. */
export function parseView(data: unknown): ViewFile {
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ViewError(`Expected ${what} to be an object`);
    return v as Record<string, unknown>;
  };
  const str = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || v === '') throw new ViewError(`Expected \`${what}\` to be a non-empty string, got \`${JSON.stringify(v)}\``);
    return v;
  };
  const top = obj(data, 'the view');
  if (top.version !== 1) throw new ViewError(`Expected \`version\` to be 1, got \`${JSON.stringify(top.version)}\``);
  if (!Number.isInteger(top.uid) || (top.uid as number) < 0) throw new ViewError(`Expected \`uid\` to be a non-negative integer, got \`${JSON.stringify(top.uid)}\``);
  if (!Array.isArray(top.vms)) throw new ViewError('Expected `vms` to be an array');
  const vms = top.vms.map((raw, i): ViewVm => {
    const v = obj(raw, `vms[${i}]`);
    const id = str(v.id, `vms[${i}].id`);
    if (!VM_ID.test(id)) throw new ViewError(`Expected \`vms[${i}].id\` to match ${VM_ID}, got \`${id}\``);
    const tlsPort = v.tlsPort;
    if (!Number.isInteger(tlsPort) || (tlsPort as number) < 1 || (tlsPort as number) > 65535) {
      throw new ViewError(`Expected \`vms[${i}].tlsPort\` to be 1-65535, got \`${JSON.stringify(tlsPort)}\``);
    }
    if (!Array.isArray(v.command) || v.command.length === 0 || !v.command.every((a) => typeof a === 'string' && a !== '')) {
      throw new ViewError(`Expected \`vms[${i}].command\` to be a non-empty array of strings`);
    }
    let windows: TimeWindow[] | null = null;
    if (v.windows !== null && v.windows !== undefined) {
      if (!Array.isArray(v.windows)) throw new ViewError(`Expected \`vms[${i}].windows\` to be null or an array`);
      windows = v.windows.map((w, j) => {
        const win = obj(w, `vms[${i}].windows[${j}]`);
        const out: TimeWindow = {};
        if (win.days !== undefined) {
          if (!Array.isArray(win.days) || !win.days.every((d) => (DAYS as readonly unknown[]).includes(d))) {
            throw new ViewError(`Expected \`vms[${i}].windows[${j}].days\` to list day names like "Mon", got \`${JSON.stringify(win.days)}\``);
          }
          out.days = win.days as Day[];
        }
        if (win.hours !== undefined) {
          parseHours(str(win.hours, `vms[${i}].windows[${j}].hours`));
          out.hours = win.hours as string;
        }
        return out;
      });
    }
    // A missing title falls back to the id so every row has a name a person can read.
    const title = typeof v.title === 'string' && v.title !== '' ? v.title : id;
    return { id, title, server: str(v.server, `vms[${i}].server`), host: str(v.host, `vms[${i}].host`), tlsPort: tlsPort as number, windows, command: v.command as string[] };
  });
  return {
    version: 1,
    user: str(top.user, 'user'),
    uid: top.uid as number,
    generatedAt: typeof top.generatedAt === 'string' ? top.generatedAt : '',
    viewerGroup: str(top.viewerGroup, 'viewerGroup'),
    vms,
  };
}

// Windows as merged [start, end) intervals in minutes of the week (Sunday 00:00 = 0), in local time.
function weekIntervals(windows: TimeWindow[]): Array<[number, number]> {
  const raw: Array<[number, number]> = [];
  for (const w of windows) {
    const { start, end } = w.hours !== undefined ? parseHours(w.hours) : { start: 0, end: 1440 };
    const days = w.days ?? DAYS;
    for (const d of days) raw.push([DAYS.indexOf(d) * 1440 + start, DAYS.indexOf(d) * 1440 + end]);
  }
  raw.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const iv of raw) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  // Saturday running to midnight continues into a window starting Sunday 00:00.
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
  const day = DAYS[Math.floor(m / 1440)] as Day;
  const mins = m % 1440;
  return { day, time: `${String(Math.floor(mins / 60)).padStart(2, '0')}:${String(mins % 60).padStart(2, '0')}` };
}

// "today 08:00", "tomorrow 08:00" or "Mon 08:00", counted from `from` in calendar days; "until" reads
// better as "until 18:00" / "until midnight".
function when(from: number, target: number, phrase: 'opens' | 'until'): string {
  const bare = phrase === 'until';
  const { day, time } = at(target);
  const daysAhead = Math.floor(target / 1440) - Math.floor(from / 1440);
  if (daysAhead === 0) return bare ? time : `today ${time}`;
  if (daysAhead === 1) return bare && time === '00:00' ? 'midnight' : `tomorrow ${time}`;
  return `${day} ${time}`;
}

/** Whether a VM with these windows is available at `now` (local time), and when that changes. Pure. */
export function availability(windows: TimeWindow[] | null, now: Date): Availability {
  if (windows === null) return { now: true, label: 'Available now', closes: null };
  const nowMin = now.getDay() * 1440 + now.getHours() * 60 + now.getMinutes();
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
export function describeWindows(windows: TimeWindow[] | null): string {
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

/** Turns a validated view into what the UI shows at `now`. Pure. */
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

/** Where to look and what time it is; both injectable so tests control them. */
export interface ViewSource {
  stateDir: string;
  uid: number;
  now?: () => Date;
}

/** Reads the view once: the validated file (for main's own use) and the snapshot the UI shows. Never throws. */
export async function loadView(src: ViewSource): Promise<{ view: ViewFile | null; snapshot: ViewSnapshot }> {
  const file = viewPath(src.stateDir, src.uid);
  const now = (src.now ?? (() => new Date()))();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return { view: null, snapshot: { status: 'unreadable', path: file, message: (err as Error).message } };
    }
    // No views directory at all: apply has never run here. A views directory without our file: nothing for us.
    const applied = await stat(path.dirname(file)).then((s) => s.isDirectory(), () => false);
    return { view: null, snapshot: applied ? { status: 'no-vms', path: file, user: null } : { status: 'no-policy', path: file } };
  }
  try {
    const view = parseView(JSON.parse(text));
    if (view.vms.length === 0) return { view, snapshot: { status: 'no-vms', path: file, user: view.user } };
    return { view, snapshot: { status: 'ok', user: view.user, vms: toEntries(view, now) } };
  } catch (err) {
    return { view: null, snapshot: { status: 'unreadable', path: file, message: (err as Error).message } };
  }
}

/** Options for watchView; pollMs also catches time windows opening and closing. */
export interface WatchOptions extends ViewSource {
  pollMs?: number;
}

/** Calls onChange with each new snapshot when the file or the availability changes; returns stop(). */
export function watchView(opts: WatchOptions, onChange: (snapshot: ViewSnapshot, view: ViewFile | null) => void): () => void {
  let last = '';
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const check = (): void => {
    // Serialise checks so a slow read never reports an older snapshot after a newer one.
    running = running.then(async () => {
      if (stopped) return;
      const { view, snapshot } = await loadView(opts);
      const key = JSON.stringify(snapshot);
      if (key !== last && !stopped) {
        last = key;
        onChange(snapshot, view);
      }
    });
  };
  // apply replaces the file by rename, so watch the directory, not the file; the poll covers a directory that
  // appears later, filesystems without inotify, and windows opening with the clock.
  let watcher: FSWatcher | null = null;
  const tryWatch = (): void => {
    if (watcher) return;
    try {
      watcher = watch(path.dirname(viewPath(opts.stateDir, opts.uid)), () => check());
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
      });
    } catch {
      watcher = null;
    }
  };
  tryWatch();
  const timer = setInterval(() => {
    tryWatch();
    check();
  }, opts.pollMs ?? 5000);
  timer.unref();
  check();
  return () => {
    stopped = true;
    clearInterval(timer);
    watcher?.close();
  };
}
