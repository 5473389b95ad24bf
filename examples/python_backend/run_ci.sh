#!/usr/bin/env bash
# Path 2 end to end: kcs writes the ci bundles of a kernel, a numpy backend computes outputs,
# kcs check scores each one (bit-exact contracts: any difference fails).
# Usage: run_ci.sh <kcs binary> [kernel]   kernel: q8 (default, q8.py), nvfp4_quant or
#        nvfp4_stage (nvfp4.py)
set -euo pipefail
KCS="$1"
KERNEL="${2:-q8}"
HERE="$(cd "$(dirname "$0")" && pwd)"
case "$KERNEL" in
  q8) SCRIPT=q8.py ;;
  nvfp4_quant | nvfp4_stage) SCRIPT=nvfp4.py ;;
  *) echo "run_ci.sh: no python backend for $KERNEL"; exit 2 ;;
esac
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
"$KCS" gen --kernel "$KERNEL" --tier ci --out "$T/bundles" >/dev/null
/usr/bin/python3 "$HERE/$SCRIPT" "$T/bundles" "$T/outputs"
fails=0
n=0
for b in "$T"/bundles/"$KERNEL"/*.h5; do
  n=$((n + 1))
  if ! "$KCS" check --fixture "$b" --outputs "$T/outputs/$(basename "$b")" --backend-name "python_$KERNEL" \
    --results "$T/results/$(basename "$b" .h5).jsonl" >"$T/log" 2>&1; then
    fails=$((fails + 1))
    echo "FAIL $(basename "$b")"
    grep -v " pass " "$T/log" | head -5
  fi
done
echo "python $KERNEL backend: $((n - fails)) of $n bundles pass kcs check"
[ "$fails" -eq 0 ]
