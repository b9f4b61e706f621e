// nftables: our table is filled in place, listed canonically, and deleted only by `remove`; nothing outside
// `inet consolegate` is touched.
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mustExec, type Exec } from '../system/exec.js';
import { withNssShim } from '../system/nss-shim.js';
import { NFT_TABLE } from '../plan/nft.js';
import { canonicalListing, replaceScript } from '../plan/nft-replace.js';
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

/** Starts listing our table now, to be awaited later (after parsing, say); a failure is thrown then. */
export function nftListingStarted(run: Exec): Promise<string | null> {
  const listing = nftListOwned(run);
  listing.catch(() => undefined); // handled where it is awaited
  return listing;
}

/**
 * Loads a script with `nft -f`: one kernel transaction, all or nothing. The script goes through a complete file,
 * not a pipe: if we are killed while writing, nft never sees a prefix — and a prefix ending right after the
 * flushes is itself a valid script that would leave the ports open.
 */
export async function nftLoad(run: Exec, script: string): Promise<void> {
  await withTempFile('ruleset.nft', async (file) => {
    await writeFile(file, script, { mode: 0o600 });
    await mustExec(run, ['nft', '-f', file], { env: withNssShim(UTC.env) });
  });
}

/** Deletes our table if it exists. */
export async function nftRemove(run: Exec): Promise<void> {
  if ((await nftListOwned(run)) !== null) await nftLoad(run, `delete table ${NFT_TABLE}\n`);
}

/** Makes our table exactly `table` (a rendered table or an earlier listing) in one transaction, in place. */
export async function nftReplace(run: Exec, table: string): Promise<void> {
  await nftLoad(run, replaceScript(await nftListOwned(run), table));
}

/**
 * The firewall step for nftables. With no previous table, rollback leaves `denyOnly` so ports stay closed.
 * `listed`: the live table as the caller read it moments ago under the apply lock, instead of reading it again.
 */
export function nftStep(run: Exec, table: string, denyOnly: string, listed?: string | null): Step<string | null> {
  let before: string | null = null;
  return {
    name: 'firewall (nftables)',
    snapshot: async () => (before = listed === undefined ? await nftListOwned(run) : listed),
    apply: () => nftLoad(run, replaceScript(before, table)),
    rollback: async (previous) => {
      // A failed `nft -f` changed nothing: the kernel applies the whole script or none of it.
      const live = await nftListOwned(run);
      if (previous !== null && live === previous) return;
      await nftLoad(run, replaceScript(live, previous ?? denyOnly));
    },
  };
}
