// The kernel log from the moment a console is launched: whether our firewall logged a deny for this user's connection.
import { closeSync, openSync, readSync, constants as fsConstants } from 'node:fs';

/** What the kernel log says about this user's refused connection: seen, readable but silent, or not readable here. */
export type KernelLogVerdict = 'deny-seen' | 'no-deny' | 'unreadable';

/** A view of the kernel log from the moment it was opened: `check` says whether a deny for this uid and port appeared since. */
export interface KernelLog {
  check(q: { uid: number; port: number }): KernelLogVerdict;
  close(): void;
}

/** Matches a `consolegate-deny` line (nft or iptables LOG format) for one uid and destination port. */
export function isDenyLine(line: string, q: { uid: number; port: number }): boolean {
  return line.includes('consolegate-deny') && new RegExp(`\\bUID=${q.uid}\\b`).test(line) && new RegExp(`\\bDPT=${q.port}\\b`).test(line);
}

/**
 * Reads /dev/kmsg from "now" on. Readable when kernel.dmesg_restrict=0 or with CAP_SYSLOG (root); Debian sets
 * dmesg_restrict=1, so for an ordinary user this is 'unreadable' and a refusal cannot be pinned on the firewall.
 */
export function openKmsg(device = '/dev/kmsg'): KernelLog {
  let fd: number | null = null;
  try {
    fd = openSync(device, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    drainKmsg(fd); // skip what was logged before the launch
  } catch {
    if (fd !== null) closeSync(fd);
    fd = null;
  }
  const lines: string[] = [];
  return {
    check(q) {
      if (fd === null) return 'unreadable';
      lines.push(...drainKmsg(fd));
      return lines.some((l) => isDenyLine(l, q)) ? 'deny-seen' : 'no-deny';
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

// One read() returns one record; EAGAIN means we are at the end, EPIPE that records were overwritten meanwhile.
function drainKmsg(fd: number): string[] {
  const out: string[] = [];
  const buf = Buffer.alloc(16384);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') continue;
      if (code === 'EAGAIN') return out;
      throw err;
    }
    if (n === 0) return out;
    const rec = buf.toString('utf8', 0, n);
    out.push(rec.slice(rec.indexOf(';') + 1));
  }
}
