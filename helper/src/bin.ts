// Entry point of the bundled helper: run the CLI, hand its exit code to the process; in a thread, serve it.
import { isMainThread } from 'node:worker_threads';
import { serveThread, setThreadEntry } from './apply/view-thread.js';
import { main } from './cli.js';

if (!isMainThread) serveThread();
else {
  setThreadEntry(process.argv[1]!);
  // process.exit rather than exitCode: main resolves only when the command is done (its children waited for, its
  // files written; stdout and stderr are synchronous on Linux), and exiting at once skips tearing down a heap of a
  // few hundred MB at 100,000 entitlements (~0.1 s of a command's wall time).
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`consolegate-helper: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
