// `npm run demo`: the product's main job, live. A real QEMU VM with SPICE over TLS and a password; a policy that
// entitles only the first of two users; the first opens the console through the console service (as the launcher
// does); the second is refused by sudo and by the firewall; audit shows it. Everything runs in a sandbox (network
// namespace, private /etc/sudoers.d, throwaway users) and is removed on exit, Ctrl-C included.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { missingLine } from '../../test/e2e/support/deps.js';
import { ConsoleLab, LAB_PORTS } from '../../test/e2e/support/lab.js';
import { borrowDisplay } from '../../test/e2e/support/xvfb.js';
import { findFrame } from '../../test/e2e/support/image.js';
import { rootTestsUnavailable } from '../../test/support/sandbox.js';
import type { ConsoleState } from '../../electron/services/console-text.js';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => void process.stdout.write(`${s}\n`);
let stepNo = 0;
const STEPS = 7;
const step = (s: string): void => say(`${bold(`[${++stepNo}/${STEPS}]`)} ${s}`);
const detail = (s: string): void => say(`      ${s}`);
const describe = (s: ConsoleState): string => (s.state === 'failed' ? `failed: ${s.reason} — ${s.message}` : s.state);

// Nothing may be created before we know it can be finished: root, built helper, and every program the lab runs.
const unavailable = (await rootTestsUnavailable()) ?? missingLine();
if (unavailable !== null) {
  console.error(`demo: ${unavailable}`);
  process.exit(1);
}

let lab: ConsoleLab | null = null;
let interrupted = false;
let cleaning: Promise<void> | null = null;
async function teardown(): Promise<void> {
  if (lab === null) return;
  cleaning ??= lab.cleanup().then(
    () => say('cleanup: namespace, users, viewer group, sudoers and sysctls are back as they were'),
    (err: unknown) => console.error(`cleanup: ${err instanceof Error ? err.message : String(err)}`),
  );
  await cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${sig}: tearing down…`);
    void teardown().finally(() => process.exit(130));
  });
}

try {
  say(bold('consolegate demo: only the entitled user gets the VM console'));
  const t0 = Date.now();
  // uids are reused by later useradds, so only this run's attempts are shown.
  const startedAt = new Date(t0 - 1000).toISOString();
  lab = await ConsoleLab.prepare({ log: (l) => detail(l) });
  step(`sandbox ${lab.sb.ns}: network namespace, private /etc/sudoers.d, kernel logging for the namespace`);
  const display = process.env.DISPLAY ? await borrowDisplay(process.env.DISPLAY, lab.dir, process.env) : undefined;
  step(`two users, a CA, a QEMU VM and ${display ? `your display ${display.display}` : 'a headless X server (Xvfb)'}`);
  await lab.setup({ log: (l) => detail(l), display });
  detail(`entitled: ${lab.alice.name} (uid ${lab.alice.uid}); not entitled: ${lab.bob.name} (uid ${lab.bob.uid}) — ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  step(`policy: ${lab.alice.name} may open labvm; apply with dist/consolegate-helper.js`);
  const applied = await lab.apply();
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr.trim() || applied.stdout.trim()}`);
  detail(applied.stdout.trim().split('\n').pop() ?? '');

  step(`${lab.alice.name} opens labvm through the console service (sudo → open-console → remote-viewer)`);
  const session = lab.open(lab.alice, 'labvm', { password: lab.password });
  const connected = await session.until('connected');
  detail(`${session.states.map((s) => `${describe(s.state)} (${s.ms} ms)`).join(' → ')}`);
  if (connected.state.state !== 'connected') throw new Error(`the entitled user did not connect: ${describe(connected.state)}`);
  const viewer = (await lab.viewerProcesses()).find((p) => p.uid[0] === lab!.alice.uid);
  if (viewer) detail(`remote-viewer pid ${viewer.pid} runs as uid ${viewer.uid[0]} gid ${viewer.gid[0]} (${lab.sb.viewerGroup}), holding ${lab.viewerSockets(lab.alice.uid).length} TLS channels to 127.0.0.1:${LAB_PORTS.vm}`);
  if (display) {
    detail(bold('the console is on your display; close its window or press Enter to go on'));
    await Promise.race([session.done, enterPressed()]);
  } else {
    await new Promise((r) => setTimeout(r, 2500)); // SeaBIOS prints for a moment after connecting
    const shotDir = path.join(os.tmpdir(), 'consolegate-demo');
    await mkdir(shotDir, { recursive: true });
    const file = path.join(shotDir, `console-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
    const shot = await lab.screenshot(file);
    const found = findFrame(shot, await lab.vmFrame());
    detail(`screenshot: ${bold(file)} (${found ? `the VM's screen is in it at ${found.x},${found.y}` : 'the VM screen was NOT found in it'})`);
  }
  session.stop();
  await session.done;

  step(`${lab.bob.name} tries the same console through sudo`);
  const borrowed = { id: 'labvm', host: '127.0.0.1', tlsPort: LAB_PORTS.vm, command: ['sudo', '-n', lab.sb.openConsole, '--state-dir', lab.sb.stateDir, 'labvm'] };
  detail(`refused → ${describe((await lab.openTarget(lab.bob, borrowed, { password: lab.password }).done).state)}`);

  step(`${lab.bob.name} tries a plain TCP connection to 127.0.0.1:${LAB_PORTS.vm}`);
  const script = `const t=Date.now(),s=require('net').connect(${LAB_PORTS.vm},'127.0.0.1');s.on('connect',()=>{console.log('CONNECTED');process.exit()});s.on('error',e=>{console.log(e.code+' after '+(Date.now()-t)+' ms');process.exit()})`;
  const probe = await lab.sb.run([process.execPath, '-e', script], { user: lab.bob });
  detail(`${probe.stdout.trim() === 'CONNECTED' ? 'CONNECTED (this must not happen!)' : `reset by the firewall: ${probe.stdout.trim()}`}`);

  step('consolegate-helper audit (denied attempts from the kernel log)');
  const audit = await lab.sb.helper(['audit', '--since', startedAt]);
  for (const line of audit.stdout.trim().split('\n').filter((l) => l.includes(`(${lab!.bob.name})`)).slice(-3)) detail(line);
} catch (err) {
  if (!interrupted) console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  if (!interrupted) await teardown();
}

function enterPressed(): Promise<void> {
  if (!process.stdin.isTTY) return new Promise((r) => setTimeout(r, 30_000));
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      resolve();
    });
  });
}
