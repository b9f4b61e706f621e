// A plan as hashes: enough to tell whether the system matches it, small enough to keep between runs.
import crypto, { createHash } from 'node:crypto';
import type { FirewallModel } from './firewall-model.js';
import type { Skipped } from './grants.js';
import { renderNft } from './nft.js';
import { renderIptables } from './iptables.js';
import type { Backend, Plan } from './plan.js';
import type { ViewKeys } from './view-keys.js';

/** What `status`, `plan` and an up-to-date `apply` compare the system with; `Plan` has the bytes themselves. */
export interface PlanDigest {
  backend: Backend;
  viewer: Plan['viewer'];
  /** sha256 of the rendered firewall (the nft script, or both iptables chains). */
  firewall: string;
  sudoers: string;
  table: string;
  /** uid → viewHash of that user's view. */
  views: Record<string, string>;
  /** The plan's view keys: a later digest takes `views[uid]` from here where salt and key are the same. */
  viewKeys: ViewKeys;
  /** sha256 of the firewall model as firewall.json holds it (JSON.stringify). */
  model: string;
  grants: number;
  skipped: Skipped[];
}

/** sha256, hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// One call per hash where node has it (20.12+): 10,000 views hashed through createHash cost a third more.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'base64') => string }).hash;

/** A short hash of a view's content, as text or UTF-8 (what a view seal says the file held). */
export function viewHash(content: string | Uint8Array): string {
  return (oneShot ? oneShot('sha256', content, 'base64') : createHash('sha256').update(content).digest('base64')).slice(0, 22);
}

// Views hashed from their bytes where those were made anyway (a first apply's writer thread is sent bytes).
const hashedViews = new WeakMap<object, string>();

/** Hashes a view of the plan from its content's UTF-8, for the digest, which then need not encode its text again. */
export function hashViewBytes(view: object, bytes: Uint8Array): void {
  hashedViews.set(view, viewHash(bytes));
}

const modelTexts = new WeakMap<FirewallModel, string>();
/** A firewall model as firewall.json holds it (JSON.stringify, megabytes at 100,000): made once per model. */
export function modelText(model: FirewallModel): string {
  let text = modelTexts.get(model);
  if (text === undefined) modelTexts.set(model, (text = JSON.stringify(model)));
  return text;
}

/**
 * The digest of a rendered plan. The hashes of the views and the model are taken on first use: an apply that loads
 * new rules needs them only while the firewall loads (apply/state.ts stages them then), not before. `previous`: the
 * last plan's digest, rendered by this same helper; a view whose key it shares (under the same salt) has its hash.
 */
export function digestOf(plan: Plan, previous: PlanDigest | null = null): PlanDigest {
  const firewall =
    plan.backend === 'nftables'
      ? sha256(plan.nft ?? renderNft(plan.firewall))
      : sha256(renderIptables(plan.firewall, 4, { addJump: false }) + renderIptables(plan.firewall, 6, { addJump: false }));
  let views: Record<string, string> | undefined;
  let model: string | undefined;
  return {
    backend: plan.backend,
    viewer: plan.viewer,
    firewall,
    sudoers: sha256(plan.sudoers),
    table: sha256(plan.table),
    // Enumerable getters: JSON.stringify (the plan cache) and spreading see plain values.
    get views() {
      if (views === undefined) {
        views = {};
        const before = previous?.viewKeys.salt === plan.viewKeys.salt ? previous : null;
        const { keys } = plan.viewKeys;
        for (const [uid, v] of plan.views) {
          const known = before !== null && before.viewKeys.keys[uid] === keys[uid] ? before.views[uid] : undefined;
          views[uid] = typeof known === 'string' ? known : (hashedViews.get(v) ?? viewHash(v.content));
        }
      }
      return views;
    },
    get model() {
      return (model ??= sha256(modelText(plan.firewall)));
    },
    viewKeys: plan.viewKeys,
    grants: plan.grants.length,
    skipped: plan.skipped,
  };
}
