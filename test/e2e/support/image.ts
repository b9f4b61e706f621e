// Pixels for the e2e checks: binary PPM (P6) parsing, "is it blank", and "does the screen show the VM's frame".
// PPM because both QEMU's screendump and ImageMagick's `ppm:-` write it and it needs no decoder.

/** An 8-bit RGB image. */
export interface Rgb {
  width: number;
  height: number;
  data: Buffer;
}

/** Parses a binary PPM (P6, maxval 255). */
export function parsePpm(buf: Buffer): Rgb {
  // Header: "P6" whitespace width whitespace height whitespace maxval one-whitespace, '#' comments allowed.
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4) {
    while (i < buf.length && /\s/.test(String.fromCharCode(buf[i] as number))) i++;
    if (buf[i] === 0x23) {
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    const start = i;
    while (i < buf.length && !/\s/.test(String.fromCharCode(buf[i] as number))) i++;
    if (start === i) throw new Error('PPM header is cut short');
    fields.push(buf.toString('latin1', start, i));
  }
  const [magic, w, h, max] = fields;
  if (magic !== 'P6' || max !== '255') throw new Error(`Expected a P6 PPM with maxval 255, got ${magic} maxval ${max}`);
  const width = Number(w);
  const height = Number(h);
  const data = buf.subarray(i + 1, i + 1 + width * height * 3);
  if (data.length !== width * height * 3) throw new Error(`PPM pixel data is ${data.length} bytes, expected ${width * height * 3}`);
  return { width, height, data };
}

/** Standard deviation of the luminance over a region (whole image by default); 0 means one flat colour. */
export function lumaStdDev(img: Rgb, region = { x: 0, y: 0, width: img.width, height: img.height }): number {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) {
      const o = (y * img.width + x) * 3;
      const l = 0.299 * (img.data[o] as number) + 0.587 * (img.data[o + 1] as number) + 0.114 * (img.data[o + 2] as number);
      sum += l;
      sq += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/**
 * Finds where `frame` (the VM's own framebuffer) appears unscaled in `screen`, comparing a sample of its
 * non-background pixels; null when it is nowhere. This proves the viewer shows *this VM's* picture,
 * not just some window. `minMatch` leaves room for what changes between the two captures (a blinking cursor).
 */
export function findFrame(screen: Rgb, frame: Rgb, opts: { tolerance?: number; samples?: number; minMatch?: number } = {}): { x: number; y: number } | null {
  const tol = opts.tolerance ?? 24;
  const minMatch = opts.minMatch ?? 0.95;
  const bg = pixel(frame, 0, 0);
  // Sample the frame's "ink" (pixels unlike its background): a black screen would match any black area.
  const ink: [number, number][] = [];
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) if (distance(pixel(frame, x, y), bg) > 60) ink.push([x, y]);
  }
  if (ink.length === 0) throw new Error('The VM frame is a single colour: nothing to look for');
  const step = Math.max(1, Math.floor(ink.length / (opts.samples ?? 200)));
  const probe = ink.filter((_, i) => i % step === 0);
  // The first ink pixel in reading order is the top-left of the first text line: stable, unlike the cursor.
  const [ax, ay] = probe[0] as [number, number];
  const anchor = pixel(frame, ax, ay);
  for (let oy = 0; oy + frame.height <= screen.height; oy++) {
    for (let ox = 0; ox + frame.width <= screen.width; ox++) {
      if (distance(pixel(screen, ox + ax, oy + ay), anchor) > tol) continue;
      const hits = probe.filter(([x, y]) => distance(pixel(screen, ox + x, oy + y), pixel(frame, x, y)) <= tol).length;
      if (hits >= minMatch * probe.length) return { x: ox, y: oy };
    }
  }
  return null;
}

function pixel(img: Rgb, x: number, y: number): [number, number, number] {
  const o = (y * img.width + x) * 3;
  return [img.data[o] as number, img.data[o + 1] as number, img.data[o + 2] as number];
}

function distance(a: [number, number, number], b: [number, number, number]): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}
