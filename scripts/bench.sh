#!/bin/bash
# npm run bench [-- --quick] [-- --only apply,connect,memory] [-- --markdown] [-- --json FILE]
# Runs the benchmarks (root, network namespaces; see bench/README.md), then the click → console latency
# benchmark when it exists. BENCH_QUICK=1 is the same as --quick. Prints tables; never asserts timings.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "bench: needs root (network namespaces, nft, iptables); run: sudo npm run bench" >&2
  exit 1
fi
[[ -f dist/consolegate-helper.js && -f dist/open-console ]] || npm run --silent build

node --import tsx bench/run.ts "$@"

# Click → console (written by the e2e side): its argument is the number of runs; exit 2 means "cannot run here".
if [[ -f bench/console-latency.ts ]]; then
  runs=()
  [[ " $* " == *" --quick "* || "${BENCH_QUICK:-}" == 1 ]] && runs=(3)
  rc=0
  node --import tsx bench/console-latency.ts "${runs[@]}" || rc=$?
  if ((rc == 2)); then echo "bench: click → console latency skipped (see the reason above)" >&2
  elif ((rc != 0)); then exit "$rc"; fi
fi
