// Which views changed, without writing them out: 10,000 view texts are 24 MB to build and hash, yet what tells one
// view from the next is only its user and which VMs (with which windows) she has. So each view gets a short key,
// and everything the views share goes into one salt: under the same salt, equal keys mean equal texts, and the
// last apply's hash of a view can stand for this one's (digest.ts).
import type { ViewFile } from '../boundary/index.js';
import { sha256 } from './digest.js';
import { listItemText } from './json-text.js';

/** Bump when a view's text comes to depend on something neither its key nor the salt holds. */
const KEY_FORMAT = 1;

/** The salt of every view, and each view's key by uid. */
export interface ViewKeys {
  salt: string;
  keys: Record<string, string>;
  /** What the views were rendered from, per VM (view-reuse.ts): absent in plan caches written before it. */
  basis?: Record<string, string>;
}

type Entry = ViewFile['vms'][number];

// Every field of a view and of its entries, by where it goes. A field added to ViewFile fails to compile here,
// and whatever is called shared is checked to be so below (else that view or entry keys its full text).
const HEAD: Record<Exclude<keyof ViewFile, 'vms'>, 'shared' | 'own'> = { version: 'shared', user: 'own', uid: 'own', viewerGroup: 'shared' };
const ENTRY: Record<Exclude<keyof Entry, 'id'>, 'vm' | 'own'> = { title: 'vm', server: 'vm', host: 'vm', tlsPort: 'vm', command: 'vm', windows: 'own' };
const SHARED = (Object.keys(HEAD) as (keyof typeof HEAD)[]).filter((f) => HEAD[f] === 'shared');
const OWN = (Object.keys(HEAD) as (keyof typeof HEAD)[]).filter((f) => HEAD[f] === 'own');
const PER_VM = (Object.keys(ENTRY) as (keyof typeof ENTRY)[]).filter((f) => ENTRY[f] === 'vm');

function samePerVm(a: Entry, b: Entry): boolean {
  for (let i = 0; i < PER_VM.length; i++) if (a[PER_VM[i]!] !== b[PER_VM[i]!]) return false;
  return true;
}

/**
 * The salt of views whose shared fields are `first`'s and whose entries are, VM by VM, like `entries` (one per VM
 * id, windows aside, sorted by id).
 */
export function keySalt(first: ViewFile | undefined, entries: readonly Entry[]): string {
  const head = first === undefined ? null : Object.fromEntries(SHARED.map((f) => [f, first[f]]));
  return sha256(JSON.stringify([KEY_FORMAT, head, entries.map((e) => listItemText({ ...e, windows: null }))]));
}

/** Keys views under the salt of `first` and `byId` (each VM id's first entry; `index`: its place among the ids). */
export function keyer(first: ViewFile, byId: ReadonlyMap<string, Entry>, index: ReadonlyMap<string, number>): (view: ViewFile) => string {
  return (view) => {
    // No part holds a raw line break (names are validated, JSON escapes them), so the joined key is unambiguous;
    // the fall-backs start with `{` or `"`, which neither a user name nor an entry's index does.
    let key = SHARED.every((f) => view[f] === first[f]) ? OWN.map((f) => view[f]).join('\n') : JSON.stringify({ ...view, vms: null });
    for (const e of view.vms) {
      const like = byId.get(e.id)!;
      if (e !== like && !samePerVm(e, like)) key += `\n${JSON.stringify(listItemText(e))}`;
      else key += e.windows === null ? `\n${index.get(e.id)!}` : `\n${index.get(e.id)!}${JSON.stringify(e.windows)}`;
    }
    return key;
  };
}

/** The start of every key `keyer` gives a view of `user` and `uid` that has entries and the first's shared fields. */
export function keyPrefix(user: string, uid: number): string {
  const own: Record<string, unknown> = { user, uid };
  return `${OWN.map((f) => own[f]).join('\n')}\n`;
}

/** Each VM id's first entry among `views`, and the ids sorted. */
export function entriesById(views: Iterable<ViewFile>): { byId: Map<string, Entry>; ids: string[] } {
  const byId = new Map<string, Entry>();
  for (const view of views) for (const e of view.vms) if (!byId.has(e.id)) byId.set(e.id, e);
  return { byId, ids: [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** Keys and salt for rendered views (renderViews' output). */
export function viewKeys(views: Map<number, ViewFile>): ViewKeys {
  const first = views.values().next().value as ViewFile | undefined;
  // Each VM id's first entry stands for all of its entries (checked field by field as they are keyed).
  const { byId, ids } = entriesById(views.values());
  const salt = keySalt(first, ids.map((id) => byId.get(id)!));
  const keys: Record<string, string> = {};
  if (first !== undefined) {
    const key = keyer(first, byId, new Map(ids.map((id, i) => [id, i])));
    for (const [uid, view] of views) keys[uid] = key(view);
  }
  return { salt, keys };
}
