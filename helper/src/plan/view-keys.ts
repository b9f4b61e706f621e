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

/** Keys and salt for rendered views (renderViews' output). */
export function viewKeys(views: Map<number, ViewFile>): ViewKeys {
  const first = views.values().next().value as ViewFile | undefined;
  // Each VM id's first entry stands for all of its entries (checked field by field as they are keyed).
  const byId = new Map<string, Entry>();
  for (const view of views.values()) for (const e of view.vms) if (!byId.has(e.id)) byId.set(e.id, e);
  const ids = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(ids.map((id, i) => [id, i]));
  const head = first === undefined ? null : Object.fromEntries(SHARED.map((f) => [f, first[f]]));
  const salt = sha256(JSON.stringify([KEY_FORMAT, head, ids.map((id) => listItemText({ ...byId.get(id)!, windows: null }))]));
  const keys: Record<string, string> = {};
  for (const [uid, view] of views) {
    // No part holds a raw line break (names are validated, JSON escapes them), so the joined key is unambiguous;
    // the fall-backs start with `{` or `"`, which neither a user name nor an entry's index does.
    let key = SHARED.every((f) => view[f] === first![f]) ? OWN.map((f) => view[f]).join('\n') : JSON.stringify({ ...view, vms: null });
    for (const e of view.vms) {
      const like = byId.get(e.id)!;
      if (e !== like && !samePerVm(e, like)) key += `\n${JSON.stringify(listItemText(e))}`;
      else key += e.windows === null ? `\n${index.get(e.id)!}` : `\n${index.get(e.id)!}${JSON.stringify(e.windows)}`;
    }
    keys[uid] = key;
  }
  return { salt, keys };
}
