// The e2e screen checks must be able to fail: a blank or foreign screen is not "the VM's screen".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findFrame, lumaStdDev, parsePpm, type Rgb } from '../../e2e/support/image.js';

function image(width: number, height: number, ink: [number, number][] = []): Rgb {
  const data = Buffer.alloc(width * height * 3);
  for (const [x, y] of ink) data.fill(200, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { width, height, data };
}
const TEXT: [number, number][] = [[1, 1], [2, 1], [3, 1], [1, 2], [3, 3], [6, 4], [7, 4], [8, 6]];

test('parsePpm reads a P6 header with a comment, and refuses 16-bit files', () => {
  const ppm = Buffer.concat([Buffer.from('P6\n# made by a test\n2 1\n255\n'), Buffer.from([1, 2, 3, 4, 5, 6])]);
  const img = parsePpm(ppm);
  assert.deepEqual([img.width, img.height, [...img.data]], [2, 1, [1, 2, 3, 4, 5, 6]]);
  assert.throws(() => parsePpm(Buffer.from('P6 1 1 65535\n\0\0\0\0\0\0')), /maxval 255/);
});

test('lumaStdDev is 0 for a flat image and positive with text on it', () => {
  assert.equal(lumaStdDev(image(10, 10)), 0);
  assert.ok(lumaStdDev(image(10, 10, TEXT)) > 10);
});

test('findFrame finds the frame where it was pasted', () => {
  const frame = image(10, 8, TEXT);
  const screen = image(40, 30, TEXT.map(([x, y]) => [x + 5, y + 7]));
  assert.deepEqual(findFrame(screen, frame), { x: 5, y: 7 });
});

test('findFrame says null for a blank screen and for different text', () => {
  const frame = image(10, 8, TEXT);
  assert.equal(findFrame(image(40, 30), frame), null);
  assert.equal(findFrame(image(40, 30, [[6, 8], [9, 9], [20, 20]]), frame), null);
});

test('findFrame tolerates one changed pixel (a blinking cursor) but not a mostly different picture', () => {
  const many: [number, number][] = [];
  for (let x = 0; x < 40; x++) many.push([x, 2], [x, 5]);
  const frame = image(40, 8, [...many, [10, 7]]);
  const screen = image(60, 20, many.map(([x, y]) => [x + 3, y + 4]));
  assert.deepEqual(findFrame(screen, frame), { x: 3, y: 4 }, 'cursor pixel missing on screen');
  const half = image(60, 20, many.filter(([, y]) => y === 2).map(([x, y]) => [x + 3, y + 4]));
  assert.equal(findFrame(half, frame), null, 'half the text missing');
});

test('findFrame refuses a single-colour frame (nothing to look for)', () => {
  assert.throws(() => findFrame(image(40, 30), image(10, 8)), /single colour/);
});
