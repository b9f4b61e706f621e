// Build: bundle the helper and open-console into single node18 files, then the Electron/renderer bits if present.
import { build } from 'esbuild';
import { chmod, mkdir, writeFile, cp } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const common = { bundle: true, platform: 'node', target: 'node18', format: 'cjs', sourcemap: false, legalComments: 'none' };

await mkdir('dist', { recursive: true });
// dist/ is CommonJS whatever the repo's module type, so the bundles also run where they are installed.
await writeFile('dist/package.json', '{ "type": "commonjs" }\n');
await build({ ...common, entryPoints: ['helper/src/bin.ts'], outfile: 'dist/consolegate-helper.js', banner: { js: '#!/usr/bin/env node' } });
// open-console is a sudo target: an absolute interpreter, never one found on the user's PATH.
await build({ ...common, entryPoints: ['helper/src/open-console-bin.ts'], outfile: 'dist/open-console', banner: { js: '#!/usr/bin/node' } });
await chmod('dist/consolegate-helper.js', 0o755);
await chmod('dist/open-console', 0o755);
// Native parts, hardened like a Debian package build. Without a C compiler the helper still works: without
// nss-numeric.so (preloaded into nft and iptables-restore) slower with many entitlements, without nft-genid
// (the ruleset generation) by listing our table on every check.
const hardening = ['-O2', '-g0', '-Wall', '-Wextra', '-Werror', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong', '-fstack-clash-protection', '-Wl,-z,relro,-z,now', '-Wl,--as-needed', '-s'];
const natives = [
  { out: 'dist/nss-numeric.so', src: 'helper/native/nss-numeric.c', flags: ['-shared', '-fPIC'], libs: ['-ldl'] },
  { out: 'dist/nft-genid', src: 'helper/native/nft-genid.c', flags: ['-fPIE', '-pie'], libs: [] },
];
for (const n of natives) {
  if (existsSync(n.out) && statSync(n.src).mtimeMs <= statSync(n.out).mtimeMs) continue;
  try {
    execFileSync('cc', [...n.flags, ...hardening, '-o', n.out, n.src, ...n.libs], { stdio: 'inherit' });
  } catch (err) {
    console.warn(`build: ${n.out} not built (${err.message}); install gcc and libc6-dev`);
  }
}
await cp('helper/schema/policy.schema.json', 'dist/policy.schema.json');
await cp('helper/examples/policy.example.yaml', 'dist/policy.example.yaml');

// Launcher parts are built by their own script once they exist.
if (existsSync('scripts/build-launcher.mjs')) await import('./build-launcher.mjs');
