// npm start: build the launcher, fetch Electron's binary if it is missing (its postinstall is disabled in
// package.json allowScripts), then run the app from the repo root (package.json "main").
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);
await import('./build-launcher.mjs');

const pkg = path.join(root, 'node_modules', 'electron');
// Same lookup as electron's own index.js, without its throw-on-import.
function binary() {
  const rel = existsSync(path.join(pkg, 'path.txt')) ? readFileSync(path.join(pkg, 'path.txt'), 'utf8') : 'electron';
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, rel);
  return path.join(pkg, 'dist', rel);
}

if (!existsSync(binary()) && !process.env.ELECTRON_OVERRIDE_DIST_PATH) {
  console.error('start: Electron binary missing; running electron/install.js to download it…');
  const r = spawnSync(process.execPath, [path.join(pkg, 'install.js')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('start: could not download Electron. Set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron build.');
    process.exit(1);
  }
}
const bin = binary();
if (!existsSync(bin)) {
  console.error(`start: no Electron binary at ${bin}`);
  process.exit(1);
}
const args = ['.', ...process.argv.slice(2)];
// Chromium refuses to run its sandbox as root; development containers often are root. Never the case when installed.
if (process.getuid?.() === 0 && !args.includes('--no-sandbox')) {
  console.error('start: running as root, adding --no-sandbox (development only)');
  args.push('--no-sandbox');
}
const child = spawn(bin, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
