#!/usr/bin/env bash
# Path 2 end to end: kcs writes the ci bundles, the numpy backend computes outputs, kcs check
# scores each one. Usage: run_ci.sh <kcs binary> [extra python backend args]
set -euo pipefail
KCS="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
"$KCS" gen --kernel q8 --tier ci --out "$T/bundles" >/dev/null
/usr/bin/python3 "$HERE/q8.py" "$T/bundles" "$T/outputs"
fails=0
n=0
for b in "$T"/bundles/q8/*.h5; do
  n=$((n + 1))
  if ! "$KCS" check --fixture "$b" --outputs "$T/outputs/$(basename "$b")" >"$T/log" 2>&1; then
    fails=$((fails + 1))
    echo "FAIL $(basename "$b")"
    grep -v " pass " "$T/log" | head -5
  fi
done
echo "python q8 backend: $((n - fails)) of $n bundles pass kcs check"
[ "$fails" -eq 0 ]
