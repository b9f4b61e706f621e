// The NSS short-cut for the firewall tools: helper/native/nss-numeric.c, preloaded into nft and
// iptables-restore so that they take our numeric uids as numbers instead of looking each up in NSS first.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

const NAME = 'nss-numeric.so';
let found: string | null | undefined;

/**
 * The shim beside the running helper bundle (the package installs both in /usr/lib/consolegate; a build puts
 * both in dist/), or null. A library preloaded into root's tools must be root's alone: a regular file owned by
 * root that nobody else may write, in a directory nobody else may write. Otherwise the tools run without it.
 */
export function nssShim(): string | null {
  if (found !== undefined) return found;
  found = null;
  const script = process.argv[1];
  if (!script) return found;
  try {
    // `npx consolegate-helper` runs it through node_modules/.bin's symlink.
    const file = path.join(path.dirname(realpathSync(script)), NAME);
    const [f, d] = [statSync(file), statSync(path.dirname(file))];
    if (f.isFile() && f.uid === 0 && (f.mode & 0o022) === 0 && d.uid === 0 && (d.mode & 0o022) === 0) found = file;
  } catch {
    // absent: the tools do their own lookups
  }
  return found;
}

/** The environment for a firewall tool: `base` with the shim preloaded when there is one. */
export function withNssShim(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const shim = nssShim();
  if (shim === null) return base;
  return { ...base, LD_PRELOAD: [shim, base.LD_PRELOAD].filter(Boolean).join(' ') };
}
