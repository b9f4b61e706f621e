// Build the launcher: Electron main + preload (CommonJS for Electron) and the renderer (one script, HTML, CSS).
// Imported by scripts/build.mjs (writes into dist/); run directly with `--outdir DIR` to build elsewhere (UI tests).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

const i = process.argv.indexOf('--outdir');
const out = path.resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1] : 'dist');
const root = path.resolve(import.meta.dirname, '..');
const src = (p) => path.join(root, p);

const node = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: false, legalComments: 'none',
  // electron is provided by the runtime; keytar is a native module loaded from node_modules at run time.
  external: ['electron', 'keytar'],
  // The services are ES modules; give import.meta.url a value inside the CommonJS bundle.
  define: { 'import.meta.url': '__consolegateImportMetaUrl' },
  banner: { js: 'const __consolegateImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
};
await mkdir(path.join(out, 'electron'), { recursive: true });
await mkdir(path.join(out, 'renderer'), { recursive: true });
await build({ ...node, entryPoints: [src('electron/main/main.ts')], outfile: path.join(out, 'electron/main.cjs') });
// The preload runs sandboxed: it may require only 'electron', so everything else is bundled in.
await build({ ...node, entryPoints: [src('electron/preload.ts')], outfile: path.join(out, 'electron/preload.cjs'), external: ['electron'], define: {}, banner: {} });
await build({
  entryPoints: [src('renderer/app.ts')], outfile: path.join(out, 'renderer/app.js'),
  bundle: true, platform: 'browser', format: 'iife', target: 'chrome120', sourcemap: false, legalComments: 'none', logLevel: 'warning',
});
await copyFile(src('renderer/index.html'), path.join(out, 'renderer/index.html'));
await copyFile(src('renderer/styles.css'), path.join(out, 'renderer/styles.css'));
