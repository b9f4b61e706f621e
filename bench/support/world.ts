// A benchmark world: the shared test sandbox (namespace, private /etc/sudoers.d) plus generated NSS files,
// so 100,000 entitlements can name 10,000 accounts without a single useradd on the host.
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exec, type ExecResult } from '../../helper/src/system/exec.js';
import { HELPER, Sandbox } from '../../test/support/sandbox.js';

/** First uid of the generated accounts; far above anything useradd hands out, so it never collides. */
export const FIRST_UID = 3_000_000;
/** gid of the viewer group inside the generated /etc/group. */
export const VIEWER_GID = 2_999_999;
/** Primary gid of every generated account (`users`); its own group is never the viewer group. */
export const USERS_GID = 100;
/** The generated group that the `group` policy shape entitles (members listed in /etc/group). */
export const BENCH_GROUP = 'benchgrp';
/** Its gid: no generated account has it as primary group, so its members are exactly the listed ones. */
export const BENCH_GROUP_GID = 2_999_998;

// Every live world, so an interrupted benchmark can still remove its namespaces and files (see run.ts).
const live = new Set<World>();

/** Removes every world not yet cleaned up; for signal handlers. */
export async function cleanupAllWorlds(): Promise<void> {
  for (const w of [...live]) await w.cleanup();
}

/** How to run one command in the world. */
export interface WorldRunOptions {
  env?: Record<string, string>;
  input?: string;
  /** Run as this uid/gid (setpriv), after the namespace is entered; `groups`: a login session's supplementary groups. */
  as?: { uid: number; gid: number; groups?: number[] };
  /**
   * Enter only the namespace and keep the host's /etc: for loading rule variants, because nft and iptables
   * call getpwnam() for every uid they parse and would scan our generated /etc/passwd each time.
   */
  hostNss?: boolean;
}

/** A sandbox whose commands see `accounts` generated users through /etc/passwd and /etc/group bind mounts. */
export class World {
  private constructor(
    readonly sb: Sandbox,
    readonly accounts: number,
  ) {}

  /**
   * Creates the sandbox and the NSS files: the host's entries first (root, daemons), then ours. `groupMembers`:
   * also create BENCH_GROUP listing the first that many generated accounts (the `group` policy shape).
   */
  static async create(accounts: number, opts: { groupMembers?: number } = {}): Promise<World> {
    const sb = await Sandbox.create();
    // An overlay over /etc, not bind mounts over the two files: other tests' useradd renames a new
    // /etc/passwd into place, and the kernel then detaches a bind mount sitting on the old one.
    // Read-only (two lower layers, no upper), so any number of commands can mount it at once.
    const layer = path.join(sb.dir, 'etc-nss');
    await mkdir(layer, { mode: 0o755 });
    const passwd = path.join(layer, 'passwd');
    const group = path.join(layer, 'group');
    const users = Array.from({ length: accounts }, (_, i) => `${userName(i)}:x:${FIRST_UID + i}:${USERS_GID}::/nonexistent:/usr/sbin/nologin`);
    await writeFile(passwd, `${(await readFile('/etc/passwd', 'utf8')).trimEnd()}\n${users.join('\n')}\n`, { mode: 0o644 });
    // The viewer group exists up front: /etc is read-only in the world, so apply must not need groupadd.
    const members = Array.from({ length: Math.min(opts.groupMembers ?? 0, accounts) }, (_, i) => userName(i));
    const benchGroup = opts.groupMembers === undefined ? '' : `${BENCH_GROUP}:x:${BENCH_GROUP_GID}:${members.join(',')}\n`;
    await writeFile(group, `${(await readFile('/etc/group', 'utf8')).trimEnd()}\n${sb.viewerGroup}:x:${VIEWER_GID}:\n${benchGroup}`, { mode: 0o644 });
    const w = new World(sb, accounts);
    live.add(w);
    return w;
  }

  get viewerGroup(): string {
    return this.sb.viewerGroup;
  }

  /** The argv prefix that enters the world: a private /etc (overlay with our NSS files, sandbox sudoers.d), then the namespace. */
  prefix(opts: { as?: { uid: number; gid: number; groups?: number[] }; hostNss?: boolean } = {}): string[] {
    const script = [
      'mount -t overlay consolegate-bench -o "lowerdir=$0/etc-nss:/etc" /etc',
      'mount --bind "$0/sudoers.d" /etc/sudoers.d',
      'exec ip netns exec "$1" "${@:2}"',
    ].join(' && ');
    const groups = opts.as?.groups?.length ? `--groups=${opts.as.groups.join(',')}` : '--clear-groups';
    const as = opts.as ? ['setpriv', `--reuid=${opts.as.uid}`, `--regid=${opts.as.gid}`, groups, '--'] : [];
    if (opts.hostNss) return ['ip', 'netns', 'exec', this.sb.ns, ...as];
    return ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', script, this.sb.dir, this.sb.ns, ...as];
  }

  /** Runs argv inside the world and waits for it. */
  run(argv: string[], opts: WorldRunOptions = {}): Promise<ExecResult> {
    return exec([...this.prefix(opts), ...argv], { input: opts.input, env: { ...process.env, ...this.sb.env, ...opts.env } });
  }

  /** Runs argv inside the world and returns its wall time in ms (spawn to exit), failing loudly on a non-zero exit. */
  async timed(argv: string[], opts: WorldRunOptions = {}): Promise<{ ms: number; result: ExecResult }> {
    const t0 = performance.now();
    const result = await this.run(argv, opts);
    const ms = performance.now() - t0;
    if (result.code !== 0) throw new Error(`${argv.join(' ').slice(0, 120)} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 600)}`);
    return { ms, result };
  }

  /** The built helper, inside the world. */
  helper(args: string[], env: Record<string, string> = {}): Promise<ExecResult> {
    return this.run(['node', HELPER, ...args], { env });
  }

  /** Starts a long-running process inside the world; the sandbox does not know it, so the caller kills it by PID. */
  spawn(argv: string[], opts: WorldRunOptions = {}): ReturnType<typeof spawn> {
    const [cmd, ...args] = [...this.prefix(opts), ...argv];
    return spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.sb.env, ...opts.env } });
  }

  /** Removes the sandbox (namespace, files); the generated accounts only ever existed in its files. */
  async cleanup(): Promise<void> {
    live.delete(this);
    await this.sb.cleanup();
  }
}

/** Name of generated account `i`: short, valid for ACCOUNT_RE, and sorting with its uid. */
export function userName(i: number): string {
  return `cgb${String(i).padStart(6, '0')}`;
}

/** Runs a command outside any world (host tools like gcc), throwing on failure. */
export async function mustRun(argv: string[]): Promise<ExecResult> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/**
 * Puts the world's state directory on a fresh journaled ext4 (a loop-mounted 1 GiB image), as on a client installed
 * by Debian's installer; this machine's root ext4 has no journal (see apply.ts). Returns the undo, or why it could not.
 */
export async function journaledState(w: World): Promise<{ undo: () => Promise<void> } | { why: string }> {
  const image = path.join(w.sb.dir, 'state-ext4.img');
  const made = await exec(['sh', '-c', 'truncate -s 1G "$0" && mkfs.ext4 -q -F -O has_journal "$0" && mount -o loop "$0" "$1"', image, w.sb.stateDir]);
  if (made.code !== 0) return { why: made.stderr.trim().split('\n')[0] || `exit ${made.code}` };
  const undo = async () => {
    await exec(['umount', w.sb.stateDir]);
    await rm(image, { force: true });
  };
  try {
    await chmod(w.sb.stateDir, 0o755);
  } catch (err) {
    await undo();
    throw err;
  }
  return { undo };
}
