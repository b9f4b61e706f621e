// "Why can't I open my console?" — checks a user can run on their own machine, each with an honest verdict.
// Plain Node, no Electron. Checks that cannot be made without root say so instead of guessing.
import { stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import type { ViewFile } from '../../helper/src/boundary/index.js';
import { loadView } from './views.js';

/** ok = verified; problem = verified broken; unknown = could not be checked from here (the detail says why). */
export type CheckStatus = 'ok' | 'problem' | 'unknown';

/** One line of the diagnostics panel. */
export interface Check {
  id: 'view' | 'open-console' | 'sudo' | 'viewer' | 'firewall' | 'direct';
  title: string;
  status: CheckStatus;
  detail: string;
}

/** The whole diagnostics panel. */
export interface DiagnosticsReport {
  ranAt: string;
  uid: number;
  checks: Check[];
}

/** Result of a TCP connect attempt. */
export type ProbeResult = 'connected' | 'refused' | 'timeout' | 'error';

/** What the checks need from the system; tests replace run/probe with fakes. */
export interface DiagnosticsDeps {
  stateDir: string;
  uid: number;
  viewerPath?: string;
  run?: (argv: string[]) => Promise<{ exitCode: number; stderr: string }>;
  probe?: (host: string, port: number) => Promise<ProbeResult>;
  // Whether we may list firewall rules (CAP_NET_ADMIN); defaults to "running as root".
  asRoot?: boolean;
}

/** The viewer's usual location; the view does not name it, so this check is best effort. */
export const DEFAULT_VIEWER = '/usr/bin/remote-viewer';

async function runCommand(argv: string[]): Promise<{ exitCode: number; stderr: string }> {
  const [file, ...args] = argv;
  if (file === undefined) return { exitCode: 127, stderr: 'empty command' };
  const r = await execa(file, args, { reject: false, stdin: 'ignore', timeout: 10_000 });
  return { exitCode: r.exitCode ?? 1, stderr: String(r.stderr) };
}

/** Opens and closes a TCP connection to see whether this process (the user's own group) gets through. */
export function tcpProbe(host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (r: ProbeResult): void => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done('timeout'));
    sock.once('connect', () => done('connected'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

/** `sudo -n CMD…` → `sudo -l -n CMD…`: asks sudo whether the exact rule exists, without running it. */
export function sudoListCommand(command: string[]): string[] | null {
  if (command.length < 2 || path.basename(command[0] ?? '') !== 'sudo') return null;
  return [command[0] as string, '-l', ...command.slice(1)];
}

/** The program sudo would run: the first absolute path after the sudo options. */
export function targetProgram(command: string[]): string | null {
  return command.slice(1).find((a) => a.startsWith('/')) ?? null;
}

const plural = (n: number): string => `${n} console${n === 1 ? '' : 's'}`;

function viewCheck(view: ViewFile | null, status: string, file: string): Check {
  const title = 'Your list of consoles';
  if (view && view.vms.length > 0) return { id: 'view', title, status: 'ok', detail: `${plural(view.vms.length)} assigned to you (${file}).` };
  if (status === 'no-policy') return { id: 'view', title, status: 'problem', detail: `No consolegate policy has been applied on this computer (${path.dirname(file)} is missing).` };
  if (status === 'no-vms') return { id: 'view', title, status: 'problem', detail: 'A policy is applied here, but it assigns no consoles to you.' };
  return { id: 'view', title, status: 'problem', detail: `Your list exists but cannot be read (${file}).` };
}

/** Runs every check for the current user; never throws. */
export async function runDiagnostics(deps: DiagnosticsDeps): Promise<DiagnosticsReport> {
  const run = deps.run ?? runCommand;
  const probe = deps.probe ?? tcpProbe;
  const viewer = deps.viewerPath ?? DEFAULT_VIEWER;
  const { view, snapshot } = await loadView({ stateDir: deps.stateDir, uid: deps.uid });
  const file = 'path' in snapshot ? snapshot.path : path.join(deps.stateDir, 'views', `${deps.uid}.json`);
  const checks: Check[] = [viewCheck(view, snapshot.status, file)];
  const vms = view?.vms ?? [];

  // open-console: the program every sudo rule names.
  const program = vms.map((vm) => targetProgram(vm.command)).find((p) => p !== null) ?? null;
  if (program === null) {
    checks.push({ id: 'open-console', title: 'Console opener installed', status: 'unknown', detail: 'Nothing to check until you have a console assigned.' });
  } else {
    const ok = await stat(program).then((s) => s.isFile(), () => false);
    checks.push({ id: 'open-console', title: 'Console opener installed', status: ok ? 'ok' : 'problem', detail: ok ? `${program} is installed.` : `${program} is missing: the consolegate-helper package may not be installed.` });
  }

  // sudo: one `sudo -n -l` per VM; exit 0 means the exact rule is there.
  if (vms.length === 0) {
    checks.push({ id: 'sudo', title: 'Permission to open your consoles', status: 'unknown', detail: 'Nothing to check until you have a console assigned.' });
  } else {
    const missing: string[] = [];
    for (const vm of vms) {
      const argv = sudoListCommand(vm.command);
      const r = argv ? await run(argv) : { exitCode: 1, stderr: '' };
      if (r.exitCode !== 0) missing.push(vm.title);
    }
    checks.push(
      missing.length === 0
        ? { id: 'sudo', title: 'Permission to open your consoles', status: 'ok', detail: `The sudo rule is in place for ${vms.length === 1 ? 'your console' : `all ${vms.length} consoles`}.` }
        : { id: 'sudo', title: 'Permission to open your consoles', status: 'problem', detail: `No sudo rule for: ${missing.join(', ')}. The policy may need to be applied again.` },
    );
  }

  // Viewer lock: root-owned and not usable by others means only the sudo path can start it.
  const st = await stat(viewer).catch(() => null);
  if (st === null) {
    checks.push({ id: 'viewer', title: 'Console viewer locked', status: 'unknown', detail: `No viewer at ${viewer}; the policy may name another path, which cannot be seen from here.` });
  } else {
    const locked = st.uid === 0 && (st.mode & 0o007) === 0;
    checks.push({ id: 'viewer', title: 'Console viewer locked', status: locked ? 'ok' : 'problem', detail: locked ? `${viewer} can only be started through consolegate.` : `${viewer} can be started by anyone: the viewer lock is not in place.` });
  }

  // Firewall: listing rules needs CAP_NET_ADMIN, so a normal user cannot see the table at all.
  if (deps.asRoot ?? process.getuid?.() === 0) {
    const nft = await run(['nft', 'list', 'table', 'inet', 'consolegate']);
    const ipt = nft.exitCode === 0 ? nft : await run(['iptables', '-S', 'CONSOLEGATE']);
    checks.push({ id: 'firewall', title: 'Firewall rules loaded', status: ipt.exitCode === 0 ? 'ok' : 'problem', detail: ipt.exitCode === 0 ? 'The consolegate firewall rules are loaded.' : 'No consolegate firewall rules are loaded.' });
  } else {
    checks.push({ id: 'firewall', title: 'Firewall rules loaded', status: 'unknown', detail: 'Only an administrator can list firewall rules. The next check tests them from your side.' });
  }

  // Direct connection from the launcher itself (your own group): the firewall must refuse it; only the viewer started
  // through sudo may connect. A refusal is also what a stopped server looks like, so say both.
  if (vms.length === 0) {
    checks.push({ id: 'direct', title: 'Console ports protected', status: 'unknown', detail: 'Nothing to check until you have a console assigned.' });
  } else {
    const results = await Promise.all(vms.map(async (vm) => ({ vm, r: await probe(vm.host, vm.tlsPort) })));
    const open = results.filter((x) => x.r === 'connected').map((x) => `${x.vm.title} (${x.vm.host}:${x.vm.tlsPort})`);
    const unclear = results.filter((x) => x.r === 'timeout' || x.r === 'error');
    if (open.length > 0) {
      checks.push({ id: 'direct', title: 'Console ports protected', status: 'problem', detail: `Reachable by any program, not only the console viewer: ${open.join(', ')}. The firewall protection is not active.` });
    } else if (unclear.length > 0) {
      checks.push({ id: 'direct', title: 'Console ports protected', status: 'unknown', detail: `No answer from ${unclear.map((x) => x.vm.title).join(', ')} (network or server down?).` });
    } else {
      checks.push({ id: 'direct', title: 'Console ports protected', status: 'ok', detail: 'Other programs are refused, as they should be (a stopped server would look the same).' });
    }
  }

  return { ranAt: new Date().toISOString(), uid: deps.uid, checks };
}
