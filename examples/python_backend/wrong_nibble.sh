#!/usr/bin/env bash
# The deliberately wrong backend: nvfp4.py --flip-nibble flips one E2M1 code (element [0, 1]).
# kcs check must fail (exit 1) and name that element. Usage: wrong_nibble.sh <kcs binary>
set -uo pipefail
KCS="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
CASE="nvfp4_quant.random.M=3.K=128"
"$KCS" gen --case "$CASE" --out "$T/bundles" >/dev/null || exit 1
/usr/bin/python3 "$HERE/nvfp4.py" "$T/bundles" "$T/outputs" --flip-nibble || exit 1
"$KCS" check --fixture "$T/bundles/nvfp4_quant/$CASE.h5" --outputs "$T/outputs/$CASE.h5" >"$T/log" 2>&1
rc=$?
cat "$T/log"
[ $rc -eq 1 ] || { echo "FAIL: kcs check exited $rc on a wrong nibble, want 1"; exit 1; }
grep -E '^x_fp4 +FAIL +exact .*x_fp4\[0, 1\]: expected' "$T/log" >/dev/null || { echo "FAIL: the x_fp4 line does not name element [0, 1]"; exit 1; }
echo "wrong nibble caught and named"
