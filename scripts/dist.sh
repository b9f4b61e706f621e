#!/bin/bash
# npm run dist: every package this repository ships, into out/.
#   out/packages/   consolegate-helper and consolegate-host .deb and .rpm (dpkg-deb and rpmbuild: always, offline too)
#   out/launcher/   the consolegate launcher: .deb and .rpm where electron-builder can download fpm and
#                   Electron; otherwise only the unpacked `dir` build, from a local Electron folder
# Environment:
#   ELECTRON_DIST=DIR          an Electron folder to package (default node_modules/electron/dist if present)
#   CONSOLEGATE_DIST_ONLINE=1  also build the launcher's deb and rpm (electron-builder downloads fpm);
#                              without it only the `dir` target is built, which needs no network
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
bash scripts/dist-helper.sh --no-build
bash scripts/dist-helper.sh --no-build --package host   # consolegate-host, for the hypervisor (docs/host.md)

electron_dist=${ELECTRON_DIST:-}
[[ -z $electron_dist && -x node_modules/electron/dist/electron ]] && electron_dist=node_modules/electron/dist
args=(--config packaging/electron-builder.mjs --linux)

# electron-builder's deb and rpm targets fetch fpm (and, without a local folder, Electron) from the network;
# the caller says whether that is possible rather than the script probing the network.
if [[ ${CONSOLEGATE_DIST_ONLINE:-0} == 1 ]]; then
  args+=(deb rpm dir)
else
  if [[ -z $electron_dist ]]; then
    echo "dist: offline and no Electron folder: set ELECTRON_DIST to an unpacked Electron $(node -p 'require("electron/package.json").version') for linux-x64" >&2
    exit 1
  fi
  echo "dist: building the launcher's dir target only (set CONSOLEGATE_DIST_ONLINE=1 for deb/rpm; they download fpm)"
  # Rebuilding keytar for Electron downloads Electron's headers; offline it keeps the build from npm ci.
  args+=(dir -c.npmRebuild=false)
fi
[[ -n $electron_dist ]] && args+=("-c.electronDist=$(realpath "$electron_dist")")
npx --no-install electron-builder "${args[@]}"
