// open-console: the sudo target. Checks the caller may open VM now, then feeds the .vv to `remote-viewer -`.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ID_RE, PATH_RE } from './policy/names.js';
import { describeWindow, windowContains } from './policy/window.js';
import type { TimeWindow } from './policy/types.js';
import type { ConsoleTable } from './plan/views.js';
import { renderVv } from './vv.js';

/** Exit codes (docs/interfaces.md); anything else is the viewer's own status. */
export const OC_EXIT = { usage: 64, identity: 65, noTable: 66, notEntitled: 67, outsideWindow: 68, viewer: 69, internal: 70 } as const;

// Fixed at build time on purpose: the environment is the caller's, and sudo's exact command line is the only override.
const DEFAULT_STATE_DIR = '/var/lib/consolegate';
const MAX_PASSWORD = 4096;

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
  if (vm === undefined || rest.length > 0) throw new Refusal(OC_EXIT.usage, 'usage: open-console [--state-dir DIR] VM');
  if (!ID_RE.test(vm)) throw new Refusal(OC_EXIT.usage, `not a VM id: ${JSON.stringify(vm).slice(0, 80)}`);
  return { stateDir, vm };
}

/** The decision, separated from I/O: which VM entry to open, or why not. */
export function decide(table: ConsoleTable, vm: string, who: { uid: number; egid: number }, now: Date) {
  if (who.egid !== table.viewer.gid) {
    throw new Refusal(OC_EXIT.identity, `not running with the viewer group ${table.viewer.group}: use sudo -u <you> -g ${table.viewer.group}`);
  }
  const entry = Object.prototype.hasOwnProperty.call(table.vms, vm) ? table.vms[vm] : undefined;
  const mine = entry?.grants.filter((g) => g.uid === who.uid) ?? [];
  if (!entry || mine.length === 0) throw new Refusal(OC_EXIT.notEntitled, `you are not entitled to open ${vm}`);
  const windows = mine.map((g) => g.window as TimeWindow | null);
  if (!windows.some((w) => w === null || windowContains(w, now))) {
    const when = windows.map((w) => describeWindow(w as TimeWindow)).join('; ');
    throw new Refusal(OC_EXIT.outsideWindow, `${vm} is available to you only ${when} (local time); it is not available now`);
  }
  return entry;
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
  const uid = process.getuid!();
  // sudo sets SUDO_UID to the real caller; we only ever run as that same person, with the viewer group.
  if (process.env.SUDO_UID === undefined || Number(process.env.SUDO_UID) !== uid || uid === 0) {
    throw new Refusal(OC_EXIT.identity, 'run through sudo as yourself: sudo -n -u <you> -g <viewer group> open-console VM');
  }
  const tablePath = path.join(stateDir, 'console-table.json');
  let table: ConsoleTable;
  try {
    table = JSON.parse(await readFile(tablePath, 'utf8')) as ConsoleTable;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no consolegate policy is applied on this machine' : code === 'EACCES' ? 'not running with the viewer group' : 'the console table is unreadable';
    throw new Refusal(OC_EXIT.noTable, `${why} (${tablePath})`);
  }
  const entry = decide(table, vm, { uid, egid: process.getegid!() }, new Date());
  try {
    await access(table.viewer.path, constants.X_OK);
  } catch {
    throw new Refusal(OC_EXIT.viewer, `the viewer ${table.viewer.path} is missing or not executable for the viewer group`);
  }
  const vv = renderVv({ host: entry.host, tlsPort: entry.tlsPort, password: await readPassword(), ca: entry.ca, hostSubject: entry.hostSubject, title: entry.title });
  return new Promise((resolve) => {
    // --debug makes virt-viewer print its main-channel events on stdout ("auth failure", "failed to connect …: Connection
    // refused"): the launcher's only way to tell a wrong password or a refused port from a viewer waiting in a dialog.
    // It prints no password or .vv content (checked with remote-viewer 11, see docs/demo.md).
    const child = spawn(table.viewer.path, ['--debug', '-'], { stdio: ['pipe', 'inherit', 'inherit'] });
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
