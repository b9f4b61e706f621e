// A connect loop for fault tests, run as a non-entitled uid inside the namespace for the whole test:
//   node probe.mjs CONTROL_PORT HOST:PORT...
// Tries every protected HOST:PORT in turn, forever; each success is a violation. It also connects to an
// unprotected control port on 127.0.0.1 each cycle, which must succeed: proof the loop was alive and able to
// connect at all. On SIGTERM it prints one JSON line {cycles, violations: ["host:port", …], control} and exits.
import net from 'node:net';

const [control, ...targets] = process.argv.slice(2);
const parsed = targets.map((t) => {
  const i = t.lastIndexOf(':');
  return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
});
let cycles = 0;
let controlOk = 0;
const violations = [];
let stopping = false;

function attempt(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

async function loop() {
  while (!stopping) {
    for (const t of parsed) if (await attempt(t.host, t.port)) violations.push(`${t.host}:${t.port}`);
    if (await attempt('127.0.0.1', Number(control))) controlOk++;
    cycles++;
    // A short breath: two probes must not starve the applies they watch on a 2-core machine.
    await new Promise((r) => setTimeout(r, 2));
  }
}

process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(`${JSON.stringify({ cycles, violations, control: controlOk })}\n`, () => process.exit(0));
});
process.stdout.write('ready\n');
void loop();
