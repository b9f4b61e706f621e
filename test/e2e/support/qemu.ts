// A real QEMU VM with SPICE on a TLS port and a password: no disk, SeaBIOS's "No bootable device" screen is enough.
// Debian 12's QEMU 7.2 takes the password as a secret object (password-secret=), so it is in neither argv nor ps.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './wait.js';

/** A running VM; `stop` kills it by pid. */
export interface SpiceVm {
  pid: number;
  host: string;
  tlsPort: number;
  qmpSocket: string;
  /** QEMU's stderr. */
  logFile: string;
  /** The VM's own framebuffer (QMP screendump), as PPM bytes. */
  screendump(file: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/** Starts the VM inside the sandbox (`inside` wraps argv to run there), listening on addr:tlsPort, and waits until the port accepts connections. */
export async function startSpiceVm(inside: (argv: string[]) => string[], opts: { dir: string; x509Dir: string; password: string; addr: string; tlsPort: number }): Promise<SpiceVm> {
  const pwFile = path.join(opts.dir, 'spice-password');
  const qmpSocket = path.join(opts.dir, 'qmp.sock');
  const logFile = path.join(opts.dir, 'qemu.log');
  await writeFile(pwFile, opts.password, { mode: 0o600 });
  const argv = [
    'qemu-system-x86_64',
    '-name', 'consolegate-test-vm',
    '-machine', 'pc', '-accel', 'tcg', '-m', '64',
    '-nodefaults', '-no-user-config', '-vga', 'qxl', '-display', 'none',
    '-object', `secret,id=spicepw,file=${pwFile}`,
    '-spice', `tls-port=${opts.tlsPort},addr=${opts.addr},x509-dir=${opts.x509Dir},password-secret=spicepw`,
    '-qmp', `unix:${qmpSocket},server=on,wait=off`,
  ];
  // Not -daemonize: that sends QEMU's stderr (where spice-server reports trouble) to /dev/null; keep it in qemu.log.
  const log = openSync(logFile, 'a', 0o600);
  const [file, ...args] = inside(argv);
  const child = spawn(file as string, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error('qemu-system-x86_64 did not start');
  let exited: string | null = null;
  child.on('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  const vm: SpiceVm = {
    pid,
    host: opts.addr,
    tlsPort: opts.tlsPort,
    qmpSocket,
    logFile,
    screendump: async (f: string) => {
      await qmp(qmpSocket, { execute: 'screendump', arguments: { filename: f } });
      return readFile(f);
    },
    stop: () => killAndWait(pid),
  };
  try {
    // Listening shows in the namespace's socket table (QEMU's own /proc/<pid>/net); the exec chain keeps the pid.
    const listening = `:${opts.tlsPort.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;
    await waitFor(async () => {
      if (exited !== null) throw new Error(`qemu-system-x86_64 ended (${exited}): ${(await readFile(logFile, 'utf8')).trim()}`);
      return (await readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '')).includes(listening);
    }, 20_000, `QEMU to listen on ${opts.tlsPort}`);
  } catch (err) {
    await vm.stop();
    throw err;
  }
  return vm;
}

/** Sends one QMP command (after the capabilities handshake) and resolves with its `return`. */
export function qmp(socket: string, command: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('QMP timed out'));
    }, 10_000);
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
        buf = buf.slice(nl + 1);
        if (msg.event !== undefined) continue;
        if (msg.error) {
          clearTimeout(timer);
          c.destroy();
          reject(new Error(`QMP: ${msg.error.desc}`));
          return;
        }
        if (step === 0 && msg.QMP !== undefined) {
          c.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
          step = 1;
        } else if (step === 1) {
          c.write(`${JSON.stringify(command)}\n`);
          step = 2;
        } else if (step === 2) {
          clearTimeout(timer);
          c.end();
          resolve(msg.return);
        }
      }
    });
  });
}

/** SIGTERM, wait up to 5 s, then SIGKILL; resolves when the pid is gone. */
export async function killAndWait(pid: number, graceMs = 5000): Promise<void> {
  // A daemonized process is reaped by init, which may take a moment: a zombie counts as gone.
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(() => !alive(), graceMs, `pid ${pid} to exit`);
  } catch {
    if (alive()) process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(), 5000, `pid ${pid} to die`);
  }
}
