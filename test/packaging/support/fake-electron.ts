// A stand-in "Electron folder" for electron-builder's offline `dir` target, where the real binary cannot
// be downloaded. electron-builder copies the folder, renames `electron` and flips the fuses in it; the
// stand-in carries Electron's fuse wire (sentinel, version 1, one byte per fuse, Electron's defaults),
// so that flipping is real and can be read back. It is not a browser: nothing here runs it.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** @electron/fuses looks for this marker; the wire follows it. */
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's shipped fuse defaults, in FuseV1Options order ('1' on, '0' off). */
const DEFAULT_WIRE = '101100011';

/** Writes the stand-in into `dir` and returns `dir`. */
export async function writeFakeElectron(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const body = Buffer.concat([
    Buffer.from('#!/bin/sh\necho "stand-in for the Electron binary (consolegate packaging tests)" >&2\nexit 1\n'),
    Buffer.from(SENTINEL),
    Buffer.from([1, DEFAULT_WIRE.length]),
    Buffer.from(DEFAULT_WIRE),
  ]);
  await writeFile(path.join(dir, 'electron'), body, { mode: 0o755 });
  return dir;
}
