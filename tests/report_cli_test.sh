#!/usr/bin/env bash
# `kcs report` and the report files of `kcs run --out`, end to end, as a user drives them:
# a worsened output, a disappeared case and a variant that stopped running each make
# --fail-on-drift fail and are named. Usage: report_cli_test.sh <kcs binary>
set -uo pipefail
KCS="$1"
PY=/usr/bin/python3
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$(dirname "$0")/cli_lib.sh"
# edit <in> <out> <python statements on j>: a modified copy of a results file
edit() {
  $PY - "$1" "$2" "$3" "$HERE" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[4])
import results_v1  # kcs run writes JSON Lines; edits are made on the schema-1 shape kcs report also reads
j = results_v1.load(sys.argv[1])
exec(sys.argv[3])
json.dump(j, open(sys.argv[2], "w"), indent=1)
PY
}

expect "run --out writes and names index.html" 0 "report: $T/run/index.html" -- \
  "$KCS" run --kernel q8 --tier smoke --backend reference --backend optimized -q --out "$T/run"
R="$T/run/results.jsonl"
[ -s "$T/run/index.html" ] && [ -s "$T/run/summary.md" ] && ok "run writes index.html and summary.md" ||
  bad "run --out files missing"
grep -q "id=\"overview-table\"" "$T/run/index.html" && ok "index.html has the overview table" || bad "no overview table"
grep -qi "<script" "$T/run/index.html" && bad "index.html holds a script" || ok "index.html holds no script"
grep -Eq "(src|href)=\"(https?:)?//" "$T/run/index.html" && bad "index.html fetches something" ||
  ok "index.html fetches nothing"

expect "report writes both files" 0 "report: $T/rep/index.html" -- "$KCS" report --results "$R" --out "$T/rep"
[ -s "$T/rep/index.html" ] && [ -s "$T/rep/summary.md" ] && ok "report files exist" || bad "report files missing"
grep -q "## Kernel \`q8\`" "$T/rep/summary.md" && ok "summary.md has the q8 section" || bad "summary.md lacks q8"

expect "same results: no drift" 0 "no drift" -- \
  "$KCS" report --results "$R" --baseline "$R" --fail-on-drift --out "$T/same"
expect "write a compact baseline" 0 "baseline: $T/base.json" -- "$KCS" report --results "$R" --write-baseline "$T/base.json"
expect "compact baseline: no drift" 0 "no drift" -- \
  "$KCS" report --results "$R" --baseline "$T/base.json" --fail-on-drift --out "$T/same2"

# One output made worse: named, with the metric that moved.
edit "$R" "$T/worse.json" '
c = next(c for c in j["results"] if c["backend"] == "optimized" and c["output"] == "scale")
c["metrics"]["max_ulp"] += 3
open(sys.argv[2] + ".name", "w").write(c["case"] + " optimized " + c["tile"] + " scale")
'
NAME="$(cat "$T/worse.json.name")"
expect "worsened output fails --fail-on-drift and is named" 1 "worse: $NAME: max_ulp 0 -> 3" -- \
  "$KCS" report --results "$T/worse.json" --baseline "$T/base.json" --fail-on-drift --out "$T/worse"
grep -q "max_ulp 0 -&gt; 3" "$T/worse/index.html" && ok "the HTML lists the drift" || bad "drift not in the HTML"
grep -q "| worse |" "$T/worse/summary.md" && ok "the Markdown lists the drift" || bad "drift not in the Markdown"
expect "without --fail-on-drift drift is listed, exit 0" 0 "DRIFT \(1\)" -- \
  "$KCS" report --results "$T/worse.json" --baseline "$T/base.json" --out "$T/worse2"

edit "$R" "$T/gone.json" '
cs = j["runs"][0]["case"]
j["runs"] = [r for r in j["runs"] if r["case"] != cs]
j["results"] = [r for r in j["results"] if r["case"] != cs]
open(sys.argv[2] + ".name", "w").write(cs)
'
expect "disappeared case is drift" 1 "case disappeared: $(cat "$T/gone.json.name")" -- \
  "$KCS" report --results "$T/gone.json" --baseline "$T/base.json" --fail-on-drift --out "$T/gone"

edit "$R" "$T/skip.json" '
r = next(r for r in j["runs"] if r["backend"] == "optimized")
r["verdict"], r["reason"] = "skipped", "needs avx2"
j["results"] = [c for c in j["results"] if not (c["case"] == r["case"] and c["backend"] == "optimized" and c["tile"] == r["tile"])]
'
expect "variant that stopped running is drift" 1 "variant skipped: .* optimized .*needs avx2" -- \
  "$KCS" report --results "$T/skip.json" --baseline "$T/base.json" --fail-on-drift --out "$T/skip"

# Expectation-list verdicts (kcs run --expect): one optimized run a known failure (xfail, its check
# failed), another unsupported. The report stays green/amber and lists the known failure with its
# repro line; against the baseline both are drift (a list does not excuse a regression).
edit "$R" "$T/xfail.json" '
opt = [r for r in j["runs"] if r["backend"] == "optimized"]
x, u = opt[0], opt[-1]
x["verdict"], x["reason"] = "xfail", "expected failure: known bug (https://example.org/1); observed: codes: off"
c = next(c for c in j["results"] if c["case"] == x["case"] and c["backend"] == "optimized" and c["tile"] == x["tile"])
c["verdict"], c["margin"] = "failed", "inf"
u["verdict"], u["reason"] = "unsupported", "no such mode (https://example.org/2)"
j["results"] = [c for c in j["results"] if not (c["case"] == u["case"] and c["backend"] == "optimized" and c["tile"] == u["tile"])]
'
expect "xfail and unsupported: report exits 0" 0 "1 xfail, 1 unsupported" -- \
  "$KCS" report --results "$T/xfail.json" --out "$T/xf"
grep -q "banner bad" "$T/xf/index.html" && bad "a known failure made the HTML red" || ok "known failure: no red banner"
grep -q "banner warn\">1 expected failure<" "$T/xf/index.html" && grep -q "id=\"expected-failures\"" "$T/xf/index.html" &&
  ok "the HTML lists the expected failure" || bad "expected failure not in the HTML"
grep -q "1 unsupported: no such mode" "$T/xf/index.html" && ok "the HTML shows the unsupported reason" ||
  bad "unsupported reason not in the HTML"
grep -q "^## Expected failures$" "$T/xf/summary.md" && ! grep -q "^## Failures" "$T/xf/summary.md" &&
  ok "summary.md: expected failures apart from failures" || bad "summary.md mixes expected failures and failures"
expect "xfail and unsupported against the baseline are drift" 1 "variant unsupported: .* optimized .*no such mode" -- \
  "$KCS" report --results "$T/xfail.json" --baseline "$T/base.json" --fail-on-drift --out "$T/xf2"

# Shards merge.
"$KCS" run --kernel q8 --tier smoke --backend reference -q --shard 0/2 --results "$T/s0.json" >/dev/null
"$KCS" run --kernel q8 --tier smoke --backend reference -q --shard 1/2 --results "$T/s1.json" >/dev/null
expect "report merges shards" 0 "q8 +reference" -- "$KCS" report --results "$T/s0.json" --results "$T/s1.json" --out "$T/m"

# Bad input: a clear error, exit 2.
expect "missing results file" 2 "cannot open $T/nope.json" -- "$KCS" report --results "$T/nope.json" --out "$T/x"
echo '{"runs": 1}' >"$T/bad.json"
expect "not a results file" 2 "bad.json is not a kcs results file" -- "$KCS" report --results "$T/bad.json" --out "$T/x"
expect "a baseline as results" 2 "is a baseline" -- "$KCS" report --results "$T/base.json" --out "$T/x"
expect "--fail-on-drift needs a baseline" 2 "needs --baseline" -- "$KCS" report --results "$R" --fail-on-drift --out "$T/x"
expect "no output asked for" 2 "needs --out" -- "$KCS" report --results "$R"
edit "$R" "$T/smoke_as_ci.json" 'j["tier"] = "ci"'
expect "tiers must match" 2 "tier 'smoke' and the results of tier 'ci'" -- \
  "$KCS" report --results "$T/smoke_as_ci.json" --baseline "$T/base.json" --out "$T/x"

[ "$fails" -eq 0 ] && echo "all report CLI checks passed" || { echo "$fails report CLI checks failed"; exit 1; }
