// electron-builder configuration of the consolegate launcher: deb and rpm (depend on consolegate-helper)
// and an unpacked `dir` build. Run from the repository root: scripts/dist.sh does.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const launcher = path.join(path.dirname(fileURLToPath(import.meta.url)), 'launcher');

/** The [Desktop Entry] keys of our desktop file: the one source for what electron-builder generates. */
function desktopEntry(file) {
  const entry = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)=(.*)$/.exec(line);
    if (m) entry[m[1]] = m[2];
  }
  return entry;
}
// electron-builder writes Exec itself (the installed binary) and takes Comment from `description`.
const { Exec: _exec, Comment: comment, ...entry } = desktopEntry(path.join(launcher, 'consolegate.desktop'));

/** Files electron-builder's fpm targets do not place on their own: SVG icon and AppStream metadata. */
const extraSystemFiles = [
  `${path.join(launcher, 'icons/consolegate.svg')}=/usr/share/icons/hicolor/scalable/apps/consolegate.svg`,
  `${path.join(launcher, 'org.consolegate.Launcher.metainfo.xml')}=/usr/share/metainfo/org.consolegate.Launcher.metainfo.xml`,
];

export default {
  appId: 'org.consolegate.Launcher',
  productName: 'consolegate',
  copyright: 'Copyright © 2026 consolegate contributors',
  directories: { output: 'out/launcher', buildResources: 'packaging/launcher' },
  // Only the built launcher goes into app.asar. esbuild bundles every dependency into main.cjs except
  // keytar (native), so of the production dependencies electron-builder would copy, only keytar's
  // runtime part is kept (its own dependencies are install-time tools). test/packaging checks that
  // every module main.cjs requires is in the archive.
  files: [
    'package.json',
    'dist/electron/**',
    'dist/renderer/**',
    '!**/*.map',
    '!node_modules/**',
    'node_modules/keytar/package.json',
    'node_modules/keytar/lib/**',
    'node_modules/keytar/build/Release/keytar.node',
  ],
  extraMetadata: {
    main: 'dist/electron/main.cjs',
    // Electron uses it as the app_id / WM_CLASS, which must match the desktop file's name.
    desktopName: 'consolegate.desktop',
    homepage: 'https://github.com/consolegate/consolegate',
    author: { name: 'consolegate maintainers', email: 'maintainers@consolegate.org' },
  },
  asar: true,
  // Native modules (keytar) cannot be loaded from inside an asar archive.
  asarUnpack: ['**/*.node'],
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    // Electron validates the asar's embedded hash on macOS and Windows only; on Linux this is inert
    // but keeps the configuration the same on every platform.
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
  },
  linux: {
    target: ['deb', 'rpm', 'dir'],
    executableName: 'consolegate',
    category: entry.Categories,
    icon: 'packaging/launcher/icons',
    synopsis: 'Launcher for the VM consoles consolegate entitles you to',
    description: comment,
    desktop: { entry },
    maintainer: 'consolegate maintainers <maintainers@consolegate.org>',
    vendor: 'consolegate',
  },
  // `depends` replaces electron-builder's defaults (Electron's shared libraries, copied from its
  // FpmTarget.getDefaultDepends), so they are repeated here after consolegate-helper, which owns
  // open-console, the sudoers rules and the views the launcher reads. libsecret is keytar's.
  deb: {
    depends: ['consolegate-helper', 'libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1', 'libsecret-1-0'],
    fpm: extraSystemFiles,
  },
  rpm: {
    depends: ['consolegate-helper', 'gtk3', 'libnotify', 'nss', 'libXScrnSaver', '(libXtst or libXtst6)', 'xdg-utils', 'at-spi2-core', '(libuuid or libuuid1)', 'libsecret'],
    fpm: extraSystemFiles,
  },
};
