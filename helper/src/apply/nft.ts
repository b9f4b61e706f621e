// nftables: our table is filled in place, listed canonically, and deleted only by `remove`; nothing outside
// `inet consolegate` is touched.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mustExec, type Exec } from '../system/exec.js';
import { withNssShim } from '../system/nss-shim.js';
import { sha256 } from '../plan/digest.js';
import { NFT_TABLE } from '../plan/nft.js';
import { nftElements, nftSkeleton } from '../plan/nft-fingerprint.js';
import { canonicalListing, replaceScript, splitTable } from '../plan/nft-replace.js';
import { nextGeneration, rulesetGeneration, sameGeneration, type Generation } from './generation.js';
import type { Step } from './step.js';

// The rendered hours are UTC already; nft would otherwise shift them by the local zone on load and list.
const UTC = { env: { ...process.env, TZ: 'UTC' } };

/** Runs `fn` with a file path in a fresh private directory, removed afterwards whatever happens. */
async function withTempFile<T>(name: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'consolegate-nft-'));
  try {
    return await fn(path.join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The live table as nft lists it (stateless, objects in canonical order), or null when it does not exist. */
export async function nftListOwned(run: Exec): Promise<string | null> {
  // Into a file, not a pipe: at 100,000 elements the listing is megabytes and takes seconds, and it runs while
  // node is busy parsing or writing files (see nftListingStarted); nft would stall on a full pipe meanwhile.
  return withTempFile('listing', async (file) => {
    const fh = await open(file, 'w', 0o600);
    let r;
    try {
      r = await run(['nft', '-s', 'list', 'table', ...NFT_TABLE.split(' ')], { ...UTC, stdout: fh.fd });
    } finally {
      await fh.close();
    }
    if (r.code === 0) return canonicalListing(await readFile(file, 'utf8'));
    if (/No such file or directory|does not exist/i.test(r.stderr)) return null;
    throw new Error(`\`nft list table ${NFT_TABLE}\` exited ${r.code}: ${r.stderr.trim()}`);
  });
}

/**
 * Our table as `nft -t` lists the ruleset: chains and set declarations without elements, in milliseconds at any
 * size (listing the table itself fetches every element first, even with -t). Null when it does not exist.
 */
export async function nftListTerse(run: Exec): Promise<string | null> {
  const r = await run(['nft', '-s', '-t', 'list', 'ruleset'], UTC);
  if (r.code !== 0) throw new Error(`\`nft -t list ruleset\` exited ${r.code}: ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  const start = lines.indexOf(`table ${NFT_TABLE} {`);
  if (start < 0) return null;
  const end = lines.indexOf('}', start);
  return lines.slice(start, end < 0 ? undefined : end + 1).join('\n') + '\n';
}

/** Starts listing our table now, to be awaited later (after parsing, say); a failure is thrown then. */
export function nftListingStarted(run: Exec): Promise<string | null> {
  const listing = nftListOwned(run);
  listing.catch(() => undefined); // handled where it is awaited
  return listing;
}

/**
 * Loads a script with `nft -f`: one kernel transaction, all or nothing. The script goes through a complete file,
 * not a pipe: if we are killed while writing, nft never sees a prefix — and a prefix ending right after the
 * flushes is itself a valid script that would leave the ports open. The file is written synchronously, so nft
 * is already running when this returns: the caller's next work overlaps the load.
 */
export async function nftLoad(run: Exec, script: string): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'consolegate-nft-'));
  try {
    const file = path.join(dir, 'ruleset.nft');
    writeFileSync(file, script, { mode: 0o600 });
    await mustExec(run, ['nft', '-f', file], { env: withNssShim(UTC.env) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deletes our table if it exists. */
export async function nftRemove(run: Exec): Promise<void> {
  if ((await nftListTerse(run)) !== null) await nftLoad(run, `delete table ${NFT_TABLE}\n`);
}

/** Makes our table exactly `table` (a rendered table or an earlier listing) in one transaction, in place. */
export async function nftReplace(run: Exec, table: string): Promise<void> {
  await nftLoad(run, replaceScript(await nftListOwned(run), table));
}

/**
 * What a command knows of our live table: nft's listing (null: no table) with the generation read before it, or —
 * while the ruleset generation has not moved since our last load — that the kernel holds exactly the text we
 * loaded then (`loaded.nft`).
 */
export type NftLive = { kind: 'listed'; listing: string | null; generation: Generation | null } | { kind: 'sealed'; generation: Generation; loadedFile: string; loadedSha: string };

/** What we loaded, recorded in state.json: hashes of it and, when provably ours alone, the generation after it. */
export interface NftSeal {
  /** nftSkeleton of nft's own terse listing right after the load. */
  skeleton: string;
  /** nftElements of the text we loaded. */
  elements: string;
  /** sha256 of that text, as saved in loaded.nft. */
  file: string;
  /** The generation our transaction made; null when another one came between (then the next check lists). */
  generation: Generation | null;
}

/**
 * What we loaded, once nft's terse listing after the load has given the skeleton: generation `g1` followed our
 * load at once (`g0` before it). Ours alone: our load was the only transaction, and none came before the listing.
 * When another one came between, what the listing shows may not be ours: recorded as unknown, so the next check
 * sees a difference (drift) and the next apply loads and seals again. Without generations, trust the listing.
 */
async function sealOf(run: Exec, g0: Generation | null, g1: Generation | null, elements: string, file: string): Promise<NftSeal> {
  const terse = await nftListTerse(run);
  const g2 = await rulesetGeneration(run);
  const known = g0 !== null && g1 !== null;
  const ours = nextGeneration(g0, g1) && sameGeneration(g1, g2);
  return { skeleton: known && !ours ? 'unknown' : nftSkeleton(terse ?? ''), elements, file, generation: ours ? g1 : null };
}

/** The text `live` stands for: the listing, or loaded.nft when it is still what we loaded (else a fresh listing). */
async function liveText(run: Exec, live: NftLive | undefined): Promise<string | null> {
  if (live === undefined) return nftListOwned(run);
  if (live.kind === 'listed') return live.listing;
  const text = await readFile(live.loadedFile, 'utf8').catch(() => null);
  return text !== null && sha256(text) === live.loadedSha ? text : nftListOwned(run);
}

/**
 * The firewall step for nftables. With no previous table, rollback leaves `denyOnly` so ports stay closed.
 * `live`: the table as the caller found it under the apply lock, instead of listing it again. After loading,
 * `sealed()` tells what was loaded, for state.json: the terse listing it needs runs while the later steps apply.
 */
export function nftStep(run: Exec, table: string, denyOnly: string, live?: NftLive): Step<string | null> & { sealed(): Promise<NftSeal> | null } {
  let before: string | null = null;
  let seal: Promise<NftSeal> | null = null;
  return {
    name: 'firewall (nftables)',
    snapshot: async () => (before = await liveText(run, live)),
    apply: async () => {
      const g0 = await rulesetGeneration(run);
      // Someone changed the ruleset since the caller looked: what we start from must be read again.
      const start = live?.kind === 'sealed' && !sameGeneration(g0, live.generation) ? await nftListOwned(run) : before;
      const desired = splitTable(table);
      const loading = nftLoad(run, replaceScript(start, table, NFT_TABLE, desired));
      // Hashing 100,000 elements takes a while: it runs while nft loads them.
      const [elements, file] = [nftElements(table, desired), sha256(table)];
      await loading;
      const g1 = await rulesetGeneration(run);
      seal = sealOf(run, g0, g1, elements, file);
      seal.catch(() => undefined); // awaited by whoever records it (the state step), which fails with it
    },
    sealed: () => seal,
    rollback: async (previous) => {
      // A failed `nft -f` changed nothing: the kernel applies the whole script or none of it.
      const live = await nftListOwned(run);
      if (previous !== null && live === previous) return;
      await nftLoad(run, replaceScript(live, previous ?? denyOnly));
    },
  };
}
