#!/bin/bash
# The one test command (README, .ci/run): install what is missing, build, check types and lint, run every suite.
# Root-only suites (integration, fault, e2e, packaging) skip with a reason when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
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
