// The plan cache: the timer re-applies every 15 minutes and `status` is asked all the time, but their plan changes
// only when a policy file or an answer from NSS, DNS or a CA file does. So the last apply keeps its plan's digest
// in the state directory, keyed by all of those; a later run that finds the same inputs skips parsing and
// rendering. Asking NSS/DNS again is the point: a group member added in the directory changes the key.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { statePaths } from '../paths.js';
import { chooseBackend } from '../apply/firewall.js';
import { sha256, type PlanDigest } from '../plan/digest.js';
import type { ViewKeys } from '../plan/view-keys.js';
import type { Plan, PlanOptions } from '../plan/plan.js';
import { gatherFacts, type Facts } from '../policy/facts.js';
import type { Policy } from '../policy/types.js';
import type { DpkgAnswer } from '../apply/viewer.js';
import { writeAtomic } from '../system/fs.js';
import type { Context, Prepared } from './context.js';

/** Bump when the digest, the key or what plan/ renders from the same inputs changes meaning. */
const FORMAT = 2;

/** What gatherFacts asks the world about a policy: everything else in the plan comes from the files themselves. */
interface Questions {
  backend: Policy['firewall']['backend'];
  viewerGroup: string;
  users: string[];
  groups: string[];
  servers: { id: string; host: string; ca: string }[];
}

/** plan-cache.json (root only): this on its first line, the digest's view keys on the second. */
interface PlanCache {
  version: typeof FORMAT;
  /** policyFiles() when the plan was rendered. */
  files: string;
  /** cacheKey(): the files, the answers, the backend, the command-line paths, this helper's code. */
  key: string;
  /** helperCode() that wrote it: only the same code may take view hashes from its digest by key. */
  code: string;
  questions: Questions;
  digest: PlanDigest;
  /** Whether dpkg owned the viewer, and in which state of its database (viewer.ts dpkgAnswer); absent: not asked. */
  dpkg?: DpkgAnswer;
}

/**
 * sha256 over the main policy file and every entry of policy.d (name and content, whatever its extension, or why it
 * could not be read): more than loadPolicy reads, so that nothing it reads can change unseen.
 */
async function policyFiles(mainFile: string, fragmentDir: string): Promise<string> {
  const entries = await readdir(fragmentDir).catch((err: NodeJS.ErrnoException) => [`\0${err.code ?? 'error'}`]);
  const parts: string[] = [];
  for (const file of [mainFile, ...entries.sort().map((n) => path.join(fragmentDir, n))]) {
    const content = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => `\0${err.code ?? 'error'}`);
    parts.push(`${file}\0${content.length}\0${content}`);
  }
  return sha256(parts.join('\0'));
}

/** What gatherFacts will ask about `policy`. */
export function questionsOf(policy: Policy): Questions {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const e of policy.entitlements) {
    e.users.forEach((u) => users.add(u.name));
    e.groups.forEach((g) => groups.add(g.name));
  }
  const servers = [...policy.servers.values()].map((s) => ({ id: s.id, host: s.host, ca: s.ca }));
  return { backend: policy.firewall.backend, viewerGroup: policy.viewer.group, users: [...users].sort(), groups: [...groups].sort(), servers };
}

/** The smallest policy that makes gatherFacts ask exactly `q` (test/unit/plan-cache.test.ts holds it to that). */
export function askingPolicy(q: Questions): Policy {
  const pos = { file: '', line: 0, col: 0 };
  const servers = new Map(q.servers.map((s) => [s.id, { ...s, hostSubject: '', pos }]));
  const entitlement = { vm: '', users: q.users.map((name) => ({ name, pos })), groups: q.groups.map((name) => ({ name, pos })), when: null, pos };
  return { viewer: { path: '', group: q.viewerGroup }, firewall: { backend: q.backend, protect: [], log: false }, servers, vms: new Map(), entitlements: [entitlement], files: [] };
}

/** A canonical text of the facts a plan is rendered from (the clock only as the zone offset it renders with). */
export function factsText(f: Facts): string {
  const sorted = <V>(m: Map<string, V> | undefined) => [...(m ?? new Map<string, V>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    f.viewerGid,
    sorted(f.users),
    sorted(f.groups),
    sorted(f.groupGids),
    (f.refused ?? []).map((r) => JSON.stringify(r)).sort(),
    sorted(f.addresses),
    sorted(f.ca),
    sorted(f.serverProblems),
    f.utcOffsetMinutes,
  ]);
}

let codeHash: string | null | undefined;
/** This helper's own code: another version may render other bytes from the same inputs. */
export async function helperCode(): Promise<string | null> {
  if (codeHash === undefined) codeHash = process.argv[1] ? await readFile(process.argv[1]).then((b) => sha256(b.toString('latin1')), () => null) : null;
  return codeHash;
}

async function cacheKey(files: string, facts: Facts, backend: Plan['backend'], opts: Omit<PlanOptions, 'backend'>, strict: boolean): Promise<string | null> {
  const code = await helperCode();
  return code === null ? null : sha256(JSON.stringify([FORMAT, code, files, factsText(facts), backend, opts, strict]));
}

// The view keys (10,000 at 100,000 per-vm entitlements) are the file's second line: a cache hit, which needs
// none of them, parses only the first.
const NO_KEYS: ViewKeys = { salt: '', keys: {} };

/** The view keys line as written, or NO_KEYS (an empty salt matches no plan's) when it is not that. */
function parseKeys(line: string): ViewKeys {
  try {
    const k = JSON.parse(line) as ViewKeys;
    return typeof k?.salt === 'string' && typeof k.keys === 'object' && k.keys !== null ? k : NO_KEYS;
  } catch {
    return NO_KEYS;
  }
}

async function readCache(stateDir: string): Promise<PlanCache | null> {
  const bytes = await readFile(statePaths(stateDir).planCache).catch(() => null);
  if (bytes === null) return null;
  try {
    // Only the first line is decoded now: the second (the view keys, as large again) only if they are asked for.
    const nl = bytes.indexOf(0x0a);
    const c = JSON.parse(bytes.toString('utf8', 0, nl < 0 ? bytes.length : nl)) as PlanCache;
    const wellFormed = typeof c.key === 'string' && typeof c.code === 'string' && typeof c.files === 'string' && c.questions && typeof c.digest?.views === 'object' && c.digest.views !== null;
    if (c.version !== FORMAT || !wellFormed) return null;
    let keys: ViewKeys | undefined;
    Object.defineProperty(c.digest, 'viewKeys', { get: () => (keys ??= nl < 0 ? NO_KEYS : parseKeys(bytes.toString('utf8', nl + 1))), enumerable: true });
    return c;
  } catch {
    return null;
  }
}

/** What the plan cache offers: see cachedDigest. */
export interface Cached {
  /** The cached digest, when every input is what it was. */
  hit: PlanDigest | null;
  /** The cached digest, hit or not, when this same helper wrote it: its view hashes stand for views with the same keys. */
  previous: PlanDigest | null;
  /** dpkg's answer about the viewer recorded with it, if any (checked against dpkg's database before use). */
  dpkg: DpkgAnswer | null;
  /** What the cached plan asked NSS, when the policy files changed since: asked again while they are parsed (askEarly). */
  questions: Questions | null;
}

/** What the plan cache holds for this run (when `hit` is null the caller parses and renders). `files`: policyFilesNow(). */
export async function cachedDigest(ctx: Context, files: string, opts: Omit<PlanOptions, 'backend'>): Promise<Cached> {
  const cache = await readCache(ctx.paths.stateDir);
  const previous = cache !== null && cache.code === (await helperCode()) ? cache.digest : null;
  const dpkg = previous !== null ? (cache?.dpkg ?? null) : null;
  if (cache === null || previous === null || files !== cache.files) return { hit: null, previous, dpkg, questions: cache?.questions ?? null };
  const facts = await gatherFacts(askingPolicy(cache.questions), { exec: ctx.exec, ...(ctx.now ? { now: ctx.now } : {}) });
  const backend = await chooseBackend(ctx.exec, cache.questions.backend);
  const key = await cacheKey(cache.files, facts, backend, opts, ctx.strict);
  // A viewer group that does not exist yet is created by the full path (apply), never skipped.
  return { hit: key !== null && key === cache.key && cache.digest.viewer.gid !== null ? cache.digest : null, previous, dpkg, questions: null };
}

/** Starts a cache entry: the policy files as they are before parsing (compared again when it is written). */
export function policyFilesNow(ctx: Context): Promise<string> {
  return policyFiles(ctx.paths.policy, ctx.paths.policyDir);
}

/**
 * Records the plan just applied (or found in force) for the next run, unless a policy file changed meanwhile;
 * `dpkg`: what dpkg answered about the viewer in this run, if it was asked.
 */
export async function writePlanCache(ctx: Context, filesBefore: string, prepared: Prepared, digest: PlanDigest, opts: Omit<PlanOptions, 'backend'>, dpkg?: DpkgAnswer): Promise<void> {
  if ((await policyFilesNow(ctx)) !== filesBefore) return;
  const key = await cacheKey(filesBefore, prepared.facts, prepared.plan.backend, opts, ctx.strict);
  const code = await helperCode();
  if (key === null || code === null) return;
  const { viewKeys, ...rest } = digest;
  const cache = { version: FORMAT, files: filesBefore, key, code, questions: questionsOf(prepared.policy), digest: rest, ...(dpkg ? { dpkg } : {}) };
  await writeAtomic(statePaths(ctx.paths.stateDir).planCache, `${JSON.stringify(cache)}\n${JSON.stringify(viewKeys)}\n`, { mode: 0o600, uid: 0, gid: 0 }, { fsync: false });
}
