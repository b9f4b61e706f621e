// Compares the live system with a plan: the differences are "changes pending" for plan and "drift" for status.
import { iptablesFingerprint, otherBackendRules } from '../apply/firewall.js';
import { nftListOwned, type NftLive } from '../apply/nft.js';
import { listViews, TABLE_SPEC, type StateFile } from '../apply/state.js';
import { readAclsOf, readView, viewFile, viewMatches } from '../apply/view-files.js';
import { sealHolds } from '../apply/view-seal.js';
import type { Stamping } from '../apply/view-thread.js';
import { nftElements, nftSkeleton } from '../plan/nft-fingerprint.js';
import { statePaths } from '../paths.js';
import { sha256, type PlanDigest } from '../plan/digest.js';
import type { Exec } from '../system/exec.js';
import { matchesHash, statIfExists } from '../system/fs.js';

/** One difference between what is and what the policy wants. */
export interface Difference {
  system: 'group' | 'firewall' | 'sudoers' | 'viewer' | 'table' | 'views';
  message: string;
}

/** What is live, as the caller found it (commands/context.ts prepareLive). */
export interface Live {
  state: StateFile | null;
  /** Our nft table (nftables plans); undefined: list it here. */
  nftLive?: NftLive;
  /** Set by inspect: the uids whose view is proven current by its seal (the state step need not look again). */
  sealedViews?: Set<number>;
  /** The view files and their stamps, when a thread takes them while the policy is parsed (else looked at here). */
  onDisk?: Stamping | null;
}

/** Every difference, in a stable order. */
export async function inspect(run: Exec, plan: PlanDigest, paths: { stateDir: string; sudoersFile: string }, live: Live): Promise<Difference[]> {
  const diffs: Difference[] = [];
  const add = (system: Difference['system'], message: string) => diffs.push({ system, message });
  const { state } = live;

  if (plan.viewer.gid === null) add('group', `viewer group \`${plan.viewer.group}\` does not exist (apply creates it)`);

  const what = plan.backend === 'nftables' ? 'nft table inet consolegate' : 'iptables chain CONSOLEGATE (IPv4/IPv6) or its OUTPUT jump';
  const condition = await firewallCondition(run, plan, state, live.nftLive);
  if (condition === 'missing') add('firewall', `${what} is missing`);
  else if (!state || state.backend !== plan.backend) add('firewall', `${what} was not loaded by this policy's last apply`);
  else {
    if (condition === 'changed') add('firewall', `${what} was changed outside consolegate`);
    if (state.firewall.rendered !== plan.firewall) add('firewall', `rules differ from the policy (policy, users, groups or addresses changed)`);
  }
  const leftover = await otherBackendRules(run, plan.backend);
  if (leftover) add('firewall', `${leftover} is still loaded although the policy uses ${plan.backend} (left by a backend switch); apply removes it`);

  if (!(await matchesHash(paths.sudoersFile, plan.sudoers, { mode: 0o440, uid: 0, gid: 0 }))) {
    const st = await statIfExists(paths.sudoersFile);
    add('sudoers', st === null ? `${paths.sudoersFile} is missing` : `${paths.sudoersFile} differs from the policy (content, owner or mode)`);
  }

  const viewer = await statIfExists(plan.viewer.path);
  if (viewer === null) add('viewer', `${plan.viewer.path} does not exist (install virt-viewer)`);
  else if (viewer.uid !== 0 || viewer.gid !== plan.viewer.gid || viewer.mode !== plan.viewer.mode) {
    add('viewer', `${plan.viewer.path} is ${viewer.uid}:${viewer.gid} mode ${viewer.mode.toString(8).padStart(4, '0')}, want root:${plan.viewer.group} mode ${plan.viewer.mode.toString(8).padStart(4, '0')}`);
  }

  const sp = statePaths(paths.stateDir);
  if (!(await matchesHash(sp.table, plan.table, TABLE_SPEC))) {
    const st = await statIfExists(sp.table);
    add('table', st === null ? `${sp.table} is missing` : `${sp.table} differs from the policy (content, or not root:root mode 0600)`);
  }
  const expected = new Map(Object.entries(plan.views).map(([uid, hash]) => [viewFile(sp.views, Number(uid)), { uid: Number(uid), hash }]));
  // Views still sealed as the last apply left them need no reading (apply/view-seal.ts).
  const onDisk = (await live.onDisk?.take()) ?? null;
  const present = new Set(onDisk?.files ?? (await listViews(sp.views)));
  live.sealedViews = new Set();
  const unsealed: [string, { uid: number; hash: string }][] = [];
  for (const [file, v] of expected) {
    if (present.has(file) && sealHolds(state?.views, v.uid, file, v.hash, onDisk?.stamps)) live.sealedViews.add(v.uid);
    else unsealed.push([file, v]);
  }
  const acls = await readAclsOf(run, sp.views, unsealed.map(([file]) => file).filter((f) => present.has(f)));
  for (const [file, v] of unsealed) {
    const now = present.has(file) ? readView(file, acls) : null;
    if (now === null) add('views', `${file} is missing`);
    else if (!viewMatches(now, v.uid, v.hash)) add('views', `${file} is out of date (content, or not root:root 0640 with only user:${v.uid}:r in its ACL)`);
  }
  for (const file of present) if (!expected.has(file)) add('views', `${file} belongs to a user who is no longer entitled`);
  return diffs;
}

/**
 * Whether our rules are what the last apply loaded. nftables: proven by the ruleset generation when it has not
 * moved (`nftLive` sealed); otherwise by a listing's skeleton and elements against what was loaded.
 */
async function firewallCondition(run: Exec, plan: PlanDigest, state: StateFile | null, nftLive: NftLive | undefined): Promise<'missing' | 'intact' | 'changed'> {
  if (plan.backend === 'iptables') {
    const fp = await iptablesFingerprint(run);
    return fp === null ? 'missing' : state?.firewall.live === fp ? 'intact' : 'changed';
  }
  if (nftLive?.kind === 'sealed') return 'intact';
  const listing = nftLive === undefined ? await nftListOwned(run) : nftLive.listing;
  if (listing === null) return 'missing';
  const loaded = state?.firewall.loaded;
  if (loaded) return nftSkeleton(listing) === loaded.skeleton && nftElements(listing) === loaded.elements ? 'intact' : 'changed';
  // A state written before `loaded` existed: the canonical listing's hash right after loading.
  return state?.firewall.live === sha256(listing) ? 'intact' : 'changed';
}
