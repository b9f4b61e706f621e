#!/bin/bash
# Install what the project needs on a fresh Debian 12 machine: apt packages, then npm ci, then the build.
# `--no-apt` (npm run check) skips the apt packages: a contributor without root gets npm ci and the build only.
set -euo pipefail
cd "$(dirname "$0")/.."

apt=1
[[ ${1:-} == --no-apt ]] && apt=0
missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < scripts/apt-packages.txt
if ((apt && ${#missing[@]})); then
  echo "ensure-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then echo "ensure-deps: run as root to install: ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  # Through apt-install-isolated.sh: slapd/sssd must neither start nor change the host's NSS and PAM.
  bash scripts/apt-install-isolated.sh "${missing[@]}"
fi

# Electron's own binary cannot always be downloaded; its types and the rest install without it.
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  echo "ensure-deps: npm ci"
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
