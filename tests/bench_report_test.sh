#!/usr/bin/env bash
# bench/report.py on a real (tiny) Google Benchmark run: the reference and an optimized row of the
# same shape become one table row with frac_of_limit and the speedup over the reference; a
# oneDNN-named row of the same shape fills the peer column; a fused kernel's row gets the sum of the
# oneDNN GEMMs it contains (rows <family>/gemm:onednn/<gemm>/<shape>), "missing" when one of them
# did not run, "no GEMM" for kernels without one; a PyTorch peer row (<family>/fused:torch/<shape>)
# fills the torch column of the same shape and threads only; an AMX machine's second oneDNN run
# (impl onednn_avx512) gets its own columns from its own rows, and the header names the CPU, the run's
# dates, load and threads and the ISA of each oneDNN column; bad input is refused with a message.
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
# Fused kernels: fake rows with known times (ns) in the q8 file's format (same context, counters).
/usr/bin/python3 - "$T/q8.json" "$T/fused.json" <<'PY' || fail "could not derive the fused file"
import json, sys
d = json.load(open(sys.argv[1]))
tmpl = d["benchmarks"][0]
def row(name, ns):
    r = dict(tmpl); r["name"] = r["run_name"] = name + "/real_time"; r["real_time"] = ns; r["time_unit"] = "ns"
    r.pop("frac_of_limit", None); return r
rows = [row("indexer_prolog/avx512/t:4/threads:1", 1000.0),          # bare impl name, as K1 names them
        row("indexer_prolog/prepacked:avx512/t:4/threads:2", 3000.0)]
# K1 at t:4, 1 thread: 100 + 200 + 300 + 400 + 500 = 1500 ns -> 1.50; 2 threads: 4 of 5 GEMMs only.
for i, g in enumerate(["q_b", "wk", "w_proj", "hadamard_q", "hadamard_k"]):
    rows.append(row(f"indexer_prolog/gemm:onednn/{g}/t:4/threads:1/iterations:3", 100.0 * (i + 1)))
    if g != "w_proj":
        rows.append(row(f"indexer_prolog/gemm:onednn/{g}/t:4/threads:2/min_time:0.200", 100.0))
# Another shape's GEMMs must not leak into the sum.
rows.append(row("indexer_prolog/gemm:onednn/q_b/t:16/threads:1", 1e6))
# The PyTorch peer (bench/peers/torch_bench.py): 4 us at t:4 on 1 thread -> 4.00; 2 threads has none.
rows.append(row("indexer_prolog/fused:torch/t:4/threads:1", 4000.0))
rows.append(row("indexer_prolog/fused:torch/t:16/threads:2", 1e6))
rows.append(row("v4_indexer/score:avx512/B:8/cache_len:4096/threads:1", 2000.0))
rows.append(row("v4_indexer/api:avx512/B:8/cache_len:4096/threads:1", 2000.0))
rows.append(row("v4_indexer/gemm:onednn/score/B:8/cache_len:4096/threads:1", 5000.0))
rows.append(row("nvfp4_stage/cold:avx512/M:16/K:7168/threads:1", 800.0))
d["benchmarks"] = rows
json.dump(d, open(sys.argv[2], "w"))
PY
/usr/bin/python3 "$SRC/bench/report.py" "$T/fused.json" --out "$T/fo" >/dev/null || fail "report.py failed on fused rows"
fmd="$T/fo/perf.md"
grep -Eq '^\| indexer_prolog \| t:4 \| - \| avx512 \| 1 \| 1 us \| [^|]* \| [^|]* \| 1\.5 us \| 1\.50 \| q_b 100 ns \+ wk 200 ns \+ w_proj 300 ns \+ hadamard_q 400 ns \+ hadamard_k 500 ns \|' "$fmd" ||
  { cat "$fmd"; fail "indexer_prolog t:4 row lacks the oneDNN sum 1.5 us of its 5 GEMMs and the ratio 1.50"; }
grep -Eq '^\| indexer_prolog \| t:4 \| - \| avx512 \| 1 \| .* \| 4 us \| 4\.00 \|$' "$fmd" ||
  { cat "$fmd"; fail "indexer_prolog t:4 row lacks the PyTorch time 4 us and the ratio 4.00"; }
grep -Eq '^\| indexer_prolog \| t:4 \| prepacked \| avx512 \| 2 \| .* \|  \|  \|$' "$fmd" ||
  { cat "$fmd"; fail "a PyTorch row of another shape or thread count fills the torch column"; }
grep -Eq '^\| indexer_prolog \| t:4 \| prepacked \| avx512 \| 2 \| [^|]* \| [^|]* \| [^|]* \| missing w_proj \|  \|' "$fmd" ||
  { cat "$fmd"; fail "a sum with a GEMM missing is not shown as missing"; }
grep -Eq '^\| v4_indexer \| B:8/cache_len:4096 \| score \| avx512 \| 1 \| [^|]* \| [^|]* \| [^|]* \| 5 us \| 2\.50 \|' "$fmd" ||
  { cat "$fmd"; fail "v4_indexer score row lacks the score GEMM's time and the ratio 2.50"; }
grep -Eq '^\| v4_indexer \| B:8/cache_len:4096 \| api \| avx512 \| 1 \| [^|]* \| [^|]* \| [^|]* \| not compared \|' "$fmd" ||
  { cat "$fmd"; fail "v4_indexer api row is compared with the score GEMM alone"; }
grep -Eq '^\| nvfp4_stage \| M:16/K:7168 \| cold \| avx512 \| 1 \| [^|]* \| [^|]* \| [^|]* \| no GEMM \|' "$fmd" ||
  { cat "$fmd"; fail "nvfp4_stage row does not say no GEMM"; }
grep -q '^- K1: q_b s8' "$fmd" || fail "the legend does not say what the K1 sum contains"
grep -q "<td>1.5 us</td><td class='good'>1.50</td>" "$T/fo/perf.html" || fail "HTML lacks the K1 sum and its ratio"
# A 2-thread compute probe that measured one thread's peak (a vCPU taken away) is flagged.
/usr/bin/python3 - "$T/q8.json" "$T/lim.json" <<'PY' || fail "could not derive the limits file"
import json, sys
d = json.load(open(sys.argv[1]))
tmpl = [b for b in d["benchmarks"] if not b["name"].startswith("limits/")][0]
lim = lambda t, v: dict(tmpl, name=f"limits/threads:{t}/iterations:1", run_name=f"limits/threads:{t}/iterations:1",
                        read_gbs=30.0, fma_gflops=v, vnni_gops=4 * v, bf16_gflops=2 * v)
d["benchmarks"] = [lim(1, 115.0), lim(2, 117.0), tmpl]
json.dump(d, open(sys.argv[2], "w"))
PY
/usr/bin/python3 "$SRC/bench/report.py" "$T/lim.json" --out "$T/ol" >/dev/null || fail "report.py failed on the limits file"
grep -q '^\*\*Warning\*\*: lim.json: the 2-thread fma_gflops probe measured 117' "$T/ol/perf.md" ||
  { cat "$T/ol/perf.md"; fail "a 2-thread probe at the 1-thread peak is not flagged"; }
grep -q 'Warning' "$T/out/perf.md" && fail "a sane run is flagged"
# An AMX machine's two oneDNN runs (tools/dev.sh: default, then ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 ->
# impl onednn_avx512): each gets its own columns from its own rows, its ISA in the header.
/usr/bin/python3 - "$T/q8.json" "$T/amx" <<'PY' || fail "could not derive the AMX files"
import json, os, sys
d = json.load(open(sys.argv[1]))
tmpl = [b for b in d["benchmarks"] if not b["name"].startswith("limits/")][0]
def row(name, ns, label=""):
    r = dict(tmpl); r["name"] = r["run_name"] = name + "/real_time"; r["real_time"] = ns; r["time_unit"] = "ns"
    r.pop("frac_of_limit", None); r.pop("label", None)
    if label: r["label"] = label
    return r
def doc(rows, **ctx):
    return dict(d, context=dict(d["context"], **ctx), benchmarks=rows)
os.makedirs(sys.argv[2])
kcs = [row("gemm_i8/packed:avx512/m:4/k:64/n:64/threads:1", 1000.0),
       row("mla_prolog/fused:avx512/n1:8/t:4/threads:1", 1000.0),
       row("mla_prolog/fused:avx512/n1:8/t:16/threads:1", 1000.0)]
# default: sum 100+200+300+400 = 1000 ns -> 1.00 at t:4; AVX-512: 2000 ns -> 2.00 (w_uk missing at t:16).
amx, avx = [row("gemm_i8/packed:onednn/m:4/k:64/n:64/threads:1", 500.0, "brg:avx512_core_amx_int8")], \
           [row("gemm_i8/packed:onednn_avx512/m:4/k:64/n:64/threads:1", 3000.0, "brg:avx512_core_vnni")]
for i, g in enumerate(["w_dq", "w_uq_qr", "w_uk", "w_dkv_kr"]):
    for t in (4, 16):
        amx.append(row(f"mla_prolog/gemm:onednn/{g}/n1:8/t:{t}/threads:1/iterations:3", 100.0 * (i + 1), "brg:avx512_core_amx"))
        if t == 4 or g != "w_uk":
            avx.append(row(f"mla_prolog/gemm:onednn_avx512/{g}/n1:8/t:{t}/threads:1/iterations:3", 200.0 * (i + 1), "brg:avx512_core_bf16"))
json.dump(doc(kcs), open(f"{sys.argv[2]}/kcs_bench.json", "w"))
json.dump(doc(amx, onednn_impl="onednn", onednn_max_cpu_isa="default (no limit)", onednn_effective_isa="avx512_core_amx"),
          open(f"{sys.argv[2]}/onednn_bench.json", "w"))
json.dump(doc(avx, onednn_impl="onednn_avx512", onednn_max_cpu_isa="AVX512_CORE_BF16", onednn_effective_isa="avx512_core_bf16"),
          open(f"{sys.argv[2]}/onednn_avx512_bench.json", "w"))
json.dump({"cpu": "Test CPU 9000", "amx": ["amx_bf16", "amx_int8", "amx_tile"], "nproc": 2,
           "start": {"date": "2026-12-07 14:00:00 UTC", "load_avg": [3.25, 2.5, 2.0]},
           "end": {"date": "2026-12-07 14:10:00 UTC", "load_avg": [7.5, 5.0, 4.0]}}, open(f"{sys.argv[2]}/run.json", "w"))
PY
/usr/bin/python3 "$SRC/bench/report.py" "$T"/amx/*_bench.json --run "$T/amx/run.json" --out "$T/oa" >/dev/null ||
  fail "report.py failed on the AMX files"
amd="$T/oa/perf.md"
grep -Eq '^\| kernel \| shape \| variant \| impl \| threads \| time \(median\) \| frac_of_limit \| vs reference \| oneDNN \(default ISA\) time \| oneDNN \(default ISA\) time / time \| oneDNN \(AVX-512\) time \| oneDNN \(AVX-512\) time / time \|$' "$amd" ||
  { cat "$amd"; fail "the engine table lacks the oneDNN (AVX-512) columns beside the default ones"; }
grep -Eq '^\| gemm_i8 \| m:4/k:64/n:64 \| packed \| avx512 \| 1 \| 1 us \| [^|]* \| [^|]* \| 500 ns \| 0\.50 \| 3 us \| 3\.00 \|$' "$amd" ||
  { cat "$amd"; fail "gemm_i8 row lacks oneDNN 0.50 (AMX rows) and oneDNN (AVX-512) 3.00 (its own rows)"; }
grep -Eq '^\| mla_prolog \| n1:8/t:4 \| fused \| avx512 \| 1 \| 1 us \| [^|]* \| [^|]* \| 1 us \| 1\.00 \| 2 us \| 2\.00 \| w_dq 100 ns .* \| w_dq 200 ns \+ w_uq_qr 400 ns \+ w_uk 600 ns \+ w_dkv_kr 800 ns \|' "$amd" ||
  { cat "$amd"; fail "mla_prolog t:4 lacks the default sum 1 us (1.00) and the AVX-512 sum 2 us (2.00) of its own rows"; }
grep -Eq '^\| mla_prolog \| n1:8/t:16 \| fused \| avx512 \| 1 \| 1 us \| [^|]* \| [^|]* \| 1 us \| 1\.00 \| missing w_uk \|  \|' "$amd" ||
  { cat "$amd"; fail "an AVX-512 sum with a GEMM missing is not shown as missing"; }
grep -q '| oneDNN (AVX-512) GEMMs (sum) | oneDNN (AVX-512) sum / time |' "$amd" || fail "the fused table lacks the AVX-512 sum columns"
grep -q '^- CPU: Test CPU 9000; AMX: amx_bf16, amx_int8, amx_tile; 2 logical CPUs$' "$amd" || { cat "$amd"; fail "no CPU model in the header"; }
grep -q '^- date: 2026-12-07 14:00:00 UTC to 2026-12-07 14:10:00 UTC$' "$amd" || fail "no run dates in the header"
grep -q '^- load average (1/5/15 min): 3.25/2.50/2.00 at the start, 7.50/5.00/4.00 at the end of the run$' "$amd" ||
  fail "no start and end load average in the header"
grep -q '^- threads: 1 ' "$amd" || fail "no thread count in the header"
grep -q '^- oneDNN (default ISA) (impl onednn, onednn_bench.json): ONEDNN_MAX_CPU_ISA default (no limit), oneDNN.s effective ISA avx512_core_amx; implementations it chose: brg:avx512_core_amx (8 rows), brg:avx512_core_amx_int8 (1 row)$' "$amd" ||
  { cat "$amd"; fail "the header does not say which ISA the default oneDNN column used"; }
grep -q '^- oneDNN (AVX-512) (impl onednn_avx512, onednn_avx512_bench.json): ONEDNN_MAX_CPU_ISA AVX512_CORE_BF16, .* brg:avx512_core_bf16 (7 rows), brg:avx512_core_vnni (1 row)$' "$amd" ||
  { cat "$amd"; fail "the header does not say which ISA the AVX-512 oneDNN column used"; }
grep -q '^| mla_prolog | gemm | w_uk/n1:8/t:16 | brg:avx512_core_amx | did not run |$' "$amd" ||
  { cat "$amd"; fail "the per-GEMM implementation table lacks a row or hides a GEMM that did not run"; }
grep -q "<td>2 us</td><td class='good'>2.00</td>" "$T/oa/perf.html" || fail "HTML lacks the AVX-512 sum and its ratio"
# Without AMX (one oneDNN run): no AVX-512 column.
/usr/bin/python3 "$SRC/bench/report.py" "$T/amx/kcs_bench.json" "$T/amx/onednn_bench.json" --out "$T/ob" >/dev/null ||
  fail "report.py failed on one oneDNN run"
grep -q 'oneDNN (AVX-512)' "$T/ob/perf.md" && { cat "$T/ob/perf.md"; fail "an AVX-512 column without its rows"; }
grep -q '^- load average: not recorded for the whole run (no --run file)' "$T/ob/perf.md" || fail "a missing run file is not said"
echo '[1, 2]' > "$T/badrun.json"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/amx/kcs_bench.json" --run "$T/badrun.json" --out "$T/o4" 2>&1)" &&
  fail "a run file that is not an object accepted"
grep -q "badrun.json: not a JSON object" <<<"$out" || fail "unclear message for a bad run file: $out"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/amx/kcs_bench.json" --run "$T/norun.json" --out "$T/o5" 2>&1)" &&
  fail "a missing run file accepted"
grep -q "norun.json: no such file" <<<"$out" || fail "unclear message for a missing run file: $out"
[ ! -e "$T/o4" ] && [ ! -e "$T/o5" ] || fail "wrote output for a bad run file"
echo '{"benchmarks": []}' > "$T/empty.json"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/empty.json" --out "$T/o2" 2>&1)" && fail "empty input accepted"
grep -q "no kcs benchmark rows" <<<"$out" || fail "unclear message for empty input: $out"
: > "$T/zero.json"  # what a program whose rows all missed the filter used to leave behind
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/zero.json" --out "$T/o6" 2>&1)" && fail "empty file accepted"
grep -q "zero.json: Expecting value" <<<"$out" || fail "the message for an empty file does not name it: $out"
[ ! -e "$T/o6" ] || fail "wrote output for an empty file"
out="$(/usr/bin/python3 "$SRC/bench/report.py" "$T/missing.json" --out "$T/o3" 2>&1)" && fail "missing file accepted"
grep -q "no such file" <<<"$out" || fail "unclear message for a missing file: $out"
[ ! -e "$T/o2" ] && [ ! -e "$T/o3" ] || fail "wrote output for bad input"
echo "ok"
