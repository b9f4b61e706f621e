// A missing program is named with the Debian package that brings it, in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAB_TOOLS, missingLine, missingTools } from '../../e2e/support/deps.js';

test('missingLine names each missing program and its package once', () => {
  const tools = [
    { name: 'QEMU', path: '/nonexistent/qemu-system-x86_64', pkg: 'qemu-system-x86' },
    { name: 'SeaBIOS', path: '/nonexistent/bios-256k.bin', pkg: 'seabios' },
    { name: 'QXL VGA BIOS', path: '/nonexistent/vgabios-qxl.bin', pkg: 'seabios' },
    { name: 'sh', path: '/bin/sh', pkg: 'dash' },
  ];
  assert.deepEqual(missingTools(tools).map((t) => t.name), ['QEMU', 'SeaBIOS', 'QXL VGA BIOS']);
  const line = missingLine(tools);
  assert.equal(line, 'missing QEMU, SeaBIOS, QXL VGA BIOS: install the Debian packages qemu-system-x86 seabios (apt-get install qemu-system-x86 seabios)');
  assert.ok(!line.includes('\n'));
});

test('nothing missing → null', () => {
  assert.equal(missingLine([{ name: 'sh', path: '/bin/sh', pkg: 'dash' }]), null);
});

test('every lab package is in scripts/apt-packages.txt, so ensure-deps installs it', async () => {
  const { readFile } = await import('node:fs/promises');
  const listed = new Set((await readFile(new URL('../../../scripts/apt-packages.txt', import.meta.url), 'utf8')).split('\n').map((l) => l.split(/\s|#/)[0]).filter(Boolean));
  for (const t of LAB_TOOLS) assert.ok(listed.has(t.pkg), `${t.pkg} (for ${t.name}) is listed`);
});
