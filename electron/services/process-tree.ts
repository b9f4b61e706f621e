// Ending a console's process tree (sudo → open-console → viewer) without hitting a process that reused a pid.
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Ends sudo and everything below it. sudo (real uid = us) relays SIGTERM to open-console, which runs as root and
 * passes it on; the viewer runs as us (with the viewer group), and kill() checks only uids, so we signal it
 * directly too in case nobody relays. open-console itself refuses our signals (EPERM), which is fine.
 */
export function killTree(pid: number | undefined, opts: { graceMs?: number } = {}): void {
  if (pid === undefined) return;
  // Remember each process's start time so the late SIGKILL cannot hit a new process that reused the pid.
  const pids = [...descendants(pid), pid].map((p) => ({ p, start: startTime(p) }));
  const send = (sig: NodeJS.Signals): void => {
    for (const { p, start } of pids) {
      if (start === null || startTime(p) !== start) continue;
      try {
        process.kill(p, sig);
      } catch {
        // Gone already, or not ours (EPERM): nothing more we may do.
      }
    }
  };
  send('SIGTERM');
  const t = setTimeout(() => send('SIGKILL'), opts.graceMs ?? 3000);
  t.unref();
}

// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot.
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Every process below `pid`, deepest first, from /proc/<pid>/stat (world-readable, unlike fd/). */
export function descendants(pid: number, proc = '/proc'): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`${proc}/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // Exited meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        walk(child);
        out.push(child);
      }
    }
  };
  walk(pid);
  return out;
}
