// A change of a few entitlements touches a few users' views, yet rendering and keying all 10,000 of them took ~0.15 s
// of a one-change apply at 100,000 entitlements. So each plan's view keys also record, per VM, which uids its grants
// name and with which windows (the basis). The next plan compares bases: only users named in a VM whose basis
// changed (or whose name did) have their views rendered and keyed; every other user keeps the last plan's key,
// which under the same salt stands for the same text (view-keys.ts), and her view is rendered only if it is read.
import type { TimeWindow, ViewFile } from '../boundary/index.js';
import type { Policy } from '../policy/types.js';
import type { Grant } from './grants.js';
import { entriesById, keyer, keyPrefix, keySalt, viewKeys, type ViewKeys } from './view-keys.js';
import { entryMaker, renderViews, viewHead, viewTexts, type ViewText } from './views.js';

/** The views of a plan: their texts (built when read) and keys. */
export interface PlannedViews {
  texts: Map<number, ViewText>;
  keys: ViewKeys;
  /** How many views were rendered and keyed (the others kept their last keys). */
  rendered: number;
  /** When the last plan's keys were built on: who may have other grants than then, and every user with grants. */
  changes: { touched: ReadonlySet<number>; uids: number[] } | null;
}

type Opts = { openConsole: string; stateDirArg: string | null };

// Above this share of users to render, rendering all of them is as quick as sorting out which.
const MOST = 0.25;

/**
 * Renders and keys the views, reusing `last` (the last plan's keys) for every user whose grants did not change.
 * Rendered whole, they are keyed when the keys are first read: a first apply's writer thread is sent the texts
 * before (plan.ts).
 */
export function planViews(policy: Policy, grants: readonly Grant[], opts: Opts, last: ViewKeys | null): PlannedViews {
  if (typeof last?.basis === 'object' && last.basis !== null) {
    const reused = reuse(policy, grants, opts, last as Required<ViewKeys>, viewBasis(grants));
    if (reused !== null) return reused;
  }
  const rendered = renderViews(policy, grants, opts);
  let keys: ViewKeys | undefined;
  return {
    texts: viewTexts(rendered),
    get keys() {
      return (keys ??= { ...viewKeys(rendered), basis: viewBasis(grants) });
    },
    rendered: rendered.size,
    changes: null,
  };
}

/** The VM ids of a basis, sorted (the order of the views' salt, and of the console table's VMs). */
export function basisIds(basis: Record<string, string>): string[] {
  return Object.keys(basis).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Per VM id, its grants' uids (and windows) in order: what the views of the users it names are made of. */
export function viewBasis(grants: readonly Grant[]): Record<string, string> {
  const parts = new Map<string, string[]>();
  const windows = new Map<TimeWindow, string>();
  for (const g of grants) {
    let p = parts.get(g.vm);
    if (!p) parts.set(g.vm, (p = []));
    if (g.window === null) p.push(String(g.uid));
    else {
      let w = windows.get(g.window);
      if (w === undefined) windows.set(g.window, (w = JSON.stringify(g.window)));
      p.push(`${g.uid}@${w}`);
    }
  }
  const basis: Record<string, string> = {};
  // One grant per line: JSON text never holds a raw line break.
  for (const [vm, p] of parts) basis[vm] = p.join('\n');
  return basis;
}

function reuse(policy: Policy, grants: readonly Grant[], opts: Opts, last: Required<ViewKeys>, basis: Record<string, string>): PlannedViews | null {
  if (grants.length === 0) return null;
  // The salt from the policy alone: the VMs that have grants, as their entries in every view, and the shared fields.
  const ids = basisIds(basis);
  const entry = entryMaker(policy, opts);
  const salt = keySalt(viewHead(policy, '', 0), ids.map((id) => entry(id, null)));
  if (salt !== last.salt) return null;
  // Users named in a VM whose grants changed (before or now).
  const touched = new Set<number>();
  for (const id of ids) {
    const was = last.basis[id];
    if (basis[id] === was) continue;
    for (const b of [basis[id]!, typeof was === 'string' ? was : '']) for (const part of b.split('\n')) if (part !== '') touched.add(Number.parseInt(part, 10));
  }
  // Each user once, in the order of her first grant (renderViews' order), and the name her view carries.
  const order = new Map<number, string>();
  for (const g of grants) if (!order.has(g.uid)) order.set(g.uid, g.user);
  const render = new Set<number>();
  for (const [uid, user] of order) {
    const was: unknown = last.keys[uid];
    if (touched.has(uid) || typeof was !== 'string' || !was.startsWith(keyPrefix(user, uid))) render.add(uid);
  }
  if (render.size > order.size * MOST) return null;
  const fresh = renderViews(
    policy,
    grants.filter((g) => render.has(g.uid)),
    opts,
  );
  const freshTexts = viewTexts(fresh);
  const keys: Record<string, string> = {};
  if (fresh.size > 0) {
    const { byId } = entriesById(fresh.values());
    const key = keyer(fresh.values().next().value as ViewFile, byId, new Map(ids.map((id, i) => [id, i])));
    for (const [uid, view] of fresh) keys[uid] = key(view);
  }
  // The other users' views, rendered all at once the first time one is read (a view file found changed on disk).
  const whole = new WholeViews(policy, grants, opts);
  const texts = new Map<number, ViewText>();
  for (const uid of order.keys()) {
    const mine = freshTexts.get(uid);
    if (mine !== undefined) texts.set(uid, mine);
    else {
      keys[uid] = last.keys[uid]!;
      texts.set(uid, new KeptView(whole, uid));
    }
  }
  return { texts, keys: { salt, keys, basis }, rendered: fresh.size, changes: { touched, uids: [...order.keys()] } };
}

// Every view of the plan, rendered when the first kept view is read.
class WholeViews {
  private texts: Map<number, ViewText> | undefined;
  constructor(
    private readonly policy: Policy,
    private readonly grants: readonly Grant[],
    private readonly opts: Opts,
  ) {}

  of(uid: number): string {
    return (this.texts ??= viewTexts(renderViews(this.policy, this.grants, this.opts))).get(uid)!.content;
  }
}

// A view kept from the last plan: its text only when read. A class, not a literal with a getter, so 10,000 of
// them share one accessor; JSON sees it as viewTexts' views are seen.
class KeptView {
  constructor(
    private readonly whole: WholeViews,
    private readonly uid: number,
  ) {}

  get content(): string {
    return this.whole.of(this.uid);
  }

  toJSON(): { content: string } {
    return { content: this.content };
  }
}
