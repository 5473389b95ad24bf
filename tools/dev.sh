#!/usr/bin/env bash
# The project's one entry point for setup, build and the two jobs of the README.
#   tools/dev.sh main   install what is missing, build Release, run the ci-tier conformance sweep of
#                       every backend this CPU runs, write reports/out/{results.jsonl,summary.md,index.html}
#   tools/dev.sh test   install what is missing, build, run every test (ctest, nightly tier excluded)
#   tools/dev.sh bench  install, build Release, run every Google Benchmark program (and the oneDNN
#                       peer, twice with AMX: default and AVX-512 only) into reports/bench/*.json, then
#                       bench/report.py -> reports/bench/perf.{md,html}
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

# The run's conditions for the report's header (date, CPU, load average at start and end, threads).
bench_run_info() {  # bench_run_info start|end FILE
  /usr/bin/python3 - "$1" "$2" <<'PY'
import datetime, json, os, sys
when, path = sys.argv[1], sys.argv[2]
info = json.load(open(path)) if when == "end" else {}
now = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
       "load_avg": [round(x, 2) for x in os.getloadavg()]}
if when == "start":
    flags, model = set(), ""
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        if k.strip() == "model name" and not model:
            model = v.strip()
        if k.strip() == "flags" and not flags:
            flags = set(v.split())
    info.update(cpu=model, amx=sorted(f for f in flags if f.startswith("amx")), nproc=os.cpu_count(),
                filter=os.environ.get("KCS_BENCH_FILTER", "."), reps=os.environ.get("KCS_BENCH_REPS", "3"))
info[when] = now
json.dump(info, open(path, "w"), indent=1)
PY
}

bench_one() {  # bench_one PROGRAM OUT_JSON: one Google Benchmark program, filtered, medians only
  "$1" --benchmark_filter="${KCS_BENCH_FILTER:-.}" --benchmark_repetitions="${KCS_BENCH_REPS:-3}" \
    --benchmark_report_aggregates_only=true --benchmark_out="$2" --benchmark_out_format=json
  [ -s "$2" ] || rm -f "$2"  # no row matched the filter: Google Benchmark leaves an empty file
}

bench_job() {
  local dir="build/$PRESET/bench" out=reports/bench
  mkdir -p "$out"
  rm -f "$out"/*_bench.json "$out/run.json"  # the report shows this run only
  bench_run_info start "$out/run.json"
  local progs=("$dir"/*_bench)
  [ -x "$dir/onednn_bench" ] || echo "kcs: oneDNN peer bench not built (libdnnl-dev missing): no oneDNN column"
  for p in "${progs[@]}"; do
    [ -x "$p" ] || continue
    echo "kcs: $(basename "$p")"
    bench_one "$p" "$out/$(basename "$p").json"
  done
  # With AMX, oneDNN's default path runs it while kcs's BF16 definition cannot (tools/amx_bf16_probe.cc):
  # the peer runs again limited to AVX-512 (rows onednn_avx512), the like-for-like comparison.
  if [ -x "$dir/onednn_bench" ] && grep -qwE 'amx_bf16|amx_int8' /proc/cpuinfo 2>/dev/null; then
    echo "kcs: onednn_bench with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (this CPU has AMX)"
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 bench_one "$dir/onednn_bench" "$out/onednn_avx512_bench.json"
  fi
  # The PyTorch peer (Debian's python3-torch): the fused kernels as a user writes them in PyTorch.
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "kcs: torch_bench (bench/peers/torch_bench.py)"
    /usr/bin/python3 bench/peers/torch_bench.py --benchmark_filter="${KCS_BENCH_FILTER:-.}" \
      --benchmark_repetitions="${KCS_BENCH_REPS:-3}" --benchmark_out="$out/torch_bench.json"
  else
    echo "kcs: python3-torch missing: no PyTorch column"
  fi
  bench_run_info end "$out/run.json"
  /usr/bin/python3 bench/report.py "$out"/*_bench.json --run "$out/run.json" --out "$out"
}

case "${1:-}" in
  deps) deps ;;
  main) deps && build && main_job ;;
  test) deps && build && test_job ;;
  bench) PRESET=release; deps && build && bench_job ;;
  *) echo "usage: tools/dev.sh main|test|bench|deps" >&2; exit 2 ;;
esac
