#!/usr/bin/env bash
# On the GPU machine, from the repository root, with kcs staged by backends/cuda/stage_for_device.sh:
#   examples/pytest_triton/run_on_device.sh STAGE_DIR OUT [TIER...]
# The verbatim-compile check, the division probe, the Triton vs CUDA plug-in timings in the same
# run, the broken Q8 variant over ci, then the pytest plugin over each TIER (default: ci nightly;
# nightly holds the ci cases too) for the source K4 kernel and the Triton Q8.
set -uo pipefail
DIR="$(cd "${1:?usage: run_on_device.sh STAGE_DIR OUT [TIER...]}" && pwd)"
OUT="$(mkdir -p "${2:?}" && cd "$2" && pwd)"
shift 2
TIERS=("$@")
[ $# -eq 0 ] && TIERS=(ci nightly)
ROOT="$PWD"
export KCS_LIBRARY="$DIR/pylib/libkcs.so" PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export KCS_CATALOG_DIR="$ROOT/fixtures/catalog" KCS_BUNDLE_DIR="$ROOT/fixtures/bundles"
# libkcs.so's own libraries first; the common ones (curl, ssl, ...) of the build machine only when
# this machine lacks them (they would otherwise replace the ones torch and Python load).
export LD_LIBRARY_PATH="$DIR/pylib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! python3 -c "import ctypes; ctypes.CDLL('$KCS_LIBRARY')" 2>/dev/null && [ -d "$DIR/pylib_extra" ]; then
  echo "libkcs.so needs the build machine's common libraries here too: $DIR/pylib_extra"
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$DIR/pylib_extra"
fi
python3 -c "import kcs; print('kcs', kcs.version(), kcs.data_dirs())" || exit 1
cd "$ROOT/examples/pytest_triton"
py=(python3 -m pytest -q -p no:cacheprovider -rs --tb=short)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$OUT/gpu.txt"
python3 compile_verbatim.py 2>&1 | tail -3 | tee "$OUT/verbatim.txt"
python3 div_probe.py "$OUT/div_probe.json" > "$OUT/div_probe.txt" 2>&1; echo "div_probe exit: $?"
LD_LIBRARY_PATH="$DIR/lib" "$DIR/kcs_cuda_bench" > "$OUT/timing.txt" 2>&1
python3 bench_triton.py >> "$OUT/timing.txt" 2>&1
cat "$OUT/timing.txt"
KCS_EXAMPLE_BREAK=1 "${py[@]}" test_q8_triton.py --kcs-tier ci --kcs-out "$OUT/broken" > "$OUT/broken.txt" 2>&1
echo "pytest broken Q8 (Triton / for 127/amax) exit: $?" | tee -a "$OUT/broken.txt"; tail -3 "$OUT/broken.txt"
for TIER in "${TIERS[@]}"; do
  "${py[@]}" . --kcs-tier "$TIER" --kcs-out "$OUT/$TIER" > "$OUT/$TIER.txt" 2>&1
  echo "pytest $TIER exit: $?" | tee -a "$OUT/$TIER.txt"; tail -4 "$OUT/$TIER.txt"
done
