#!/usr/bin/env bash
# Runs on the GPU machine (see stage_for_device.sh), from the repository root: the hardware E4M3
# check (and its deliberate break, which must fail), the ci tier of q8, nvfp4_stage and compressor
# on the CUDA plug-in (and the reference, for the report's side-by-side), the deliberately broken
# variant (which must fail), then the timings: kcs_cuda_bench with its variants, and, where DIR
# holds them, a "before" bench (DIR/kcs_cuda_bench_main) and the Triton kernels
# (DIR/triton/bench_triton.py), three rounds of each, alternating. Reports land in OUTDIR.
#   backends/cuda/run_on_device.sh DIR OUTDIR
set -uo pipefail
DIR="${1:?usage: run_on_device.sh DIR OUTDIR}"
OUT="${2:?usage: run_on_device.sh DIR OUTDIR}"
export LD_LIBRARY_PATH="$DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The catalogs the staged kcs was built with, where DIR carries them.
if [ -d "$DIR/fixtures/catalog" ]; then FX="$DIR/fixtures"; else FX="$PWD/fixtures"; fi
export KCS_CATALOG_DIR="$FX/catalog" KCS_BUNDLE_DIR="$FX/bundles"
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv; uptime; } | tee "$OUT/cuda.txt"
"$DIR/kcs_cuda_e4m3_check" 2>&1 | tee -a "$OUT/cuda.txt"
echo "e4m3 check exit: ${PIPESTATUS[0]}" | tee -a "$OUT/cuda.txt"
KCS_E4M3_BREAK=1 "$DIR/kcs_cuda_e4m3_check" 2>&1 | tee -a "$OUT/cuda.txt"
echo "e4m3 check, deliberately broken, exit: ${PIPESTATUS[0]} (must be 1)" | tee -a "$OUT/cuda.txt"
start=$(date +%s)
"$DIR/kcs" run --tier ci --kernel q8 --kernel nvfp4_stage --kernel compressor --backend reference \
  --backend-lib "$DIR/libkcs_cuda.so" --out "$OUT/cuda" -q >> "$OUT/cuda.txt" 2>&1
echo "cuda run exit: $? ($(( $(date +%s) - start )) s)" | tee -a "$OUT/cuda.txt"
"$DIR/kcs" run --tier ci --kernel nvfp4_stage --backend-lib "$DIR/libkcs_cuda_broken_ties.so" \
  --results "$OUT/broken.jsonl" -q > "$OUT/broken.txt" 2>&1
echo "broken-ties run exit: $? (must be 1: the suite catches it)" | tee -a "$OUT/broken.txt"
tail -8 "$OUT/cuda.txt"; tail -4 "$OUT/broken.txt"
KCS_CUDA_BENCH_VARIANTS=1 "$DIR/kcs_cuda_bench" > "$OUT/timing_variants.txt" 2>&1
cat "$OUT/timing_variants.txt"
for round in 1 2 3; do
  { echo "round $round: $(uptime)"; "$DIR/kcs_cuda_bench"; } >> "$OUT/timing.txt" 2>&1
  [ -x "$DIR/kcs_cuda_bench_main" ] && { echo "round $round: $(uptime)"; "$DIR/kcs_cuda_bench_main"; } >> "$OUT/timing_main.txt" 2>&1
  [ -f "$DIR/triton/bench_triton.py" ] &&
    { echo "round $round: $(uptime)"; (cd "$DIR/triton" && PYTHONUNBUFFERED=1 python3 bench_triton.py); } >> "$OUT/triton.txt" 2>&1
done
tail -15 "$OUT/timing.txt"
