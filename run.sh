#!/usr/bin/env bash
# chartsync's two commands on a fresh machine:
#   ./run.sh start        start the embedded default (standalone sidecar with example charts)
#   ./run.sh test [PATH]  run the whole test suite (or the test files/folders named)
#   ./run.sh bench        run the benchmarks
# Each installs what it needs (Node 24, pnpm, dependencies, test tools), idempotently.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/env.sh
source scripts/env.sh
cmd=${1:-}; shift || true
pnpm install --frozen-lockfile --prefer-offline --reporter=silent
pnpm -s build
case $cmd in
  start) exec pnpm -s start "$@" ;;
  test) exec node test/scripts/run-tests.mjs "$@" ;;
  bench) exec node bench/run.mjs "$@" ;;
  *) echo "usage: ./run.sh start|test|bench" >&2; exit 2 ;;
esac
