// A headless X display for the real remote-viewer, with a cookie file the test users may read, and screenshots.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { waitFor } from './wait.js';
import { killAndWait } from './qemu.js';
import { parsePpm, type Rgb } from './image.js';

/** A running X server. */
export interface XDisplay {
  display: string;
  xauthority: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts Xvfb (1024x768x24, no TCP) on the first free display number ≥ 90, with MIT cookie auth. */
export async function startXvfb(inside: (argv: string[]) => string[], dir: string): Promise<XDisplay> {
  let n = 90;
  while (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) n++;
  const display = `:${n}`;
  const xauthority = path.join(dir, 'Xauthority');
  // Readable by the lab's users (mode 0644): this display exists only for the test and shows only the test VM.
  await execa('xauth', ['-f', xauthority, 'add', display, 'MIT-MAGIC-COOKIE-1', randomBytes(16).toString('hex')]);
  await execa('chmod', ['0644', xauthority]);
  const [file, ...args] = inside(['Xvfb', display, '-screen', '0', '1024x768x24', '-nolisten', 'tcp', '-noreset', '-auth', xauthority]);
  const proc = execa(file as string, args, { stdio: 'ignore', reject: false, cleanup: true });
  const pid = proc.pid;
  const stop = async (): Promise<void> => {
    if (pid !== undefined) await killAndWait(pid);
    await proc.catch(() => undefined);
  };
  try {
    await waitFor(() => existsSync(`/tmp/.X11-unix/X${n}`), 10_000, `Xvfb ${display}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { display, xauthority, pid, stop };
}

/** Takes a screenshot of the whole display; writes a PNG to `pngFile` if given and returns the pixels. */
export async function screenshot(x: { display: string; xauthority: string }, pngFile?: string): Promise<Rgb> {
  const env = { DISPLAY: x.display, XAUTHORITY: x.xauthority };
  const shot = await execa('import', ['-display', x.display, '-window', 'root', '-depth', '8', 'ppm:-'], { env, encoding: 'buffer' });
  const ppm = Buffer.from(shot.stdout);
  if (pngFile !== undefined) await execa('convert', ['ppm:-', `png:${pngFile}`], { input: ppm });
  return parsePpm(ppm);
}

/** The caller's own display for the lab's users: its cookie copied into a file they can read (mode 0644). */
export async function borrowDisplay(display: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ display: string; xauthority: string }> {
  const xauthority = path.join(dir, 'Xauthority');
  const source = env.XAUTHORITY ?? path.join(env.HOME ?? '/root', '.Xauthority');
  const cookie = await execa('xauth', ['-f', source, 'extract', '-', display], { encoding: 'buffer', reject: false });
  // No cookie (e.g. the server allows local clients by xhost): an empty file, so clients simply try without one.
  await execa('xauth', ['-f', xauthority, 'merge', '-'], { input: Buffer.from(cookie.stdout ?? new Uint8Array()) });
  await execa('chmod', ['0644', xauthority]);
  return { display, xauthority };
}
