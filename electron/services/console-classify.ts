// Classifying what a console run produced (exit status, output, observations) into a state. Pure.
//
// Every reason comes from a real signal, never from a guess:
//   - open-console's own exit codes 64–70 with its `open-console: …` line (docs/interfaces.md);
//   - sudo's exit 1 with its `sudo: …` line;
//   - remote-viewer's output: spice-common's TLS warnings (always printed) and virt-viewer's `--debug` lines
//     for the main channel (`auth failure`, `failed to connect …`), see docs/demo.md for the exact strings;
//   - the kernel's TCP table (/proc/net/tcp{,6}: world-readable, has the uid) for "connected";
//   - the kernel log's `consolegate-deny … UID=<me>` line, when this user may read it (kmsg.ts).
import { explain, type ConsoleState, type FailureReason } from './console-text.js';
import type { KernelLogVerdict } from './kmsg.js';

/** What the service saw besides the exit status and the output; classify's only other input. */
export interface Observations {
  /** The command is still running. */
  running: boolean;
  /** The viewer's connection came up (see `connectedSockets`). */
  connected: boolean;
  /** stop() was called: an end by signal is then a normal close. */
  stopped: boolean;
  /** The connect timeout passed without a connection. */
  timedOut: boolean;
  /** The kernel log's verdict, looked at only when the connection failed. */
  kernelLog: KernelLogVerdict;
  /** execa could not start the command at all (e.g. sudo missing), with its message. */
  spawnError?: string;
  /** "host:port", for messages. */
  endpoint: string;
}

// The strings below are the real ones (remote-viewer 11 / spice-gtk 0.42 / spice-common, Debian 12); docs/demo.md lists them.
const OPEN_CONSOLE_LINE = /^open-console: (.*)$/m;
const SUDO_LINE = /^sudo: (.*)$/m;
const SUDO_NO_RULE = /a password is required|is not allowed to execute|is not in the sudoers file|may not run sudo|a terminal is required/;
const SUDO_NO_SETUP = /unknown (?:user|group)|command not found/;
// spice-common ssl_verify.c warnings ("Error in certificate chain verification: …", "ssl: subject '…' verification
// failed", …) and spice-gtk's "SSL_connect: …" — printed as GLib warnings, so they need no --debug.
const TLS_VERIFY = /openssl_verify: (Error in (?:certificate chain|server certificate) verification: [^\n]*|ssl: [^\n]*verification failed)/;
const TLS_CONNECT = /SSL_connect: [^\n]*|SSL_read: [^\n]*|SSL handshake[^\n]*/;
// virt-viewer's g_debug lines, printed on stdout with `remote-viewer --debug`.
const AUTH_FAILURE = /main channel: auth failure/;
const CONNECT_FAILURE = /main channel: failed to connect ?([^\n]*)/;
const NO_DISPLAY = /cannot open display[^\n]*/i;

/** Turns an exit status (null while running or after a signal), the command's output and what was observed into a state. */
export function classify(exitCode: number | null, output: string, obs: Observations): ConsoleState {
  if (obs.spawnError !== undefined) {
    return explain(/ENOENT/.test(obs.spawnError) ? 'no-sudo-rule' : 'unknown', obs.spawnError);
  }
  if (!obs.running && obs.stopped) return { state: 'closed', exitCode };

  // open-console's own refusals: the exit code alone could be the viewer's, its one-line message proves it is not.
  const oc = OPEN_CONSOLE_LINE.exec(output);
  if (exitCode !== null && exitCode >= 64 && exitCode <= 70 && oc !== null) {
    const line = oc[1] as string;
    const byCode: Record<number, FailureReason> = { 64: 'unknown', 65: 'no-sudo-rule', 66: 'no-policy', 67: 'not-entitled', 68: 'outside-window', 69: 'viewer-unavailable', 70: 'unknown' };
    return explain(byCode[exitCode] ?? 'unknown', line);
  }
  // sudo refuses with exit 1 and a `sudo:` line before anything runs.
  const sudo = SUDO_LINE.exec(output);
  if (exitCode === 1 && sudo !== null) {
    const line = sudo[1] as string;
    if (SUDO_NO_RULE.test(line)) return explain('no-sudo-rule', `sudo: ${line}`);
    // No viewer group or no open-console: the policy was never applied here.
    if (SUDO_NO_SETUP.test(line)) return explain('no-policy', `sudo: ${line}`);
  }

  // A refused certificate or password ends the attempt even after "connected": the socket count can run ahead of
  // the viewer's verdict (a handshake that is still going counts as ESTABLISHED), and no working session prints them.
  const verdict = refusal(output);
  if (verdict !== null) return verdict;
  if (!obs.connected) {
    const failure = viewerFailure(output, obs);
    if (failure !== null) return failure;
  }
  if (obs.running) {
    if (obs.connected) return { state: 'connected' };
    if (obs.timedOut) {
      // Without --debug, remote-viewer says nothing about a refused port or a wrong password: it just waits in a dialog.
      return explain('unknown', `no connection to ${obs.endpoint} after the time limit, and the viewer gave no reason`);
    }
    return { state: 'launching' };
  }
  if (obs.connected || exitCode === 0) return { state: 'closed', exitCode };
  const last = lastLine(output);
  return explain('unknown', exitCode === null ? 'the viewer was ended by a signal' : `exit status ${exitCode}${last ? `: ${last}` : ''}`);
}

// The server's certificate or our password refused: final whenever it appears.
function refusal(output: string): ConsoleState | null {
  const verify = TLS_VERIFY.exec(output);
  if (verify !== null) return explain('tls-error', verify[1]);
  if (AUTH_FAILURE.test(output)) return explain('wrong-password');
  return null;
}

// The viewer's own account of a failed connection, or the kernel's deny log; null when neither says anything yet.
function viewerFailure(output: string, obs: Observations): ConsoleState | null {
  const tls = TLS_CONNECT.exec(output);
  if (tls !== null) return explain('tls-error', tls[0]);
  if (obs.kernelLog === 'deny-seen') {
    return explain('firewall-refused', `this computer's firewall refused ${obs.endpoint} for your user (kernel log)`);
  }
  const connect = CONNECT_FAILURE.exec(output);
  if (connect !== null) {
    const detail = (connect[1] as string).trim();
    if (/Connection refused/i.test(detail)) {
      // A reset at the SYN looks the same whether our firewall or the server sent it; only the kernel log can tell.
      if (obs.kernelLog === 'no-deny') return explain('unreachable', `${obs.endpoint} refused the connection; this computer's firewall did not`);
      return explain('firewall-refused', `${obs.endpoint} refused the connection: this computer's firewall or the server did it; the kernel log that would tell is not readable for you`);
    }
    return explain('unreachable', detail || obs.endpoint);
  }
  const noDisplay = NO_DISPLAY.exec(output);
  if (noDisplay !== null) return explain('unknown', `the viewer ${noDisplay[0]}`);
  return null;
}

function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
