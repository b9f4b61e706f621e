// Loading, listing and removing the two host tables; both change in one `nft -f` transaction, in place.
import { createHash } from 'node:crypto';
import { nftLoad } from '../apply/nft.js';
import { canonicalListing, replaceScript } from '../plan/nft-replace.js';
import type { Exec } from '../system/exec.js';
import { HOST_TABLES, type HostTables } from './render.js';

/** What is live of our two tables (canonical listings), null for a table that does not exist. */
export interface HostListing {
  inet: string | null;
  bridge: string | null;
}

/** Lists one table statelessly (`-s`: no counters), or null when it does not exist. */
async function listTable(run: Exec, table: string): Promise<string | null> {
  const r = await run(['nft', '-s', 'list', 'table', ...table.split(' ')], { env: { ...process.env, TZ: 'UTC' } });
  if (r.code === 0) return canonicalListing(r.stdout);
  if (/No such file or directory|does not exist/i.test(r.stderr)) return null;
  throw new Error(`\`nft list table ${table}\` exited ${r.code}: ${r.stderr.trim()}`);
}

/** Both tables as they are now. */
export async function listHost(run: Exec): Promise<HostListing> {
  const [inet, bridge] = await Promise.all([listTable(run, HOST_TABLES.inet), listTable(run, HOST_TABLES.bridge)]);
  return { inet, bridge };
}

/**
 * One script turning `live` into `desired`: each table is filled in place (never deleted, so its base chain never
 * unhooks), both in the same kernel transaction — there is no moment with new console rules and old guest bindings.
 * `desired.bridge === null` deletes the bridge table (the deny-only fallback keeps no stale bindings around).
 */
export function hostScript(live: HostListing, desired: { inet: string; bridge: string | null }): string {
  const bridge =
    desired.bridge !== null
      ? replaceScript(live.bridge, desired.bridge, HOST_TABLES.bridge)
      : live.bridge !== null
        ? `delete table ${HOST_TABLES.bridge}\n`
        : '';
  return `${replaceScript(live.inet, desired.inet, HOST_TABLES.inet)}\n${bridge}`;
}

/** Loads `desired` over what is live, in one transaction. */
export async function loadHost(run: Exec, live: HostListing, desired: { inet: string; bridge: string | null }): Promise<void> {
  await nftLoad(run, hostScript(live, desired));
}

/** Deletes whichever of our tables exist, in one transaction; nothing else is touched. */
export async function removeHost(run: Exec): Promise<boolean> {
  const live = await listHost(run);
  const script = [live.inet !== null ? `delete table ${HOST_TABLES.inet}` : '', live.bridge !== null ? `delete table ${HOST_TABLES.bridge}` : ''].filter(Boolean);
  if (script.length > 0) await nftLoad(run, `${script.join('\n')}\n`);
  return script.length > 0;
}

/** sha256 of both tables as listed (the drift fingerprint recorded after apply). */
export function listingFingerprint(l: HostListing): string {
  return sha256(`${l.inet ?? '-'}\n=====\n${l.bridge ?? '-'}`);
}

/** sha256 of the rendered tables (changes when the policy, libvirt or the server's VMs change). */
export function renderedFingerprint(t: HostTables): string {
  return sha256(`${t.inet}\n=====\n${t.bridge}`);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
