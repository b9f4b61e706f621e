// A throwaway network namespace plus a private mount namespace, held open by one `sleep` process; every command of
// the lab enters both with nsenter. Host firewall, host /etc/sudoers.d and host /etc/hosts are never touched:
// the namespace has its own nft ruleset, and our mounts exist only inside the private mount namespace.
import { execa, type Options } from 'execa';

/** A user the lab created (or any account), by name and numeric ids. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** How to run a command inside: as root (default), or as a user with an optional primary group. */
export interface AsOptions {
  user?: Account;
  /** Primary group name for the user's process (like `sudo -g`); the user's own groups stay supplementary. */
  group?: string;
  /** Environment on top of the user's fresh login environment (HOME, USER, PATH from passwd). */
  env?: Record<string, string>;
}

/** The running sandbox. */
export interface NetnsSandbox {
  readonly name: string;
  readonly holderPid: number;
  /** /proc/<holder>/net: the namespace's socket tables, readable from outside. */
  readonly procNet: string;
  /** The argv that runs `argv` inside the namespaces, as root or as a user. */
  argv(argv: string[], as?: AsOptions): string[];
  /** Runs a command inside and waits (never rejects; look at exitCode). */
  run(argv: string[], as?: AsOptions, opts?: Options): ReturnType<typeof execa>;
  /** Bind-mounts `source` over `target` inside the private mount namespace only. */
  bind(source: string, target: string): Promise<void>;
  close(): Promise<void>;
}

/** Creates netns `name` with lo up and a private mount namespace held by a sleeping process. */
export async function createNetnsSandbox(name: string): Promise<NetnsSandbox> {
  await execa('ip', ['netns', 'add', name]);
  let holder: ReturnType<typeof execa> | undefined;
  try {
    await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // nsenter and unshare exec in place (no fork), so the pid we get is the holder's own.
    holder = execa('nsenter', [`--net=/run/netns/${name}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sleep', 'infinity'], {
      stdio: 'ignore',
      reject: false,
      cleanup: true,
    });
    const pid = holder.pid;
    if (pid === undefined) throw new Error('could not start the namespace holder');
    await waitFor(async () => (await execa('readlink', [`/proc/${pid}/exe`], { reject: false })).stdout.endsWith('/sleep'), 5000, 'namespace holder');
    const prefix = ['nsenter', '-t', String(pid), '-n', '-m', '--'];
    const argvFor = (argv: string[], as: AsOptions = {}): string[] => {
      if (as.user === undefined) return [...prefix, ...(as.env ? ['env', ...envPairs(as.env)] : []), ...argv];
      // setpriv gives exactly the ids we ask for (no PAM, no session), like sudo -u U -g G does.
      const group = as.group ?? String(as.user.gid);
      return [...prefix, 'setpriv', `--reuid=${as.user.uid}`, `--regid=${group}`, '--init-groups', '--reset-env', '--', 'env', ...envPairs(as.env ?? {}), ...argv];
    };
    const self: NetnsSandbox = {
      name,
      holderPid: pid,
      procNet: `/proc/${pid}/net`,
      argv: argvFor,
      run(argv, as, opts) {
        const [file, ...args] = argvFor(argv, as);
        return execa(file as string, args, { reject: false, ...opts });
      },
      async bind(source, target) {
        await execa('nsenter', ['-t', String(pid), '-m', '--', 'mount', '--bind', source, target]);
      },
      async close() {
        holder?.kill('SIGKILL');
        await holder?.catch(() => undefined);
        await execa('ip', ['netns', 'del', name], { reject: false });
      },
    };
    return self;
  } catch (err) {
    holder?.kill('SIGKILL');
    await execa('ip', ['netns', 'del', name], { reject: false });
    throw err;
  }
}

function envPairs(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** Polls `check` until it is true or the time is up (then throws naming `what`). */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
