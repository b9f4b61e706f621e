// The console table, `<stateDir>/console-table.json` (root:root 0600): written by apply, read by open-console only.
import { array, BoundaryError, integer, matching, object, string } from './check.js';
import { isId, isSafePath } from './names.js';
import { DAY_MINUTES, isDay, type TimeWindow } from './time.js';

/** The table's format version; open-console refuses any other. */
export const TABLE_VERSION = 2;

/** One VM in the console table. */
export interface TableVm {
  title: string;
  server: string;
  host: string;
  tlsPort: number;
  /** The CA's PEM text ('' when apply could not read it: TLS verification then fails, closed). */
  ca: string;
  hostSubject: string;
  /** Who may open it and when; `window` null means always. */
  grants: { uid: number; window: TimeWindow | null }[];
}

/**
 * Everything open-console needs and nothing else. `utcOffsetMinutes` is the offset the firewall's windows were
 * rendered with: open-console judges windows with it, never with the caller's `TZ`, so both agree until the next apply.
 */
export interface ConsoleTable {
  version: typeof TABLE_VERSION;
  viewer: { path: string; gid: number };
  utcOffsetMinutes: number;
  vms: Record<string, TableVm>;
}

function tableWindow(raw: unknown, what: string): TimeWindow | null {
  if (raw === null) return null;
  const w = object(raw, what);
  let days: TimeWindow['days'] = null;
  if (w.days !== null) {
    if (!Array.isArray(w.days) || w.days.length === 0 || !w.days.every(isDay)) throw new BoundaryError(`Expected \`${what}.days\` to be null or day names like "Mon"`);
    days = w.days;
  }
  const start = integer(w.start, `${what}.start`, 0, DAY_MINUTES - 1);
  const end = integer(w.end, `${what}.end`, start + 1, DAY_MINUTES);
  const hours = w.hours === null ? null : string(w.hours, `${what}.hours`);
  return { days, start, end, hours };
}

function tableVm(raw: unknown, what: string): TableVm {
  const v = object(raw, what);
  return {
    title: string(v.title, `${what}.title`),
    server: string(v.server, `${what}.server`),
    host: string(v.host, `${what}.host`),
    tlsPort: integer(v.tlsPort, `${what}.tlsPort`, 1, 65535),
    ca: string(v.ca, `${what}.ca`, { empty: true }),
    hostSubject: string(v.hostSubject, `${what}.hostSubject`),
    grants: array(v.grants, `${what}.grants`).map((g, i) => {
      const grant = object(g, `${what}.grants[${i}]`);
      return { uid: integer(grant.uid, `${what}.grants[${i}].uid`, 0, 0xfffffffe), window: tableWindow(grant.window, `${what}.grants[${i}].window`) };
    }),
  };
}

/** Validates parsed JSON against the table contract and returns it typed. */
export function parseTable(data: unknown): ConsoleTable {
  const top = object(data, 'the console table');
  if (top.version !== TABLE_VERSION) throw new BoundaryError(`Expected \`version\` to be ${TABLE_VERSION}, got \`${JSON.stringify(top.version)}\``);
  const viewer = object(top.viewer, '`viewer`');
  const vms: Record<string, TableVm> = {};
  for (const [id, vm] of Object.entries(object(top.vms, '`vms`'))) vms[matching(id, 'a VM id in `vms`', isId, 'a VM id')] = tableVm(vm, `vms.${id}`);
  return {
    version: TABLE_VERSION,
    // -1: the viewer group did not exist at apply; open-console then cannot start the viewer, which fails closed.
    viewer: { path: matching(viewer.path, 'viewer.path', isSafePath, 'an absolute path'), gid: integer(viewer.gid, 'viewer.gid', -1, 0xfffffffe) },
    utcOffsetMinutes: integer(top.utcOffsetMinutes, 'utcOffsetMinutes', -DAY_MINUTES, DAY_MINUTES),
    vms,
  };
}
