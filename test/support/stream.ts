// A live session for revocation tests: a stream as the user with the viewer group that keeps sending (as a
// console's ACKs and keystrokes do) until the connection breaks, and reports how and when it ended.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sandbox, TestUser } from './sandbox.js';

/**
 * One process (run as the user, viewer group) that listens on the port and streams to itself until the
 * connection breaks, `limit` ms pass or the file `stop` appears; prints how it ended, when (epoch ms) and how
 * much it sent.
 */
const STREAM = `
const net = require('node:net');
const fs = require('node:fs');
const [port, limit, stop] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
let bytes = 0;
const finish = (how) => { process.stdout.write(JSON.stringify({ how, at: Date.now(), bytes }) + '\\n'); process.exit(0); };
const srv = net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); });
srv.listen(port, '127.0.0.1', () => {
  const c = net.connect(port, '127.0.0.1');
  const chunk = Buffer.alloc(4096, 7);
  c.on('connect', () => setInterval(() => { if (c.write(chunk)) bytes += chunk.length; }, 5));
  c.on('error', (e) => finish('error ' + e.code));
  c.on('close', () => finish('close'));
  setTimeout(() => finish('timeout'), limit);
  setInterval(() => fs.existsSync(stop) && finish('stopped'), 50);
});
`;

export interface Ended {
  how: string;
  at: number;
  bytes: number;
}

/** Starts a stream as `user` with the viewer group; resolves once the kernel shows it established. */
export async function startStream(sb: Sandbox, user: TestUser, port: number, limitMs: number): Promise<{ done: Promise<Ended>; stop: () => Promise<void> }> {
  const gid = await sb.viewerGid();
  const stopFile = path.join(sb.dir, `stop-${port}`);
  const stop = () => writeFile(stopFile, '');
  const done = sb.run(['node', '-e', STREAM, String(port), String(limitMs), stopFile], { user, gid }).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Ended;
  });
  for (let i = 0; i < 100; i++) {
    const ss = await sb.run(['ss', '-Htn', 'state', 'established', `( dport = :${port} )`]);
    if (ss.stdout.trim() !== '') return { done, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  const early = await Promise.race([done.catch((e: unknown) => String(e)), new Promise((r) => setTimeout(() => r('still running'), 100))]);
  throw new Error(`the stream to port ${port} never became established: ${JSON.stringify(early)}`);
}

