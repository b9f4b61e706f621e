// Shared by the packaging tests: repository paths, skip reasons, and building the helper packages once.
import { rmSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, hasCommand, mustExec } from '../../../helper/src/system/exec.js';

export { exec, mustExec };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SUPPORT = path.join(REPO, 'test/packaging/support');

/** Why a test that needs `command` cannot run (naming the Debian package to install), or undefined. */
export async function missing(command: string, debianPackage: string): Promise<string | undefined> {
  return (await hasCommand(command)) ? undefined : `\`${command}\` is not installed (apt-get install ${debianPackage})`;
}

/** The first reason in the list, for `{ skip }`; undefined when every requirement is met. */
export async function firstReason(...reasons: Array<Promise<string | undefined> | string | undefined>): Promise<string | undefined> {
  for (const r of reasons) {
    const why = await r;
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Why a root-only test cannot run, or undefined. */
export function notRoot(what: string): string | undefined {
  return process.getuid?.() === 0 ? undefined : `needs root (${what})`;
}

/** The built packages of one test process. */
export interface HelperPackages {
  deb: string;
  rpm: string;
}

let built: Promise<HelperPackages> | undefined;

/**
 * Builds consolegate-helper's .deb and .rpm from the current dist/ into a temporary directory, once per
 * test process. dist/ must be built already (CI does that first; locally: npm run build).
 */
export function helperPackages(): Promise<HelperPackages> {
  built ??= (async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'cg-packages-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    await mustExec(exec, ['bash', path.join(REPO, 'scripts/dist-helper.sh'), '--no-build', '--out', out]);
    const files = await readdir(out);
    const pick = (ext: string): string => {
      const f = files.find((n) => n.endsWith(ext));
      if (f === undefined) throw new Error(`dist-helper.sh made no ${ext} in ${out}: ${files.join(', ')}`);
      return path.join(out, f);
    };
    return { deb: pick('.deb'), rpm: pick('.rpm') };
  })();
  return built;
}

/** The units the package enables and the target each is wanted by. */
export const UNIT_TARGETS = {
  'consolegate-apply-early.service': 'sysinit.target',
  'consolegate-apply.service': 'multi-user.target',
  'consolegate-apply.path': 'paths.target',
  'consolegate-refresh.timer': 'timers.target',
  'consolegate-watch.service': 'sysinit.target',
};

/** A one-VM policy entitling alice, with the given viewer group. */
export function testPolicy(group: string): string {
  return `version: 1
viewer: { path: /usr/bin/remote-viewer, group: ${group} }
firewall: { backend: nftables, protect: [{ ports: "20000-20999" }] }
servers:
  local: { host: 127.0.0.1, ca: /etc/consolegate/ca/local.pem, host-subject: "CN=localhost" }
vms:
  debianx: { server: local, tls-port: 20002 }
entitlements:
  - { vm: debianx, users: [alice] }
`;
}
