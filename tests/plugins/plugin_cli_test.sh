#!/usr/bin/env bash
# Plug-ins through `kcs run --backend-lib`. Usage: plugin_cli_test.sh KCS MODE LIB [LIB2]
#   example          the worked example passes the ci tier of q8 and nvfp4_quant, and ran
#   bad_abi | missing_symbols | bad_status | wrong_answer
#                    the broken plug-in is reported with a clear message, kcs exits 1, and the
#                    reference backend in the same sweep still runs and passes
#   expect           expectation lists: xfail, unsupported, strict unexpected pass, entry without
#                    a reason refused
#   outside_contract LIB = nan_flush (differs only on rows with NaN/Inf inputs): those runs are
#                    outside_contract_differs, counted apart, exit 0; LIB2 = nan_flush_leaky (also
#                    changes a finite row): plain failures naming the row, exit 1
set -uo pipefail
KCS="$1" MODE="$2" LIB="$3" LIB2="${4:-}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$T/out"; exit 1; }
has() { grep -q -- "$1" "$T/out" || fail "output lacks '$1'"; }
# One row of the summary table: kernel backend runs pass fail error ...
row() { awk -v k="$1" -v b="$2" '$1 == k && $2 == b' "$T/out"; }

case "$MODE" in
  example)
    "$KCS" run --backend-lib "$LIB" --tier ci -q --results "$T/r.json" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "kcs run exited $rc"
    for k in q8 nvfp4_quant; do
      r="$(row $k c_example)"
      [ -n "$r" ] || fail "no summary row for $k on c_example"
      read -r _ _ runs pass failn err skip _ <<<"$r"
      [ "$runs" -gt 0 ] && [ "$runs" -eq "$pass" ] && [ "$skip" -eq 0 ] || fail "$k on c_example: $r"
      echo "$k on c_example: $pass of $runs runs pass"
    done
    # only the kernels the plug-in implements were swept
    [ -z "$(row rope c_example)" ] || fail "swept a kernel the plug-in does not implement"
    grep -q '"backend": *"c_example"' "$T/r.json" || fail "results lack the plug-in"
    ;;
  bad_abi | missing_symbols | bad_status | wrong_answer)
    "$KCS" run --backend reference --backend-lib "$LIB" --kernel q8 --tier smoke -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "kcs run exited $rc, want 1"
    r="$(row q8 reference)"
    read -r _ _ runs pass _ <<<"$r"
    [ -n "$r" ] && [ "$runs" -gt 0 ] && [ "$runs" -eq "$pass" ] || fail "reference did not run to a pass: $r"
    case "$MODE" in
      bad_abi) has "wrong ABI version 99: this kcs speaks kcs/plugin.h ABI version 1" ;;
      missing_symbols) has "missing symbol(s) kcs_plugin_kernels, kcs_plugin_run" ;;
      bad_status) has "plug-in bad_status returned status 3 (internal error): simulated device failure on q8" ;;
      wrong_answer)
        has "FAIL $(readlink -f "$KCS") run --case q8\..* --backend-lib $(readlink -f "$LIB")"
        has "# codes: "
        r="$(row q8 wrong_answer)"
        read -r _ _ runs pass failn _ <<<"$r"
        [ "$failn" -gt 0 ] || fail "wrong_answer was not caught: $r"
        ;;
    esac
    echo "$MODE: reported, reference still passed"
    grep -m1 -E "backend-lib|FAIL" "$T/out"
    ;;
  outside_contract)
    "$KCS" run --backend-lib "$LIB" --kernel q8 --tier ci -q --out "$T/o" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "differences outside the contract only: exit $rc, want 0"
    R="$T/o/results.jsonl"
    nan_runs=$(grep -c '"case": *"q8\.nan_inf' "$R")
    outside=$(grep -c '"verdict": *"outside_contract_differs"' "$R")
    [ "$nan_runs" -gt 0 ] && [ "$outside" -eq "$nan_runs" ] || fail "$outside outside_contract_differs of $nan_runs nan_inf runs"
    ! grep '"verdict": *"outside_contract_differs"' "$R" | grep -qv '"case": *"q8\.nan_inf' || fail "an in-contract case outside"
    r="$(row q8 nan_flush)"
    read -r _ _ runs pass failn err _ <<<"$r"
    [ "$failn" -eq 0 ] && [ "$err" -eq 0 ] && [ $((pass + outside)) -eq "$runs" ] || fail "summary row: $r"
    has "$outside OUTSIDE CONTRACT (differ)"
    has "OUTSIDE-CONTRACT $(readlink -f "$KCS") run --case q8\.nan_inf"
    has "# outside the contract (NaN and Inf inputs"
    has "rows slices whose inputs are all finite match; scale: "
    has "$outside runs differ from the reference outside the kernel's contract"
    grep -q "^## Outside the contract: differs" "$T/o/summary.md" || fail "summary.md lacks the section"
    grep -q 'id="outside-contract"' "$T/o/index.html" || fail "index.html lacks the section"
    ! grep -q "^FAIL" "$T/out" || fail "a FAIL line"
    echo "nan_flush: $outside runs outside the contract, $pass passed, exit 0"
    # The leaky variant also flushes the finite row after a nonfinite one: inside the contract.
    "$KCS" run --backend-lib "$LIB2" --case 'q8.nan_inf*' -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "a finite row differs: exit $rc, want 1"
    has "FAIL $(readlink -f "$KCS") run --case q8\.nan_inf"
    has "# scale (inside the contract: the rows slices whose inputs are all finite): "
    ! grep -q "OUTSIDE-CONTRACT" "$T/out" || fail "leaky run reported outside the contract"
    echo "nan_flush_leaky: fails"
    ;;
  expect)
    # wrong_answer fails some q8 smoke cases (codes[0] nonzero) and passes others.
    cat >"$T/x.json" <<JSON
{"kcs_expectations": 1, "backend": "wrong_answer",
 "entries": [{"case": "q8.random.*", "expect": "xfail", "reason": "off-by-one in element 0", "link": "https://example.org/1"},
             {"case": "q8.ties.*", "expect": "unsupported", "reason": "no ties handling", "link": "https://example.org/2"}]}
JSON
    "$KCS" run --backend-lib "$LIB2" --kernel q8 --tier smoke --expect "$T/x.json" -q --results "$T/r.json" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "xfail + unsupported: exit $rc, want 0"
    has "expectations $T/x.json: 12 xfail, 8 unsupported"
    has "12 xfail, 8 unsupported"
    grep -q '"verdict": *"xfail"' "$T/r.json" && grep -q '"verdict": *"unsupported"' "$T/r.json" || fail "verdicts not in results"
    grep -q 'expected failure: off-by-one in element 0 (https://example.org/1); observed: codes' "$T/r.json" ||
      fail "xfail reason not recorded"
    echo "xfail/unsupported: ok"
    # strict: the same list on the correct example passes the xfail cases -> unexpected pass
    sed 's/"wrong_answer"/"c_example"/' "$T/x.json" >"$T/y.json"
    "$KCS" run --backend-lib "$LIB" --kernel q8 --tier smoke --expect "$T/y.json" -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "unexpected pass: exit $rc, want 1"
    has "unexpected pass: expected to fail (off-by-one in element 0 (https://example.org/1)); remove the entry 'q8.random.\*' from $T/y.json"
    echo "unexpected pass: fails"
    # an entry without a reason is refused
    echo '{"kcs_expectations": 1, "entries": [{"case": "q8.*", "expect": "xfail", "link": "https://example.org/3"}]}' >"$T/z.json"
    "$KCS" run --backend-lib "$LIB" --kernel q8 --tier smoke --expect "$T/z.json" -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "entry without reason: exit $rc, want 2"
    has "entry 0 (q8.\*) has no 'reason'"
    echo "entry without a reason: refused"
    # a list cannot make a run pass that executed nothing, or whose wildcard excuses every run
    echo '{"kcs_expectations": 1, "entries": [{"case": "*", "expect": "unsupported", "reason": "none"}]}' >"$T/u.json"
    "$KCS" run --backend-lib "$LIB" --kernel q8 --tier smoke --expect "$T/u.json" -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "everything unsupported: exit $rc, want 1"
    has "kcs run: the expectation list $T/u.json leaves nothing executed"
    # the reference runs and passes; the plug-in opts out of every run with one wildcard
    echo '{"kcs_expectations": 1, "backend": "c_example", "entries": [{"case": "q8.*", "expect": "unsupported", "reason": "all of it"}]}' >"$T/w.json"
    "$KCS" run --backend reference --backend-lib "$LIB" --kernel q8 --tier smoke --expect "$T/w.json" -q >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "wildcard over every run of a backend: exit $rc, want 1"
    has "kcs run: expectation entry 'q8.\*' (unsupported) of $T/w.json matches every run of backend c_example in this sweep (20)"
    echo "nothing executed / wildcard over every run: fails"
    ;;
  ties_away)
    # A failure names its cause in the console, the results and the HTML report: the reference's
    # value before rounding (an exact .5), the row's amax, the element's input, and a diagnosis.
    "$KCS" run --backend-lib "$LIB" --kernel q8 --case 'q8.ties.*round_mode=rint' -q --out "$T/o" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "kcs run exited $rc, want 1"
    has "reference before rounding 0.5, group amax 127, input 0.5"
    has "diagnosis: "
    has "tie rounding"
    R="$T/o/results.json"
    [ -f "$R" ] || R="$T/o/results.jsonl"
    for k in '"prerounding": *0.5' '"amax": *127' '"input": *0.5' '"diagnosis": *"[^"]*tie'; do
      grep -q -- "$k" "$R" || fail "results lack $k"
    done
    for k in 'before rounding' 'group amax' '<th class="n">input</th>' '<b>diagnosis:</b>'; do
      grep -q -- "$k" "$T/o/index.html" || fail "HTML report lacks $k"
    done
    echo "ties_away: console, results and HTML name the cause"
    ;;
  *) echo "unknown mode $MODE"; exit 2 ;;
esac
