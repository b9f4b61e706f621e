// A private, unlocked Secret Service for tests: dbus-run-session + gnome-keyring-daemon with its own HOME.
// The caller points DBUS_SESSION_BUS_ADDRESS at it (before keytar is first used); stop() ends it by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A running keyring: the environment to use it, and how to end it. */
export interface TestKeyring {
  env: { DBUS_SESSION_BUS_ADDRESS: string; HOME: string; XDG_RUNTIME_DIR: string };
  daemonPid: number;
  sessionPid: number;
  stop(): Promise<void>;
}

// Runs inside the private session: start the daemon unlocked, wait until it owns the Secret Service name (so no
// D-Bus activation starts a second, locked one), report, then live until our stdin closes.
const SCRIPT = `
printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --foreground --unlock --components=secrets >"$HOME/gnome-keyring.log" 2>&1 &
daemon=$!
echo "pid=$daemon"
echo "bus=$DBUS_SESSION_BUS_ADDRESS"
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i+1)); if [ $i -gt 200 ]; then echo "failed: $(cat "$HOME/gnome-keyring.log")"; kill $daemon; exit 1; fi; sleep 0.05
done
echo ready
cat >/dev/null
kill $daemon 2>/dev/null
wait $daemon 2>/dev/null
`;

/** Starts the keyring; resolves once the Secret Service answers on the private bus. */
export async function startKeyring(opts: { password?: string } = {}): Promise<TestKeyring> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cg-keyring-'));
  const home = path.join(base, 'home');
  const runtime = path.join(base, 'run');
  await mkdir(home, { mode: 0o700 });
  await mkdir(runtime, { mode: 0o700 });
  const child: ChildProcess = spawn('dbus-run-session', ['--', 'sh', '-c', SCRIPT], {
    env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime, KEYRING_PASSWORD: opts.password ?? 'test-keyring' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const info: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('keyring did not start within 15 s')), 15_000);
    lines.on('line', (line) => {
      const eq = line.indexOf('=');
      if (eq > 0) info[line.slice(0, eq)] = line.slice(eq + 1);
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
      if (line.startsWith('failed')) {
        clearTimeout(timer);
        reject(new Error(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-run-session exited with ${code}`));
    });
  });
  const daemonPid = Number(info.pid);
  const sessionPid = child.pid as number;
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return {
    env: { DBUS_SESSION_BUS_ADDRESS: info.bus ?? '', HOME: home, XDG_RUNTIME_DIR: runtime },
    daemonPid,
    sessionPid,
    async stop() {
      // Closing stdin lets the script kill the daemon; dbus-run-session then ends its bus and exits.
      child.stdin?.end();
      const t = setTimeout(() => {
        for (const pid of [daemonPid, sessionPid]) {
          try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
        }
      }, 5000);
      await exited;
      clearTimeout(t);
      lines.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
