#!/usr/bin/env bash
# CI drift check: a fresh ci-tier sweep of `reference` and `optimized` against the committed
# baseline. Fails on any drift (each drifted output is named) and on any failed check.
# Kernels and cases the baseline does not know yet are listed as new, not drift.
# Usage: report_baseline_test.sh <kcs binary> <baseline.json> [out dir]
set -uo pipefail
KCS="$1"
BASELINE="$2"
OUT="${3:-$(mktemp -d)}"
rm -rf "$OUT/report"
mkdir -p "$OUT"

run_rc=0
"$KCS" run --tier ci --backend reference --backend optimized -q --results "$OUT/results.jsonl" >"$OUT/run.log" 2>&1 ||
  run_rc=$?
if [ ! -s "$OUT/results.jsonl" ]; then
  cat "$OUT/run.log"
  echo "FAIL the ci sweep wrote no results (exit $run_rc)"
  exit 1
fi
report_rc=0
"$KCS" report --results "$OUT/results.jsonl" --baseline "$BASELINE" --fail-on-drift --out "$OUT/report" || report_rc=$?

if [ "$run_rc" -ne 0 ]; then
  grep -E "^(FAIL|backend)" "$OUT/run.log" | head -50
  echo "FAIL the ci sweep failed (exit $run_rc); see $OUT/report/index.html"
fi
if [ "$report_rc" -ne 0 ]; then
  echo "FAIL drift against $BASELINE (exit $report_rc); see $OUT/report/index.html."
  echo "If the change is intended, regenerate the baseline with tools/update_baseline.sh and commit it."
fi
[ "$run_rc" -eq 0 ] && [ "$report_rc" -eq 0 ] && echo "no drift against $BASELINE"
[ "$run_rc" -eq 0 ] && [ "$report_rc" -eq 0 ]
