#!/usr/bin/env bash
# Regenerates the committed drift baseline reports/baselines/ci.json: the ci tier on the
# `reference` and `optimized` backends, in the compact form of `kcs report --write-baseline`.
#
#   tools/update_baseline.sh [path/to/kcs]     (default build/release/kcs; build it first)
#
# Run it after an intended change of results (a new kernel, case, tile, contract, or better code),
# read `git diff reports/baselines/ci.json`, and commit it with the change. It refuses to bless a
# sweep with failures, and a machine that pretends to lack features (KCS_DISABLE_FEATURES).
# The ctest `report_baseline_ci` compares a fresh sweep with this file (--fail-on-drift).
set -euo pipefail
cd "$(dirname "$0")/.."
KCS="${1:-build/release/kcs}"
OUT=reports/baselines/ci.json
if [ ! -x "$KCS" ]; then
  echo "update_baseline: no kcs binary at $KCS (build it: tools/dev.sh test, or cmake --build --preset release)" >&2
  exit 2
fi
if [ -n "${KCS_DISABLE_FEATURES:-}" ]; then
  echo "update_baseline: unset KCS_DISABLE_FEATURES: the baseline must record what this CPU really runs" >&2
  exit 2
fi
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

rc=0
"$KCS" run --tier ci --backend reference --backend optimized -q --results "$T/results.jsonl" >"$T/run.log" || rc=$?
if [ "$rc" -ne 0 ]; then
  cat "$T/run.log"
  echo "update_baseline: the ci sweep did not pass (exit $rc); a baseline never blesses failures" >&2
  exit "$rc"
fi
"$KCS" report --results "$T/results.jsonl" --write-baseline "$OUT" >/dev/null
echo "wrote $OUT ($(wc -c <"$OUT") bytes, $(grep -c '"kernel"' "$OUT") entries); review it with: git diff --stat $OUT"
