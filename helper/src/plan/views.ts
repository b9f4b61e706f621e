// What open-console and the launcher read: the console table (root only) and one view per user (that user only).
import { TABLE_VERSION, type ConsoleTable, type TableVm, type TimeWindow, type ViewFile } from '../boundary/index.js';
import type { Policy } from '../policy/types.js';
import type { Facts } from '../policy/facts.js';
import type { Grant } from './grants.js';
import { consoleCommand } from './sudoers.js';

// Both formats are declared, with their validators, in the boundary module that open-console and the launcher import.
export type { ConsoleTable, TableVm, ViewFile };

function windowJson(w: TimeWindow | null): TimeWindow | null {
  return w === null ? null : { days: w.days, start: w.start, end: w.end, hours: w.hours };
}

/** Renders the console table from the grants that are in force. */
export function renderTable(policy: Policy, facts: Facts, grants: Grant[]): ConsoleTable {
  const vms: Record<string, TableVm> = {};
  for (const g of grants) {
    const vm = policy.vms.get(g.vm)!;
    const server = policy.servers.get(vm.server)!;
    const entry = (vms[vm.id] ??= {
      title: vm.title,
      server: server.id,
      host: server.host,
      tlsPort: vm.tlsPort,
      ca: facts.ca.get(server.id) ?? '',
      hostSubject: server.hostSubject,
      grants: [],
    });
    entry.grants.push({ uid: g.uid, window: windowJson(g.window) });
  }
  return { version: TABLE_VERSION, viewer: { path: policy.viewer.path, gid: facts.viewerGid ?? -1 }, utcOffsetMinutes: facts.utcOffsetMinutes, vms: sortKeys(vms) };
}

/** Renders one view per entitled uid. */
export function renderViews(policy: Policy, grants: Grant[], opts: { openConsole: string; stateDirArg: string | null }): Map<number, ViewFile> {
  const views = new Map<number, ViewFile>();
  for (const g of grants) {
    const view = views.get(g.uid) ?? { version: 1 as const, user: g.user, uid: g.uid, viewerGroup: policy.viewer.group, vms: [] };
    views.set(g.uid, view);
    const vm = policy.vms.get(g.vm)!;
    const server = policy.servers.get(vm.server)!;
    let entry = view.vms.find((v) => v.id === vm.id);
    if (!entry) {
      entry = {
        id: vm.id,
        title: vm.title,
        server: server.id,
        host: server.host,
        tlsPort: vm.tlsPort,
        windows: [],
        // sudo runs open-console as root; it takes the caller from SUDO_UID and drops to her uid itself.
        command: ['sudo', '-n', ...consoleCommand(opts.openConsole, opts.stateDirArg, vm.id)],
      };
      view.vms.push(entry);
    }
    // Any "always" grant makes the VM always available, whatever windows other entitlements add.
    if (g.window === null) entry.windows = null;
    else if (entry.windows !== null) entry.windows.push({ ...(g.window.days ? { days: g.window.days } : {}), ...(g.window.hours ? { hours: g.window.hours } : {}) });
  }
  for (const v of views.values()) v.vms.sort((a, b) => (a.id < b.id ? -1 : 1));
  return views;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
