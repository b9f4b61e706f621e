// Running system commands without a shell; injected into apply/ so tests can see what ran.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

/** What a finished command left behind. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for one command. */
export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra file descriptors passed to the child from index 3 on. */
  fds?: number[];
  /** Write the child's stdout to this descriptor instead of collecting it (the result's stdout is then ''). */
  stdout?: number;
  /** Told the child's pid as soon as it is spawned (`watch` ignores the nft transactions of its own children). */
  onSpawn?: (pid: number) => void;
  /** The child's argv[0] when argv[0] is another path to run (`watch` runs nft under a name of its own). */
  argv0?: string;
}

/** Runs argv[0] with the rest as arguments; never throws for a non-zero exit, only when it cannot start. */
export type Exec = (argv: string[], options?: ExecOptions) => Promise<ExecResult>;

/** The real thing: child_process.spawn, no shell, output collected. */
export const exec: Exec = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return reject(new Error('exec: empty command'));
    const child = spawn(cmd, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', options.stdout ?? 'pipe', 'pipe', ...(options.fds ?? [])],
      ...(options.argv0 !== undefined ? { argv0: options.argv0 } : {}),
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    // A child that exits before reading its input must not crash us with EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });

/** Runs a command and throws with its stderr when it fails. */
export async function mustExec(run: Exec, argv: string[], options?: ExecOptions): Promise<ExecResult> {
  const r = await run(argv, options);
  if (r.code !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').slice(0, 6).join('\n');
    throw new Error(`\`${argv.join(' ')}\` exited ${r.code}${why ? `: ${why}` : ''}`);
  }
  return r;
}

/** Whether a program can be found on PATH (or at an absolute path). */
export async function hasCommand(name: string): Promise<boolean> {
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of dirs) {
    try {
      await access(d ? `${d}/${name}` : name, constants.X_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}
