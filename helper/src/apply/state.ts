// The state directory: console table (root only), per-user views (root-owned, their user reads them through an
// ACL), and state.json (what apply did).
import { rmSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { statePaths } from '../paths.js';
import type { Backend } from '../plan/plan.js';
import type { Exec } from '../system/exec.js';
import { isEmptyDir, readIfExists, sameState, statIfExists, writeAtomic, type FileSpec } from '../system/fs.js';
import type { NftSeal } from './nft.js';
import type { Step } from './step.js';
import { inViews, listViewNames, readAclsOf, readView, VIEW_SPEC, viewAcl, viewFile, viewIsCurrent, writeViews, stageViewDir, stageViews, type StagedViews, type ViewState, type ViewWrite } from './view-files.js';
import { sealHolds, sealViews, type Stamp, type ViewSeals } from './view-seal.js';
import type { EarlyViewDir } from './view-thread.js';
import type { ViewerOriginal } from './viewer.js';

/** state.json: written last, only after every other step succeeded. */
export interface StateFile {
  version: 1;
  backend: Backend;
  appliedAt: string;
  /**
   * sha256 of the rendered firewall; for nftables what was loaded (`loaded`), for iptables a fingerprint of the
   * chains right after loading (`live`; nftables states written before `loaded` existed have it too).
   */
  firewall: { rendered: string; live?: string; loaded?: NftSeal };
  /** The viewer as it was before consolegate first locked it. */
  viewer: ViewerOriginal | null;
  /** Each view as apply left it (view-seal.ts); absent in states written before. */
  views?: ViewSeals;
}

/** Reads state.json, or null before the first apply. */
export async function readState(stateDir: string): Promise<StateFile | null> {
  const text = await readIfExists(statePaths(stateDir).state);
  return text === null ? null : (JSON.parse(text) as StateFile);
}

interface FileSnapshot {
  file: string;
  content: string | null;
  spec: FileSpec | null;
}

async function snapshotFile(file: string): Promise<FileSnapshot> {
  return { file, content: await readIfExists(file), spec: await statIfExists(file) };
}

async function restoreFile(s: FileSnapshot): Promise<void> {
  if (s.content === null || s.spec === null) await rm(s.file, { force: true });
  else await writeAtomic(s.file, s.content, s.spec);
}

/** The step's snapshot: table, loaded.nft and state.json, and every view it may change as it was (content, owner, ACL). */
interface StateSnapshot {
  files: FileSnapshot[];
  views: Map<string, ViewState | null>;
}

/** What the state step writes. */
export interface StateContent {
  /** Runs getfacl/setfacl for the views' ACLs. */
  exec: Exec;
  stateDir: string;
  table: string;
  views: Map<number, { content: string }>;
  /** The nft table being loaded, kept as loaded.nft (null: iptables, and loaded.nft is removed). */
  loadedNft: string | null;
  /** The views as the last apply sealed them: those that still hold are neither read nor snapshotted. */
  sealed: ViewSeals | undefined;
  /** viewHash of each planned view (PlanDigest.views), asked for only where needed (hashing 10,000 views takes a while). */
  hashes: () => Record<string, string>;
  /** uids whose seal inspect already found holding, if it looked. */
  sealedViews?: Set<number>;
  /** The views' stamps taken earlier in this run under the lock (view-thread.ts viewsOnDisk), if taken. */
  stamps?: Map<string, Stamp>;
  /** A first apply's views, being written on another thread (view-thread.ts): taken if the directory is still empty. */
  early?: EarlyViewDir | null;
  /** Builds state.json once the firewall is loaded (it records what was loaded), given the views' new seals. */
  state: (views: ViewSeals) => Promise<StateFile>;
}

/** The table's owner and mode: root only (open-console reads it as root; nothing of it is the viewer group's). */
export const TABLE_SPEC = { mode: 0o600, uid: 0, gid: 0 } as const;

/** Writes table, views and state.json; stale views of users no longer entitled are removed. */
export function stateStep(c: StateContent): Step<StateSnapshot> {
  const p = statePaths(c.stateDir);
  let before: StateSnapshot | null = null;
  let staged: StagedViews | null = null;
  // Set when the views go as one directory renamed over the empty one: it then holds exactly the plan's views.
  let wholeDir = false;
  // Views the last apply sealed that still hold the planned content: nothing to read, write or restore.
  const untouched = new Set<string>();
  // Without seals (a first apply) nothing is proven untouched, and the views need no hashing before the load.
  if (c.sealedViews) {
    for (const uid of c.sealedViews) if (c.views.has(uid)) untouched.add(viewFile(p.views, uid));
  } else if (c.sealed !== undefined && Object.keys(c.sealed).length > 0) {
    const hashes = c.hashes();
    for (const uid of c.views.keys()) {
      const file = viewFile(p.views, uid);
      if (sealHolds(c.sealed, uid, file, hashes[uid]!, c.stamps)) untouched.add(file);
    }
  }
  // The views this apply writes, under temp names with their ACLs (transaction.ts: while the firewall loads).
  async function stageWrites(): Promise<StagedViews> {
    await mkdir(p.views, { recursive: true, mode: 0o755 });
    await chmod(p.views, 0o755);
    const pending = [...c.views].filter(([uid]) => !untouched.has(viewFile(p.views, uid)));
    const acls = before === null ? await readAclsOf(c.exec, p.views, pending.map(([uid]) => viewFile(p.views, uid))) : null;
    const writes: ViewWrite[] = [];
    for (const [uid, v] of pending) {
      const file = viewFile(p.views, uid);
      // The snapshot has read every view this loop writes (absent ones as null); read only without one.
      const now = before?.views.has(file) ? before.views.get(file)! : readView(file, acls ?? new Map());
      // The text is built only where it is read: a first apply's thread was sent the view (view-thread.ts).
      if (now === null || !viewIsCurrent(now, uid, v.content)) {
        writes.push({
          file,
          get content() {
            return v.content;
          },
          view: v,
          spec: VIEW_SPEC,
          acl: viewAcl(uid),
        });
      }
    }
    // Into an empty directory (a first apply), the views go as one directory renamed over it. A view left unwritten
    // is there already, so the directory is read only when every view is written.
    wholeDir = writes.length > 0 && writes.length === c.views.size && (await isEmptyDir(p.views));
    const staged = wholeDir ? ((await c.early?.staged(writes)) ?? (await stageViewDir(c.exec, p.views, writes))) : await stageViews(c.exec, writes);
    c.hashes(); // for the seals, while the firewall loads
    return staged;
  }
  return {
    name: 'state directory',
    snapshot: async () => {
      const present = new Set(await listViews(p.views));
      const files = [...present, ...[...c.views.keys()].map((uid) => viewFile(p.views, uid))].filter((f) => !untouched.has(f));
      const acls = await readAclsOf(c.exec, p.views, files.filter((f) => present.has(f)));
      const views = new Map<string, ViewState | null>();
      for (const f of files) if (!views.has(f)) views.set(f, present.has(f) ? readView(f, acls) : null);
      return (before = { files: await Promise.all([p.table, p.loaded, p.state].map(snapshotFile)), views });
    },
    stage: async () => {
      staged = await stageWrites();
    },
    discard: async () => staged?.discard(),
    apply: async () => {
      const views = staged ?? (staged = await stageWrites());
      await writeAtomic(p.table, c.table, TABLE_SPEC);
      if (c.loadedNft === null) await rm(p.loaded, { force: true });
      else await writeAtomic(p.loaded, c.loadedNft, TABLE_SPEC, { fsync: false });
      views.commit();
      if (!wholeDir) {
        const keep = new Set([...c.views.keys()].map((uid) => viewFile(p.views, uid)));
        for (const f of await listViews(p.views)) if (!keep.has(f)) rmSync(f, { force: true });
      }
      // Untouched views keep their seals; the others are sealed as they are now.
      const seals: ViewSeals = {};
      const fresh = new Map<number, { content: string }>();
      for (const [uid, v] of c.views) {
        const kept = untouched.has(viewFile(p.views, uid)) ? c.sealed?.[uid] : undefined;
        if (kept) seals[uid] = kept;
        else fresh.set(uid, v);
      }
      Object.assign(seals, sealViews(fresh, c.hashes(), (uid) => viewFile(p.views, uid), views.stamps));
      await writeAtomic(p.state, JSON.stringify(await c.state(seals)) + '\n', { mode: 0o600, uid: 0, gid: 0 });
    },
    rollback: async (snapshot) => {
      for (const s of snapshot.files) await restoreFile(s);
      const acls = await readAclsOf(c.exec, p.views, [...snapshot.views.keys()]);
      const writes: ViewWrite[] = [];
      for (const [file, was] of snapshot.views) {
        if (was === null) rmSync(file, { force: true });
        // A view too large (or too busy) to have been read was not ours: it stays replaced. Unchanged ones stay.
        else if (was.file.content !== null && !sameView(readView(file, acls), was)) writes.push({ file, content: was.file.content, spec: was.file.spec, acl: was.acl });
      }
      await writeViews(c.exec, writes);
    },
  };
}

function sameView(now: ViewState | null, was: ViewState): boolean {
  return now !== null && was.file.content !== null && sameState(now.file, was.file.content, was.file.spec) && now.acl.join('\n') === was.acl.join('\n');
}

/** Paths of the view files present now. */
export async function listViews(dir: string): Promise<string[]> {
  return listViewNames(dir).map((n) => inViews(dir, n));
}
