// Makes the ruleset changes `watch` itself makes recognisable in `nft monitor`, so its repairs never wake it again.
//
// nft closes each transaction with `# new generation N by process PID (COMM)`. The pid is the kernel's global one
// (task_pid_nr): inside a container's pid namespace it is not the pid our spawn saw. COMM is the base name of the
// path the process was started from (up to 15 characters), whatever argv[0] says: so our nft and
// iptables-restore run through symlinks named `cgwatch-…` in a private directory, with their usual argv[0]
// (xtables-nft-multi picks its tool from argv[0]). Both tests count: the pid outside containers, the name inside.
import { access, constants, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Exec } from '../system/exec.js';
import type { Transaction } from './monitor-events.js';

/** The prefix of watch's commands' names as the kernel reports them. */
export const OWN_COMM_PREFIX = 'cgwatch-';
/** The prefix of apply's: its loads are the policy's, so watch leaves them alone too (no reload after each apply). */
export const APPLY_COMM_PREFIX = 'cgapply-';
const OURS = [OWN_COMM_PREFIX, APPLY_COMM_PREFIX];
// The tools whose runs commit ruleset transactions; everything else runs as it is.
const TOOLS = ['nft', 'iptables-restore', 'ip6tables-restore', 'iptables', 'ip6tables'];
const PIDS_KEPT = 64;

/** An Exec whose firewall tools are recognisable, and the test that recognises them. */
export interface OwnCommands {
  exec: Exec;
  isOwn(t: Transaction): boolean;
  /** Whether the tools run under our names (false: the symlinks could not be made; only pids then). */
  named: boolean;
  close(): Promise<void>;
}

/** Wraps `run`: firewall tools start through symlinks named `prefix…`, and every child's pid is remembered. */
export async function ownCommands(run: Exec, env: NodeJS.ProcessEnv = process.env, prefix: string = OWN_COMM_PREFIX): Promise<OwnCommands> {
  const pids: number[] = [];
  const links = new Map<string, string>();
  let dir: string | null = null;
  try {
    dir = await mkdtemp(path.join(os.tmpdir(), `consolegate-${prefix}`));
    for (const tool of TOOLS) {
      const target = await findOnPath(tool, env);
      if (target === null) continue;
      const link = path.join(dir, `${prefix}${tool}`);
      await symlink(target, link);
      links.set(tool, link);
    }
  } catch {
    links.clear(); // a read-only /tmp: fall back to pids, which work outside pid namespaces
  }
  const exec: Exec = (argv, o) => {
    const [tool, ...rest] = argv;
    const link = tool === undefined ? undefined : links.get(tool);
    return run(link === undefined ? argv : [link, ...rest], {
      ...o,
      ...(link !== undefined ? { argv0: tool } : {}),
      onSpawn: (pid) => {
        pids.push(pid);
        if (pids.length > PIDS_KEPT) pids.shift();
        o?.onSpawn?.(pid);
      },
    });
  };
  return {
    exec,
    named: links.size > 0,
    isOwn: (t) => (t.comm !== null && OURS.some((p) => t.comm!.startsWith(p))) || (t.pid !== null && pids.includes(t.pid)),
    close: async () => {
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const d of (env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (d === '') continue;
    const p = path.join(d, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  return null;
}
