#!/bin/bash
# The one test command (README, .ci/run): install what is missing, build, check types and lint, run every suite.
# Root-only suites (integration, fault, e2e, packaging) skip with a reason when not run as root.
# `--check` (npm run check): types, lint and the unit suite only, as any user, with no apt packages installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == --check ]]; then
  shift
  (($#)) && { echo "test.sh: --check takes no suites" >&2; exit 64; }
  set -- unit
  bash scripts/ensure-deps.sh --no-apt
else
  bash scripts/ensure-deps.sh
fi
echo "== typecheck and lint"
npx --no-install tsc -p tsconfig.json --noEmit
npx --no-install eslint --max-warnings 0 .

shopt -s globstar nullglob
# Suites by name (`scripts/test.sh unit integration`); all of them by default.
suites=("$@")
((${#suites[@]})) || suites=(unit integration fault e2e ui electron packaging)
files=()
for s in "${suites[@]}"; do files+=(test/"$s"/**/*.test.ts); done
echo "== ${#files[@]} test files"
# One file at a time: root suites share the kernel's sysctls, users and the package database.
exec node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${files[@]}"
