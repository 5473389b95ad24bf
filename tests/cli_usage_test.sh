#!/usr/bin/env bash
# Exit codes of the kcs command line for misuse and bad knob values (README "The kcs command"):
# 2 with a message naming the problem, before anything runs or is written; --help is 0.
# Usage: cli_usage_test.sh <kcs binary>
set -uo pipefail
KCS="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect <name> <wanted rc> <regex the output must match> -- command...
expect() {
  local name="$1" want="$2" pattern="$3"
  shift 4
  local out rc
  out="$(timeout 60 "$@" 2>&1)"
  rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want"; echo "$out" | tail -5; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$out"; then
    bad "$name: output lacks /$pattern/"
    echo "$out" | tail -5
    return
  fi
  ok "$name"
}

# Knob values: once a segfault (gemm_i8), a hang (gemm_bf16) and an error in every case (bogus).
BIG=9223372036854775807
expect "gemm_i8 k_block=INT64_MAX" 2 "tile knob k_block = $BIG is out of range: valid 0\.\.16777216" -- \
  "$KCS" run --kernel gemm_i8 --tier smoke --backend avx2 --tile k_block=$BIG -q --out "$T/o1"
expect "gemm_bf16 k_block=INT64_MAX" 2 "tile knob k_block = $BIG is out of range" -- \
  "$KCS" run --kernel gemm_bf16 --tier smoke --backend avx2 --tile k_block=$BIG -q --out "$T/o2"
expect "unknown knob" 2 "kernel q8 has no tile knob 'bogus' \(its knobs: row_tile\)" -- \
  "$KCS" run --kernel q8 --tier smoke --backend reference --tile bogus=3 -q --out "$T/o3"
expect "negative knob" 2 "tile knob row_tile = -1 is out of range: valid 0\.\." -- \
  "$KCS" run --kernel q8 --tier smoke --tile row_tile=-1 -q
expect "knob off its multiple" 2 "block_k = 100 is out of range: valid 0\.\.16777216, a multiple of 128" -- \
  "$KCS" run --kernel nvfp4_quant --tier smoke --tile block_k=100 -q
expect "knob not a number" 2 "not an integer" -- "$KCS" run --kernel q8 --tier smoke --tile row_tile=x -q
expect "auto value where declared" 0 "" -- "$KCS" run --kernel gemm_bf16 --tier smoke --backend reference --tile m_tile=-1 -q
for o in o1 o2 o3; do [ -e "$T/$o" ] && bad "refused run wrote $T/$o" || ok "refused run wrote nothing ($o)"; done
expect "list shows knob ranges" 0 "knob +block_k .*\[0\.\.16777216, a multiple of 128\]" -- "$KCS" list nvfp4_quant

# Misuse: CLI11's message, exit 2 (not CLI11's own 105-114).
expect "unknown option" 2 "--nope" -- "$KCS" run --nope
expect "missing argument" 2 "tile" -- "$KCS" run --tile
expect "bad value" 2 "threads" -- "$KCS" run --threads 0
expect "bad tier" 2 "tier" -- "$KCS" run --tier weekly
expect "no subcommand" 2 "subcommand" -- "$KCS"
expect "unknown subcommand" 2 "" -- "$KCS" frobnicate
expect "missing required option" 2 "--outputs" -- "$KCS" check --fixture x.h5
expect "--help" 0 "Usage" -- "$KCS" --help
expect "run --help" 0 "--tile" -- "$KCS" run --help

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
