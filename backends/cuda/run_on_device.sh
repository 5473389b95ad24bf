#!/usr/bin/env bash
# Runs on the GPU machine (see stage_for_device.sh): the ci tier of q8, nvfp4_stage and compressor
# on the CUDA plug-in (and the reference, for the report's side-by-side), the deliberately broken
# variant (which must fail), and the timing program. Reports land in OUTDIR.
#   backends/cuda/run_on_device.sh DIR OUTDIR
set -uo pipefail
DIR="${1:?usage: run_on_device.sh DIR OUTDIR}"
OUT="${2:?usage: run_on_device.sh DIR OUTDIR}"
export LD_LIBRARY_PATH="$DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export KCS_CATALOG_DIR="$PWD/fixtures/catalog" KCS_BUNDLE_DIR="$PWD/fixtures/bundles"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
"$DIR/kcs" run --tier ci --kernel q8 --kernel nvfp4_stage --kernel compressor --backend reference \
  --backend-lib "$DIR/libkcs_cuda.so" --out "$OUT/cuda" -q > "$OUT/cuda.txt" 2>&1
echo "cuda run exit: $?" | tee -a "$OUT/cuda.txt"
"$DIR/kcs" run --tier ci --kernel nvfp4_stage --backend-lib "$DIR/libkcs_cuda_broken_ties.so" \
  --results "$OUT/broken.jsonl" -q > "$OUT/broken.txt" 2>&1
echo "broken-ties run exit: $? (must be 1: the suite catches it)" | tee -a "$OUT/broken.txt"
"$DIR/kcs_cuda_bench" > "$OUT/timing.txt" 2>&1
tail -25 "$OUT/cuda.txt"; tail -8 "$OUT/broken.txt"; cat "$OUT/timing.txt"
