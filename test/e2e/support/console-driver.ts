// Runs the console service as the launcher would, as the logged-in user, and reports each state as a JSON line.
// Bundled into the lab directory and started as a test user: the service must run with that user's uid, since it
// reads "connected" from the socket table's uid column and runs the sudo command as that user.
//
//   node console-driver.mjs --view FILE --vm ID     (the VM's command, host and port come from the user's view)
//   node console-driver.mjs --target JSON           (a literal ConsoleTarget, e.g. remote-viewer started directly)
// stdin: first line is the password (empty: none); a later line "stop" calls session.stop().
// stdout: {"event":"start","pid":…} then {"event":"state","ms":…,"state":…} per state, last {"event":"done",…}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openConsole, type ConsoleTarget } from '../../../electron/services/console.js';

const { values } = parseArgs({ options: { view: { type: 'string' }, vm: { type: 'string' }, target: { type: 'string' }, timeout: { type: 'string' }, poll: { type: 'string' } } });

function target(): ConsoleTarget {
  if (values.target !== undefined) return JSON.parse(values.target) as ConsoleTarget;
  const view = JSON.parse(readFileSync(values.view ?? '', 'utf8')) as { vms: (ConsoleTarget & { tlsPort: number })[] };
  const vm = view.vms.find((v) => v.id === values.vm);
  if (vm === undefined) throw new Error(`VM ${values.vm} is not in the view ${values.view}`);
  return { id: vm.id, command: vm.command, host: vm.host, tlsPort: vm.tlsPort };
}

const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const lines = createInterface({ input: process.stdin });
let session: ReturnType<typeof openConsole> | undefined;
let first = true;
let stopRequested = false;
lines.on('line', (line) => {
  if (first) {
    first = false;
    const t0 = performance.now();
    session = openConsole(target(), {
      password: line === '' ? undefined : line,
      onState: (s) => say({ event: 'state', ms: Math.round(performance.now() - t0), state: s }),
      connectTimeoutMs: values.timeout !== undefined ? Number(values.timeout) : undefined,
      pollMs: values.poll !== undefined ? Number(values.poll) : undefined,
    });
    say({ event: 'start', pid: session.pid });
    if (stopRequested) session.stop();
    void session.done.then((s) => {
      say({ event: 'done', ms: Math.round(performance.now() - t0), state: s });
      lines.close();
    });
  } else if (line.trim() === 'stop') {
    stopRequested = true;
    session?.stop();
  }
});
