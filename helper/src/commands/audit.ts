// `audit`: recent denied connection attempts, from the kernel log lines our rules write.
import type { Exec } from '../system/exec.js';
import { hasCommand } from '../system/exec.js';
import { lookupUsersByUid } from '../system/nss.js';
import type { Context, Outcome } from './context.js';

/** One denied attempt. */
export interface DenyEvent {
  time: string;
  uid: number;
  user: string | null;
  src: string;
  dst: string;
  dport: number;
}

/** Parses one kernel log line with our prefix; null for anything else. Pure, for tests. */
export function parseDenyLine(line: string): Omit<DenyEvent, 'user' | 'time'> | null {
  if (!line.includes('consolegate-deny ')) return null;
  const field = (k: string) => new RegExp(`\\b${k}=(\\S+)`).exec(line)?.[1];
  const uid = field('UID');
  const dst = field('DST');
  const dport = field('DPT');
  if (uid === undefined || dst === undefined || dport === undefined) return null;
  return { uid: Number(uid), src: field('SRC') ?? '', dst, dport: Number(dport) };
}

/** Kernel log lines with their ISO time: journald when it has them, else the kernel ring buffer. */
async function kernelLog(run: Exec, since: string | null): Promise<{ time: string; text: string }[]> {
  const out: { time: string; text: string }[] = [];
  if (await hasCommand('journalctl')) {
    const r = await run(['journalctl', '-k', '-o', 'short-iso-precise', '--no-pager', '-q', '--grep', 'consolegate-deny ', ...(since ? ['--since', since] : [])]);
    if (r.code === 0) for (const l of r.stdout.split('\n')) if (l) out.push({ time: l.split(' ')[0] ?? '', text: l });
    if (out.length > 0) return out;
  }
  const r = await run(['dmesg', '--time-format', 'iso']);
  if (r.code !== 0) throw new Error(`cannot read the kernel log: ${r.stderr.trim() || `dmesg exited ${r.code}`} (run audit as root)`);
  const sinceMs = since ? Date.parse(since) : NaN;
  for (const l of r.stdout.split('\n')) {
    if (!l.includes('consolegate-deny ')) continue;
    const time = l.split(' ')[0] ?? '';
    if (!Number.isNaN(sinceMs) && Date.parse(time.replace(',', '.')) < sinceMs) continue;
    out.push({ time, text: l });
  }
  return out;
}

/** Prints the attempts, oldest first. */
export async function audit(ctx: Context): Promise<Outcome> {
  const lines = await kernelLog(ctx.exec, ctx.since);
  const parsed = lines.flatMap((l) => {
    const e = parseDenyLine(l.text);
    return e ? [{ ...e, time: l.time }] : [];
  });
  const names = await lookupUsersByUid(ctx.exec, [...new Set(parsed.map((e) => e.uid))]);
  const events: DenyEvent[] = parsed.map((e) => ({ ...e, user: names.get(e.uid) ?? null }));
  if (ctx.json) ctx.out.json({ events });
  else if (events.length === 0) ctx.out.line('no denied attempts in the kernel log');
  else for (const e of events) ctx.out.line(`${e.time}  uid ${e.uid}${e.user ? ` (${e.user})` : ''} → ${e.dst.includes(':') ? `[${e.dst}]` : e.dst}:${e.dport} denied`);
  return 'ok';
}
