// Policy + facts → Plan: every byte apply will write, rendered before anything is touched. Pure.
import type { Facts } from '../policy/facts.js';
import type { Policy } from '../policy/types.js';
import { firewallModel, type FirewallModel } from './firewall-model.js';
import { expandGrants, type Grant, type Skipped } from './grants.js';
import { renderNft } from './nft.js';
import { protectedPorts } from './ports.js';
import { groupGrants } from './sudoers.js';
import { sudoersText, type LastSudoers } from './sudoers-reuse.js';
import type { ViewKeys } from './view-keys.js';
import { planViews, type PlannedViews } from './view-reuse.js';
import { tableText, type LastTable } from './table-reuse.js';
import type { ViewText } from './views.js';

export type Backend = 'nftables' | 'iptables';

/** The mode the viewer gets: root:<group>, rwx for root, r-x for the group, nothing for others. */
export const VIEWER_MODE = 0o750;

/** Everything apply needs, as data. */
export interface Plan {
  backend: Backend;
  firewall: FirewallModel;
  /** The nft load script (rendered for the nftables backend; iptables text depends on live OUTPUT). */
  nft: string | null;
  sudoers: string;
  viewer: { path: string; group: string; gid: number | null; mode: number };
  /** console-table.json content. */
  table: string;
  /** uid → view file content (root-owned; readable by that uid only, through an ACL entry), built when first read. */
  views: Map<number, ViewText>;
  /** What tells the views apart (view-keys.ts): the digest reuses the last apply's hash of a view with the same key. */
  viewKeys: ViewKeys;
  grants: Grant[];
  skipped: Skipped[];
}

/** Options that come from the command line and environment rather than the policy. */
export interface PlanOptions {
  backend: Backend;
  openConsole: string;
  /** `--state-dir` argument for open-console, or null when the state dir is the default. */
  stateDirArg: string | null;
}

/** The firewall model alone, from grants already expanded (or expanded here). */
export function planFirewall(policy: Policy, facts: Facts, grants: Grant[] = expandGrants(policy, facts).grants): FirewallModel {
  return firewallModel({
    grants,
    ports: protectedPorts(policy),
    viewerGid: facts.viewerGid ?? policy.viewer.group,
    log: policy.firewall.log,
    utcOffsetMinutes: facts.utcOffsetMinutes,
  });
}

/** Told parts of the plan as soon as they are rendered, to start work on them beside the rest. */
export interface PlanHooks {
  /** The views (apply's first one writes them on another thread: view-thread.ts). */
  viewsReady?: (views: Plan['views']) => void;
}

/** What the last plan left that the next may build on: the plan is the same without it, only slower to make. */
export interface LastPlan {
  /** Its view keys, with the basis of its grants: the views of users whose grants did not change are kept (view-reuse.ts). */
  viewKeys: ViewKeys;
  /** Its console table's text, when it is the very text that plan hashed: its unchanged VMs are kept (table-reuse.ts). */
  table: string | null;
  /** Its sudoers file, when it is the very text that plan hashed: unchanged users keep their sets (sudoers-reuse.ts). */
  sudoers: string | null;
}

/** Renders the plan, building on `last` when given. */
export function makePlan(policy: Policy, facts: Facts, opts: PlanOptions, hooks: PlanHooks = {}, last: LastPlan | null = null): Plan {
  const { grants, skipped } = expandGrants(policy, facts);
  const planned = planViews(policy, grants, opts, last?.viewKeys ?? null);
  const views = planned.texts;
  hooks.viewsReady?.(views);
  // Read after the hook: a whole render is keyed when its keys are first read, and the views went out before.
  const keys = planned.keys;
  const firewall = planFirewall(policy, facts, grants);
  return {
    backend: opts.backend,
    firewall,
    nft: opts.backend === 'nftables' ? renderNft(firewall) : null,
    sudoers: sudoersText({ grants, groups: groupGrants(policy, facts, grants), openConsole: opts.openConsole, stateDirArg: opts.stateDirArg, sources: policy.files }, lastSudoers(last, planned)),
    viewer: { path: policy.viewer.path, group: policy.viewer.group, gid: facts.viewerGid, mode: VIEWER_MODE },
    table: tableText(policy, facts, grants, keys.basis!, lastTable(last)),
    views,
    viewKeys: keys,
    grants,
    skipped,
  };
}

function lastTable(last: LastPlan | null): LastTable | null {
  const basis: unknown = last?.viewKeys.basis;
  return last?.table != null && typeof basis === 'object' && basis !== null ? { text: last.table, basis: basis as Record<string, string> } : null;
}

function lastSudoers(last: LastPlan | null, planned: PlannedViews): LastSudoers | null {
  const { changes } = planned;
  return last?.sudoers != null && changes !== null ? { text: last.sudoers, ...changes, vms: Object.keys(planned.keys.basis!) } : null;
}
