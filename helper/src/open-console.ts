// open-console: the sudo target. sudo runs it as root (a rule naming `CG_<VM>` for the caller's `#uid`, her set's
// `User_Alias` or a `%#gid`); it checks that the caller may open VM now, then starts the viewer as the caller and
// feeds it the .vv on stdin.
//
// SMALL ON PURPOSE: it runs as root on a user's request. As root it does only this: read the root-only table,
// look up the caller's passwd entry, and start the viewer with the caller's uid, the viewer group, no
// supplementary groups, an environment from an allow-list and nothing but its .vv on stdin. Everything else
// (what the viewer does, the password dialog, TLS) happens in the child, which is the caller's own code anyway
// (GTK loads modules her settings name). This process keeps all its ids 0, so she can neither ptrace nor signal
// it; sudo relays her signals, and the only thing it does with one is pass it to the viewer.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PATHS, ID_RE, PATH_RE, TABLE_FILE, TABLE_VERSION, describeWindow, parseTable, policyClock, windowContains, type ConsoleTable, type TimeWindow } from './boundary/index.js';
import { renderVv } from './vv.js';

/** Exit codes (docs/interfaces.md); anything else is the viewer's own status. */
export const OC_EXIT = { usage: 64, identity: 65, noTable: 66, notEntitled: 67, outsideWindow: 68, viewer: 69, internal: 70 } as const;

// Fixed at build time on purpose: the environment is the caller's, and sudo's exact command line is the only override.
const DEFAULT_STATE_DIR: string = DEFAULT_PATHS.stateDir;
const MAX_PASSWORD = 4096;
/** Passed to the viewer when the caller has them; everything else sudo kept (TZ, PATH, …) stays behind. */
const ENV_ALLOWED = ['DISPLAY', 'XAUTHORITY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR', 'LANG', 'LANGUAGE'];
const ENV_ALLOWED_RE = /^LC_[A-Z]+$/;
const VIEWER_PATH = '/usr/local/bin:/usr/bin:/bin';

class Refusal extends Error {
  constructor(
    readonly exit: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `[--state-dir DIR] VM`; nothing else is accepted. */
export function parseOpenArgs(argv: string[]): { stateDir: string; vm: string } {
  let args = argv;
  let stateDir = DEFAULT_STATE_DIR;
  if (args[0] === '--state-dir') {
    const dir = args[1];
    if (dir === undefined || !PATH_RE.test(dir)) throw new Refusal(OC_EXIT.usage, '--state-dir needs an absolute path');
    stateDir = dir;
    args = args.slice(2);
  }
  const [vm, ...rest] = args;
  if (vm === undefined || rest.length > 0) throw new Refusal(OC_EXIT.usage, 'usage: sudo -n open-console [--state-dir DIR] VM');
  if (!ID_RE.test(vm)) throw new Refusal(OC_EXIT.usage, `not a VM id: ${JSON.stringify(vm).slice(0, 80)}`);
  return { stateDir, vm };
}

/** The caller, from what sudo set: we must be root through sudo, and SUDO_UID must name someone else. */
export function callerUid(env: NodeJS.ProcessEnv, ids: { uid: number; euid: number }): number {
  const raw = env.SUDO_UID;
  const uid = raw !== undefined && /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (ids.uid !== 0 || ids.euid !== 0 || !Number.isSafeInteger(uid) || uid > 0xfffffffe) {
    throw new Refusal(OC_EXIT.identity, 'run it through sudo as yourself: sudo -n open-console VM');
  }
  return uid;
}

// The policy's clock lives in the boundary module with the rest of the window arithmetic.
export { policyClock };

/** The decision, separated from I/O: which VM entry to open for `uid`, or why not. Never reads TZ. */
export function decide(table: ConsoleTable, vm: string, uid: number, now: Date) {
  const entry = Object.prototype.hasOwnProperty.call(table.vms, vm) ? table.vms[vm] : undefined;
  const mine = entry?.grants.filter((g) => g.uid === uid) ?? [];
  if (!entry || mine.length === 0) throw new Refusal(OC_EXIT.notEntitled, `you are not entitled to open ${vm}`);
  const clock = policyClock(now, table.utcOffsetMinutes);
  const windows = mine.map((g) => g.window);
  if (!windows.some((w) => w === null || windowContains(w, clock))) {
    const when = windows.map((w) => describeWindow(w as TimeWindow)).join('; ');
    throw new Refusal(OC_EXIT.outsideWindow, `${vm} is available to you only ${when} (local time); it is not available now`);
  }
  return entry;
}

/** The viewer's environment: the allow-list from the caller's, identity from her passwd entry, a fixed PATH. */
export function viewerEnv(callerEnv: NodeJS.ProcessEnv, account: { name: string; home: string; shell: string } | null): Record<string, string> {
  const env: Record<string, string> = { PATH: VIEWER_PATH };
  for (const [k, v] of Object.entries(callerEnv)) {
    if (v !== undefined && (ENV_ALLOWED.includes(k) || ENV_ALLOWED_RE.test(k))) env[k] = v;
  }
  // Without an entry GLib asks getpwuid() itself.
  if (account) Object.assign(env, { HOME: account.home, USER: account.name, LOGNAME: account.name, SHELL: account.shell });
  return env;
}

/** Reads the table; it must be a regular file owned by root that nobody else may read or write. */
function readTable(file: string): ConsoleTable {
  let fd: number;
  try {
    // O_NONBLOCK: never wait on a FIFO or a lease, whatever sits at that path.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Refusal(OC_EXIT.noTable, `${code === 'ENOENT' ? 'no consolegate policy is applied on this machine' : 'the console table is unreadable'} (${file})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || (st.mode & 0o077) !== 0) throw new Refusal(OC_EXIT.noTable, `${file} is not root-only: apply the policy again`);
    const raw = JSON.parse(readFileSync(fd, 'utf8')) as { version?: unknown };
    if (raw?.version !== TABLE_VERSION) throw new Refusal(OC_EXIT.noTable, `${file} was written by another version: apply the policy again`);
    // Anything else that breaks the contract (a BoundaryError) is "unreadable" below.
    const table = parseTable(raw);
    // Never start the viewer as root's group (0) or with no group at all (-1: the viewer group did not exist).
    if (!Number.isSafeInteger(table.viewer.gid) || table.viewer.gid <= 0) throw new Refusal(OC_EXIT.noTable, `${file} names no viewer group: apply the policy again`);
    return table;
  } catch (err) {
    if (err instanceof Refusal) throw err;
    throw new Refusal(OC_EXIT.noTable, `the console table is unreadable (${file})`);
  } finally {
    closeSync(fd);
  }
}

/** The caller's passwd entry through NSS (directory users too), or null. */
function passwdEntry(uid: number): { name: string; home: string; shell: string } | null {
  try {
    const line = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', env: { PATH: VIEWER_PATH }, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const f = line.split('\n')[0]!.split(':');
    return f.length >= 7 && Number(f[2]) === uid ? { name: f[0]!, home: f[5]!, shell: f[6]! } : null;
  } catch {
    return null;
  }
}

async function readPassword(): Promise<string | null> {
  if (process.stdin.isTTY) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PASSWORD) throw new Refusal(OC_EXIT.usage, 'password on stdin is too long');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  return line === '' ? null : line;
}

async function run(argv: string[]): Promise<number> {
  const { stateDir, vm } = parseOpenArgs(argv);
  const uid = callerUid(process.env, { uid: process.getuid!(), euid: process.geteuid!() });
  const table = readTable(path.join(stateDir, TABLE_FILE));
  const entry = decide(table, vm, uid, new Date());
  try {
    if (!statSync(table.viewer.path).isFile()) throw new Error('not a file');
  } catch {
    throw new Refusal(OC_EXIT.viewer, `the viewer ${table.viewer.path} is missing`);
  }
  const vv = renderVv({ host: entry.host, tlsPort: entry.tlsPort, password: await readPassword(), ca: entry.ca, hostSubject: entry.hostSubject, title: entry.title });
  const env = viewerEnv(process.env, passwdEntry(uid));
  return new Promise((resolve) => {
    // --debug makes virt-viewer print its main-channel events on stdout ("auth failure", "failed to connect …: Connection
    // refused"): the launcher's only way to tell a wrong password or a refused port from a viewer waiting in a dialog.
    // It prints no password or .vv content (checked with remote-viewer 11, see docs/demo.md).
    // uid/gid make libuv call setgroups(0, NULL), setgid, setuid in the child before exec: no supplementary groups.
    const child = spawn(table.viewer.path, ['--debug', '-'], { uid, gid: table.viewer.gid, env, cwd: '/', stdio: ['pipe', 'inherit', 'inherit'] });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
    child.on('error', () => resolve(OC_EXIT.viewer));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    child.stdin.on('error', () => undefined);
    child.stdin.end(vv);
  });
}

/** Runs open-console with argv (without node and script) and returns the exit status. */
export async function openConsoleMain(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof Refusal) {
      process.stderr.write(`open-console: ${err.message}\n`);
      return err.exit;
    }
    process.stderr.write(`open-console: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    return OC_EXIT.internal;
  }
}
