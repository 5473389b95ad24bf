#!/usr/bin/env bash
# The project's one entry point for setup, build and the two jobs of the README.
#   tools/dev.sh main   install what is missing, build Release, run the ci-tier conformance sweep of
#                       every backend this CPU runs, write reports/out/{results.jsonl,summary.md,index.html}
#   tools/dev.sh test   install what is missing, build, run every test (ctest, nightly tier excluded)
#   tools/dev.sh bench  install, build Release, run every Google Benchmark program (and the oneDNN
#                       peer) into reports/bench/*.json, then bench/report.py -> reports/bench/perf.{md,html}
#   tools/dev.sh deps   only install what is missing
# KCS_PRESET=asan|debug|release selects the build (default release); `test` honours it, so
# `KCS_PRESET=asan tools/dev.sh test` runs the whole suite under ASan + UBSan.
# KCS_BENCH_FILTER (a Google Benchmark regex, default all) and KCS_BENCH_REPS (default 3) shape `bench`.
# KCS_TIER=nightly makes `main` run the nightly tier and `test` include the nightly tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PRESET="${KCS_PRESET:-release}"
TIER="${KCS_TIER:-ci}"
JOBS="$(nproc 2>/dev/null || echo 2)"

# Debian packages the build, the tests and the jobs need.
PACKAGES=(
  g++ make cmake pkg-config
  libhdf5-dev hdf5-tools
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  python3 python3-numpy python3-h5py python3-pytest python3-torch chromium
  clang libclang-rt-dev
  libdnnl-dev
)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  echo "kcs: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "kcs: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cmake --preset "$PRESET" >/dev/null
  cmake --build --preset "$PRESET" -j "$JOBS"
}

main_job() {
  local kcs="build/$PRESET/kcs"
  "$kcs" run --tier "$TIER" --out reports/out
}

test_job() {
  # ctest runs tests side by side: idle OpenMP workers sleep instead of spinning on a shared core.
  export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
  if [ "$TIER" = nightly ]; then
    ctest --test-dir "build/$PRESET" --output-on-failure -j "$JOBS"
  else
    ctest --preset "$PRESET" -j "$JOBS"
  fi
}

bench_job() {
  local dir="build/$PRESET/bench" out=reports/bench
  mkdir -p "$out"
  local progs=("$dir"/*_bench)
  [ -x "$dir/onednn_bench" ] || echo "kcs: oneDNN peer bench not built (libdnnl-dev missing): no oneDNN column"
  for p in "${progs[@]}"; do
    [ -x "$p" ] || continue
    echo "kcs: $(basename "$p")"
    "$p" --benchmark_filter="${KCS_BENCH_FILTER:-.}" --benchmark_repetitions="${KCS_BENCH_REPS:-3}" \
      --benchmark_report_aggregates_only=true --benchmark_out="$out/$(basename "$p").json" \
      --benchmark_out_format=json
  done
  # The PyTorch peer (Debian's python3-torch): the fused kernels as a user writes them in PyTorch.
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "kcs: torch_bench (bench/peers/torch_bench.py)"
    /usr/bin/python3 bench/peers/torch_bench.py --benchmark_filter="${KCS_BENCH_FILTER:-.}" \
      --benchmark_repetitions="${KCS_BENCH_REPS:-3}" --benchmark_out="$out/torch_bench.json"
  else
    echo "kcs: python3-torch missing: no PyTorch column"
  fi
  /usr/bin/python3 bench/report.py "$out"/*_bench.json --out "$out"
}

case "${1:-}" in
  deps) deps ;;
  main) deps && build && main_job ;;
  test) deps && build && test_job ;;
  bench) PRESET=release; deps && build && bench_job ;;
  *) echo "usage: tools/dev.sh main|test|bench|deps" >&2; exit 2 ;;
esac
