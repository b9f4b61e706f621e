// A user's view, `<stateDir>/views/<uid>.json`: written by apply (plan/views.ts), read by the launcher.
import { array, BoundaryError, integer, matching, object, string } from './check.js';
import { isId } from './names.js';
import { isDay, parseHours, type Day } from './time.js';

/** A window as the view writes it: no `days` = every day, no `hours` = the whole day. */
export interface ViewWindow {
  days?: Day[];
  hours?: string;
}

/** One VM the user may open; `command` is what the launcher runs (sudo … open-console VM). */
export interface ViewVm {
  id: string;
  title: string;
  server: string;
  host: string;
  tlsPort: number;
  /** null: always available. */
  windows: ViewWindow[] | null;
  command: string[];
}

/** The whole view file, version 1. */
export interface ViewFile {
  version: 1;
  user: string;
  uid: number;
  viewerGroup: string;
  vms: ViewVm[];
}

function viewWindow(raw: unknown, what: string): ViewWindow {
  const w = object(raw, what);
  const out: ViewWindow = {};
  if (w.days !== undefined) {
    if (!Array.isArray(w.days) || !w.days.every(isDay)) throw new BoundaryError(`Expected \`${what}.days\` to list day names like "Mon", got \`${JSON.stringify(w.days)}\``);
    out.days = w.days;
  }
  if (w.hours !== undefined) {
    const hours = string(w.hours, `${what}.hours`);
    const parsed = parseHours(hours);
    if (typeof parsed === 'string') throw new BoundaryError(`Expected \`${what}.hours\` like "08:00-18:00": ${parsed}, got \`${hours}\``);
    out.hours = hours;
  }
  return out;
}

function viewVm(raw: unknown, what: string): ViewVm {
  const v = object(raw, what);
  const id = matching(v.id, `${what}.id`, isId, 'a VM id');
  const command = array(v.command, `${what}.command`);
  if (command.length === 0 || !command.every((a) => typeof a === 'string' && a !== '')) throw new BoundaryError(`Expected \`${what}.command\` to be a non-empty array of strings`);
  const windows = v.windows === null || v.windows === undefined ? null : array(v.windows, `${what}.windows`).map((w, j) => viewWindow(w, `${what}.windows[${j}]`));
  return {
    id,
    // A missing title falls back to the id so every row has a name a person can read.
    title: typeof v.title === 'string' && v.title !== '' ? v.title : id,
    server: string(v.server, `${what}.server`),
    host: string(v.host, `${what}.host`),
    tlsPort: integer(v.tlsPort, `${what}.tlsPort`, 1, 65535),
    windows,
    command: command as string[],
  };
}

/** Validates parsed JSON against the view contract and returns it typed; unknown fields are dropped. */
export function parseView(data: unknown): ViewFile {
  const top = object(data, 'the view');
  if (top.version !== 1) throw new BoundaryError(`Expected \`version\` to be 1, got \`${JSON.stringify(top.version)}\``);
  const uid = integer(top.uid, 'uid', 0, 0xfffffffe);
  const vms = array(top.vms, 'vms').map((v, i) => viewVm(v, `vms[${i}]`));
  return { version: 1, user: string(top.user, 'user'), uid, viewerGroup: string(top.viewerGroup, 'viewerGroup'), vms };
}
