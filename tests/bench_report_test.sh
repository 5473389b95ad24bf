#!/usr/bin/env bash
# bench/report.py on a real (tiny) Google Benchmark run: the reference and an optimized row of the
# same shape become one table row with frac_of_limit and the speedup over the reference; a
# oneDNN-named row of the same shape fills the peer column; bad input is refused with a message.
# Usage: bench_report_test.sh <q8_bench binary> <source dir>
set -uo pipefail
BENCH="$1"
SRC="$2"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL $1"; exit 1; }
"$BENCH" --benchmark_filter='^q8/api:(reference|avx2)/rows:64/n:128/threads:1/' --benchmark_min_time=0.01 \
  --benchmark_out="$T/q8.json" --benchmark_out_format=json >/dev/null || fail "q8_bench did not run"
# A fake peer row with the same family and shape, twice as slow as whatever avx2 measured.
/usr/bin/python3 - "$T/q8.json" "$T/peer.json" <<'PY' || fail "could not derive the peer file"
import json, sys
d = json.load(open(sys.argv[1]))
rows = [b for b in d["benchmarks"] if "api:avx2" in b["name"]]
if not rows:  # no AVX2 on this CPU: the reference row stands in
    rows = [b for b in d["benchmarks"] if "api:reference" in b["name"]]
p = dict(rows[0]); p["name"] = p["run_name"] = p["name"].replace(p["name"].split("/")[1], "api:onednn")
p["real_time"] *= 2
d["benchmarks"] = [p]
json.dump(d, open(sys.argv[2], "w"))
PY
/usr/bin/python3 "$SRC/bench/report.py" "$T/q8.json" "$T/peer.json" --out "$T/out" || fail "report.py failed"
md="$T/out/perf.md"
grep -Eq '^\| q8 \| rows:64/n:128 \| api \| reference \| 1 \|' "$md" || fail "no reference row"; 
if grep -q 'api:avx2' <(cat "$T/q8.json"); then
  grep -Eq '^\| q8 \| rows:64/n:128 \| api \| avx2 \| 1 \| [0-9.]+ [nmu]?s \| [0-9.]+ \| [0-9.]+x \| [0-9.]+ [nmu]?s \| 2\.00 \|' "$md" ||
    { cat "$md"; fail "avx2 row lacks frac_of_limit, speedup over reference or the oneDNN ratio 2.00 (peer twice as slow)"; }
fi
grep -q '<table>' "$T/out/perf.html" || fail "no HTML table"
echo '{"benchmarks": []}' > "$T/empty.json"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/empty.json" --out "$T/o2" 2>&1)" && fail "empty input accepted"
grep -q "no kcs benchmark rows" <<<"$out" || fail "unclear message for empty input: $out"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/missing.json" --out "$T/o3" 2>&1)" && fail "missing file accepted"
grep -q "no such file" <<<"$out" || fail "unclear message for a missing file: $out"
[ ! -e "$T/o2" ] && [ ! -e "$T/o3" ] || fail "wrote output for bad input"
echo "ok"
