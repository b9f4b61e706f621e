// Click → console: time from openConsole() to "connected" through sudo + open-console, against remote-viewer
// started directly on the same .vv by the same user with the same group (DESIGN.md target: ≤ 150 ms added).
// Root only: builds the real-console lab (QEMU SPICE/TLS, Xvfb, remote-viewer) in a sandbox, then removes it.
//   node --import tsx bench/console-latency.ts [runs]     (default 9 runs of each, alternating)
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderVv } from '../helper/src/vv.js';
import { rootTestsUnavailable } from '../test/support/sandbox.js';
import { missingLine } from '../test/e2e/support/deps.js';
import { ConsoleLab, LAB_PORTS, type DriverSession } from '../test/e2e/support/lab.js';

const runs = Number(process.argv[2] ?? 9);
const why = (await rootTestsUnavailable()) ?? missingLine();
if (why !== null) {
  console.error(`console-latency: cannot run: ${why}`);
  process.exit(2);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

// One run: open, wait for connected, close the viewer and wait until it is gone so runs do not overlap.
async function measure(session: DriverSession): Promise<number> {
  const c = await session.until('connected');
  if (c.state.state !== 'connected') throw new Error(`did not connect: ${JSON.stringify(c.state)}; QEMU log: ${lab.vm.logFile}`);
  // Debian 12's spice-server 0.15.1 segfaults ("SPICE Worker … in libspice-server.so") when a client drops its
  // channels while the display channel is still being set up; let the session settle before closing it.
  await new Promise((r) => setTimeout(r, 1000));
  session.stop();
  await session.done;
  await new Promise((r) => setTimeout(r, 300));
  return c.ms;
}

const lab = await ConsoleLab.create();
const stop = (): void => void lab.cleanup().finally(() => process.exit(130));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
try {
  const applied = await lab.apply();
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  const gid = await lab.sb.viewerGid();
  // The very .vv open-console would render for labvm (same fields, same order), readable by the viewer group only.
  const vv = path.join(lab.dir, 'direct.vv');
  await writeFile(vv, renderVv({ host: '127.0.0.1', tlsPort: LAB_PORTS.vm, password: lab.password, ca: lab.pki.caPem, hostSubject: lab.pki.hostSubject, title: 'Lab VM (SeaBIOS)' }));
  await lab.groupReadable(vv);
  const direct = { id: 'labvm', host: '127.0.0.1', tlsPort: LAB_PORTS.vm, command: [lab.viewer, '--debug', vv] };

  // One warm-up of each: the first start pays for cold page cache and font cache.
  await measure(lab.open(lab.alice, 'labvm', { password: lab.password, pollMs: 5 }));
  await measure(lab.openTarget(lab.alice, direct, { gid, pollMs: 5 }));
  const via: number[] = [];
  const straight: number[] = [];
  for (let i = 0; i < runs; i++) {
    via.push(await measure(lab.open(lab.alice, 'labvm', { password: lab.password, pollMs: 5 })));
    straight.push(await measure(lab.openTarget(lab.alice, direct, { gid, pollMs: 5 })));
  }
  const row = (name: string, xs: number[]): string =>
    `${name.padEnd(34)} ${String(median(xs)).padStart(7)} ${String(Math.min(...xs)).padStart(7)} ${String(Math.max(...xs)).padStart(7)}`;
  console.log(`open → connected (ms), ${runs} runs each, TCG QEMU, Xvfb; "connected" = 2 SPICE channels ESTABLISHED`);
  console.log(`${'path'.padEnd(34)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`);
  console.log(row('sudo → open-console → remote-viewer', via));
  console.log(row('remote-viewer on the same .vv', straight));
  console.log(`open-console adds ${median(via) - median(straight)} ms (median); target ≤ 150 ms`);
} finally {
  await lab.cleanup();
}
