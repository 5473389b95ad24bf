#!/usr/bin/env bash
# Runs on the GPU machine (see stage_for_device.sh), from the repository root: the hardware E4M3
# check (and its deliberate break, which must fail), the ci tier of q8, nvfp4_stage and compressor
# on the CUDA plug-in (and the reference, for the report's side-by-side), the deliberately broken
# variant (which must fail), then the timings: kcs_cuda_bench with its variants, and, where DIR
# holds them, earlier versions' benches (DIR/kcs_cuda_bench_NAME, into timing_NAME.txt) and the Triton kernels
# (DIR/triton/bench_triton.py), ROUNDS rounds of each (default 3), alternating. Reports land in
# OUTDIR; WHAT picks the checks, the timings or both (default).
#   backends/cuda/run_on_device.sh DIR OUTDIR [checks|timings|all] [ROUNDS]
set -uo pipefail
DIR="${1:?usage: run_on_device.sh DIR OUTDIR [checks|timings|all] [ROUNDS]}"
OUT="${2:?usage: run_on_device.sh DIR OUTDIR [checks|timings|all] [ROUNDS]}"
WHAT="${3:-all}" ROUNDS="${4:-3}"
RUNS="$(mktemp -d)"  # the suite's result files (OUTDIR keeps the summaries only)
export LD_LIBRARY_PATH="$DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The catalogs the staged kcs was built with, where DIR carries them.
if [ -d "$DIR/fixtures/catalog" ]; then FX="$DIR/fixtures"; else FX="$PWD/fixtures"; fi
export KCS_CATALOG_DIR="$FX/catalog" KCS_BUNDLE_DIR="$FX/bundles"
mkdir -p "$OUT"
if [ "$WHAT" != timings ]; then
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv; uptime; } | tee "$OUT/cuda.txt"
"$DIR/kcs_cuda_e4m3_check" 2>&1 | tee -a "$OUT/cuda.txt"
echo "e4m3 check exit: ${PIPESTATUS[0]}" | tee -a "$OUT/cuda.txt"
KCS_E4M3_BREAK=1 "$DIR/kcs_cuda_e4m3_check" 2>&1 | tee -a "$OUT/cuda.txt"
echo "e4m3 check, deliberately broken, exit: ${PIPESTATUS[0]} (must be 1)" | tee -a "$OUT/cuda.txt"
start=$(date +%s)
"$DIR/kcs" run --tier ci --kernel q8 --kernel nvfp4_stage --kernel compressor --backend reference \
  --backend-lib "$DIR/libkcs_cuda.so" --out "$RUNS/cuda" -q >> "$OUT/cuda.txt" 2>&1
echo "cuda run exit: $? ($(( $(date +%s) - start )) s)" | tee -a "$OUT/cuda.txt"
"$DIR/kcs" run --tier ci --kernel nvfp4_stage --backend-lib "$DIR/libkcs_cuda_broken_ties.so" \
  --results "$RUNS/broken.jsonl" -q > "$RUNS/broken.txt" 2>&1
echo "broken-ties run exit: $? (must be 1: the suite catches it)" >> "$RUNS/broken.txt"
tail -4 "$RUNS/broken.txt" >> "$OUT/cuda.txt"
tail -12 "$OUT/cuda.txt"
KCS_CUDA_BENCH_VARIANTS=1 "$DIR/kcs_cuda_bench" > "$OUT/timing_variants.txt" 2>&1
cat "$OUT/timing_variants.txt"
fi
[ "$WHAT" = checks ] && exit 0
for round in $(seq 1 "$ROUNDS"); do
  { echo "round $round: $(uptime)"; "$DIR/kcs_cuda_bench"; } >> "$OUT/timing.txt" 2>&1
  for other in "$DIR"/kcs_cuda_bench_*; do  # earlier versions: _main, ...
    [ -x "$other" ] && { echo "round $round: $(uptime)"; "$other"; } >> "$OUT/timing${other##*/kcs_cuda_bench}.txt" 2>&1
  done
  [ -f "$DIR/triton/bench_triton.py" ] &&
    { echo "round $round: $(uptime)"; (cd "$DIR/triton" && PYTHONUNBUFFERED=1 python3 bench_triton.py); } >> "$OUT/triton.txt" 2>&1
done
tail -15 "$OUT/timing.txt"
