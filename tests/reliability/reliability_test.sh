#!/usr/bin/env bash
# One fault plug-in (tests/reliability/fault.c) in a sweep beside the built-in reference backend.
# Usage: reliability_test.sh KCS KIND LIB
# Asserts: the fault's own verdict names the case with a pasteable repro line, the sweep finishes
# (every planned run is in the results file), the runs before the fault are kept as passes, kcs
# exits 1, and the reference backend in the same sweep still passes every run.
# KCS_RELIABILITY_OPTS replaces the isolation options (to probe a kcs that lacks them).
set -uo pipefail
KCS="$1" KIND="$2" LIB="$3"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [$KIND]: $*"; echo "--- output:"; head -c 20000 "$T/out"; exit 1; }
has() { grep -q -E -- "$1" "$T/out" || fail "output lacks /$1/"; }
row() { awk -v k="$1" -v b="$2" '$1 == k && $2 == b' "$T/out"; }
count() { /usr/bin/python3 - "$T/r.json" "$1" "$2" <<'PY'
import json, sys
# JSON Lines (docs/results.md): a header line, one line per run, an end line.
runs = [j for j in map(json.loads, open(sys.argv[1])) if "case" in j]
print(sum(1 for r in runs if r["backend"] == sys.argv[2] and (sys.argv[3] == "*" or r["verdict"] == sys.argv[3])))
PY
}

NAME="fault_$KIND"
CASES="q8.ties.*"   # 10 ci cases x 4 tiles = 40 calls per backend
OPTS="${KCS_RELIABILITY_OPTS---timeout 2 --max-memory 768M}"
EXTRA=()
case "$KIND" in
  nondet_repeat) NAME=fault_nondet; EXTRA=(--repeat 2) ;;
  ofast | ctor_crash) ;;
esac
# shellcheck disable=SC2086
timeout 120 "$KCS" run --backend reference --backend-lib "$LIB" --case "$CASES" --tier ci $OPTS "${EXTRA[@]}" \
  -q --results "$T/r.json" >"$T/out" 2>&1
rc=$?
[ $rc -ne 124 ] || fail "kcs run did not finish within 120 s"
[ $rc -eq 1 ] || fail "kcs run exited $rc, want 1"
[ -f "$T/r.json" ] || fail "no results file"

r="$(row q8 reference)"
read -r _ _ runs pass _ <<<"$r"
[ -n "$r" ] && [ "$runs" -eq 40 ] && [ "$pass" -eq 40 ] || fail "reference did not pass all 40 runs: $r"
[ "$(count reference passed)" -eq 40 ] || fail "results file lacks reference passes"
[ "$(count "$NAME" '*')" -eq 40 ] || fail "results file holds $(count "$NAME" '*') runs of $NAME, want all 40"

ABS_KCS="$(readlink -f "$KCS")"
ABS_LIB="$(readlink -f "$LIB")"
# A failure line: the absolute kcs path, the case, the absolute plug-in path, then the verdict.
line() { has "^FAIL $ABS_KCS run --case q8\.ties\.[^ ]+ --backend-lib $ABS_LIB( --tile [^ ]+)?( --repeat 2)?  # $1"; }
kept() { [ "$(count "$NAME" passed)" -ge "$1" ] || fail "only $(count "$NAME" passed) passes of $NAME kept, want >= $1"; }

case "$KIND" in
  exit0) line "crashed: exit\(0\) during the call"; kept 19 ;;
  segv) line "crashed: SIGSEGV"; kept 19 ;;
  abort) line "crashed: SIGABRT"; kept 19 ;;
  hang) line "timeout after 2 s"; kept 19 ;;
  leak) line "out of memory \(limit 768 MiB"; kept 3 ;;
  input_write) line "input\.x: .*input 'x' was written: byte 0 "; kept 19 ;;
  oob1) line "guard\.codes: 1 byte written past the end of output 'codes' \(at byte offset ([0-9]+) of a \\3-byte tensor\)"; kept 19 ;;
  oob4k) line "guard\.codes: [0-9]+ bytes written past the end of output 'codes' \(at byte offset ([0-9]+) to ([0-9]+) of a \\3-byte tensor\)"; kept 19 ;;
  ftz) line "fp_env: the call changed the FP environment: MXCSR .*FTZ.*DAZ"; kept 19 ;;
  rtz) line "fp_env: the call changed the FP environment: .*rounding to-nearest -> toward-zero"; kept 19 ;;
  ofast) line "fp_env: loading the plug-in changed the FP environment: MXCSR .*FTZ.*DAZ" ;;
  nondet) line "flaky: " ;;
  # Found when the parent has scored the call (late_write.<tensor>) or, if the write came later, by
  # the next call (crashed); either way naming where it landed and the call it followed. Where it
  # lands depends on timing (a write during the next call, while the arena is writable, hits that
  # call's layout), so the late-write verdict is asserted, not the tensor.
  late_write) line "(late_write\\.[a-z_]+|crashed): the backend wrote to [^;]* after the call of q8\\.ties\\.[^ ]+ had returned"; kept 19 ;;
  nondet_repeat) line "flaky: nondeterministic: run 2 of 2 differs from run 1 in 'scale'" ;;
  tile)
    # the outputs differ from the reference too (the plug-in's q8 is bit-exact or wrong): the line
    # names the contract; the tile check is recorded beside it
    line "scale: "; kept 10
    grep -q 'tile_invariance' "$T/r.json" && grep -q "'scale' (first at byte 0) differs from tile row_tile=16" "$T/r.json" ||
      fail "no tile_invariance check in the results" ;;
  ctor_crash)
    has "^FAIL $ABS_KCS run --case q8\.ties\.[^ ]+ --backend-lib $ABS_LIB( --tile [^ ]+)?  # crashed: SIGSEGV while loading the plug-in"
    has "^backend fault_ctor_crash stopped after 3 consecutive crashes: its remaining 37 runs are not run"
    [ "$(count "$NAME" not_run)" -eq 37 ] || fail "want 37 not_run records, got $(count "$NAME" not_run)"
    ;;
  *) fail "unknown kind" ;;
esac
echo "$KIND: verdict given, sweep finished, reference passed"
grep -m1 "^FAIL" "$T/out"
