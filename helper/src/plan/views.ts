// What open-console and the launcher read: the console table (root only) and one view per user (that user only).
import { TABLE_VERSION, type ConsoleTable, type TableVm, type TimeWindow, type ViewFile, type ViewWindow } from '../boundary/index.js';
import type { Policy } from '../policy/types.js';
import type { Facts } from '../policy/facts.js';
import type { Grant } from './grants.js';
import { joinPieces, jsonWithItemsPieces, listItemText, type JsonPieces } from './json-text.js';
import { consoleCommand } from './sudoers.js';

// Both formats are declared, with their validators, in the boundary module that open-console and the launcher import.
export type { ConsoleTable, TableVm, ViewFile };

function windowJson(w: TimeWindow | null): TimeWindow | null {
  return w === null ? null : { days: w.days, start: w.start, end: w.end, hours: w.hours };
}

/** What the console table says besides its VMs. */
export function tableHead(policy: Policy, facts: Facts): Omit<ConsoleTable, 'vms'> {
  return { version: TABLE_VERSION, viewer: { path: policy.viewer.path, gid: facts.viewerGid ?? -1 }, utcOffsetMinutes: facts.utcOffsetMinutes };
}

/** What the console table says of a VM besides its grants. */
export function tableFields(policy: Policy, facts: Facts, id: string): Omit<TableVm, 'grants'> {
  const vm = policy.vms.get(id)!;
  const server = policy.servers.get(vm.server)!;
  return { title: vm.title, server: server.id, host: server.host, tlsPort: vm.tlsPort, ca: facts.ca.get(server.id) ?? '', hostSubject: server.hostSubject };
}

/** Renders the console table from the grants that are in force. */
export function renderTable(policy: Policy, facts: Facts, grants: readonly Grant[]): ConsoleTable {
  const vms: Record<string, TableVm> = {};
  // One window object per entitlement's window, shared by its grants (the text is the same).
  const windows = new Map<TimeWindow | null, TimeWindow | null>();
  for (const g of grants) {
    const entry = (vms[g.vm] ??= { ...tableFields(policy, facts, g.vm), grants: [] });
    let window = windows.get(g.window);
    if (window === undefined) windows.set(g.window, (window = windowJson(g.window)));
    entry.grants.push({ uid: g.uid, window });
  }
  return { ...tableHead(policy, facts), vms: sortKeys(vms) };
}

type Entry = ViewFile['vms'][number];

/**
 * Makes a view's entry for a VM id. The command of a VM is the same in every view: built once per maker (nothing
 * mutates it), so all entries of one VM share it.
 */
export function entryMaker(policy: Policy, opts: { openConsole: string; stateDirArg: string | null }): (id: string, windows: ViewWindow[] | null) => Entry {
  const commands = new Map<string, string[]>();
  return (id, windows) => {
    const vm = policy.vms.get(id)!;
    const server = policy.servers.get(vm.server)!;
    let command = commands.get(vm.id);
    // sudo runs open-console as root; it takes the caller from SUDO_UID and drops to her uid itself.
    if (!command) commands.set(vm.id, (command = ['sudo', '-n', ...consoleCommand(opts.openConsole, opts.stateDirArg, vm.id)]));
    return { id: vm.id, title: vm.title, server: server.id, host: server.host, tlsPort: vm.tlsPort, windows, command };
  };
}

/** A view's head, its entries still to come. */
export function viewHead(policy: Policy, user: string, uid: number): ViewFile {
  return { version: 1, user, uid, viewerGroup: policy.viewer.group, vms: [] };
}

/** Renders one view per entitled uid. */
export function renderViews(policy: Policy, grants: readonly Grant[], opts: { openConsole: string; stateDirArg: string | null }): Map<number, ViewFile> {
  const views = new Map<number, ViewFile>();
  // Per uid, its view and its entries by VM id: a user entitled to 200 VMs must not search a list per grant.
  const byUid = new Map<number, { view: ViewFile; byVm: Map<string, Entry> }>();
  const newEntry = entryMaker(policy, opts);
  // A VM's entry where it is always available (windows null) is the same in every view that lists it so: one object
  // for all of them, never mutated (only entries with windows are). A windowed entry is each view's own.
  const always = new Map<string, Entry>();
  const windowOf = (w: TimeWindow): ViewWindow => ({ ...(w.days ? { days: w.days } : {}), ...(w.hours ? { hours: w.hours } : {}) });
  for (const g of grants) {
    let mine = byUid.get(g.uid);
    if (!mine) {
      mine = { view: viewHead(policy, g.user, g.uid), byVm: new Map() };
      byUid.set(g.uid, mine);
      views.set(g.uid, mine.view);
    }
    const entry = mine.byVm.get(g.vm);
    if (g.window === null) {
      // Any "always" grant makes the VM always available, whatever windows other entitlements add.
      let shared = always.get(g.vm);
      if (!shared) always.set(g.vm, (shared = newEntry(g.vm, null)));
      mine.byVm.set(g.vm, shared);
    } else if (!entry) mine.byVm.set(g.vm, newEntry(g.vm, [windowOf(g.window)]));
    else if (entry.windows !== null) entry.windows.push(windowOf(g.window));
  }
  // Entries by VM id: every id ranked once, each view then sorted by number (10,000 views of 10).
  const rank = new Map([...policy.vms.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((id, i) => [id, i]));
  for (const { view, byVm } of byUid.values()) {
    view.vms = byVm.size > 1 ? [...byVm.keys()].sort((a, b) => rank.get(a)! - rank.get(b)!).map((id) => byVm.get(id)!) : [...byVm.values()];
  }
  return views;
}

/** A view file's content, built when first read. */
export interface ViewText {
  readonly content: string;
  /**
   * The same text as the pieces it is made of (the final newline ends `tail`), whose shared items a writer encodes
   * once (apply/view-thread.ts); null when there are none (then take `content`).
   */
  pieces?(): JsonPieces | null;
}

/**
 * Each view's file content (JSON, two-space indent, final newline), built when first asked for: an apply that knows a
 * view unchanged by its key (view-keys.ts) never builds its text. A VM's entry text is shared by every view with the
 * same entry.
 */
export function viewTexts(views: Map<number, ViewFile>): Map<number, ViewText> {
  const out = new Map<number, ViewText>();
  // Entries of one VM differ only in their windows; the always-on ones (windows null) are identical text.
  const always = new Map<string, string>();
  const entryText = (entry: Entry): string => {
    if (entry.windows !== null) return listItemText(entry);
    let text = always.get(entry.id);
    if (text === undefined) always.set(entry.id, (text = listItemText(entry)));
    return text;
  };
  for (const [uid, view] of views) {
    let text: string | undefined;
    let pieces: JsonPieces | null | undefined;
    const piecesOf = () => {
      if (pieces === undefined) {
        const p = jsonWithItemsPieces(view, 'vms', view.vms.map(entryText));
        pieces = p && { ...p, tail: p.tail + '\n' };
      }
      return pieces;
    };
    // An enumerable getter: spreading, comparing and JSON.stringify see the text like a plain field, and only it.
    const viewText = {
      get content() {
        return (text ??= joinPieces(piecesOf()) ?? JSON.stringify(view, null, 2) + '\n');
      },
    };
    out.set(uid, Object.defineProperty(viewText, 'pieces', { value: piecesOf, enumerable: false }));
  }
  return out;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
