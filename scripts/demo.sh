#!/bin/bash
# npm run demo — run as root on a Debian 12 machine. Installs what is missing (apt packages, npm ci, build),
# then shows the entitled user opening a real VM console and the other user being refused. Everything it creates
# lives in a sandbox and is removed on exit, Ctrl-C included (scripts/demo/demo.ts). See docs/demo.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root (it creates a network namespace, two users and a VM): sudo npm run demo" >&2
  exit 1
fi
# A failed install is reported by the demo itself as one line naming the missing package.
bash scripts/ensure-deps.sh || echo "demo: scripts/ensure-deps.sh did not finish; checking what is missing" >&2
exec node --import tsx scripts/demo/demo.ts "$@"
