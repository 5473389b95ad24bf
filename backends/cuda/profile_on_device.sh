#!/usr/bin/env bash
# Runs on the GPU machine after run_on_device.sh: Nsight Compute on the key launches (Q8 n = 128 and
# n = 1536 at t = 4096, NVFP4 staging at M = 4096), of kcs_cuda_bench and, where DIR holds it, of
# the "before" bench; and the instruction mix of those kernels (cuobjdump). Clocks are left as they
# are (--clock-control none). Reports land in OUTDIR/ncu.txt and OUTDIR/sass.txt.
#   backends/cuda/profile_on_device.sh DIR OUTDIR
set -uo pipefail
DIR="${1:?usage: profile_on_device.sh DIR OUTDIR}"
OUT="${2:?usage: profile_on_device.sh DIR OUTDIR}"
SECT="--section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats
  --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats"
prof() {  # label, regex, skip, command...
  local label=$1 re=$2 skip=$3
  shift 3
  echo "=== $label" >> "$OUT/ncu.txt"
  KCS_CUDA_BENCH_QUICK=1 ncu --clock-control none $SECT -k "regex:$re" --launch-skip "$skip" --launch-count 1 "$@" \
    >> "$OUT/ncu.txt" 2>&1
}
prof "new q8 t=4096 n=128" q8_reg_kernel 3 env KCS_CUDA_BENCH_ONLY="q8 K1 q t=4096" "$DIR/kcs_cuda_bench"
prof "new q8 t=4096 n=1536" q8_reg_kernel 3 env KCS_CUDA_BENCH_ONLY="q8 K2 q_norm t=4096" "$DIR/kcs_cuda_bench"
prof "new nvfp4_stage M=4096" nvfp4_stage 3 env KCS_CUDA_BENCH_ONLY="nvfp4_stage M=4096" "$DIR/kcs_cuda_bench"
if [ -x "$DIR/kcs_cuda_bench_main" ]; then  # quick mode: 9 launches a shape, in the table's order
  prof "main q8 t=4096 n=128" q8_reg_kernel 21 "$DIR/kcs_cuda_bench_main"
  prof "main q8 t=4096 n=1536" q8_reg_kernel 12 "$DIR/kcs_cuda_bench_main"
  prof "main nvfp4_stage M=4096" nvfp4_stage 12 "$DIR/kcs_cuda_bench_main"
fi
grep -E "^===|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Stall Long|Executed Ipc Active|L1/TEX Hit|Mem Busy|Max Bandwidth" "$OUT/ncu.txt"
for b in kcs_cuda_bench kcs_cuda_bench_main; do
  [ -x "$DIR/$b" ] || continue
  cuobjdump -sass "$DIR/$b" > "$OUT/$b.sass" 2>/dev/null
  awk -v b="$b" '/Function :/ {f=$3} /^ +\/\*[0-9a-f]{4}\*\// {n[f]++; split($2, o, "."); op=o[1]; if (op ~ /^@/) op=$3; gsub(/;/, "", op); c[f" "op]++}
    END {for (k in c) {split(k, p, " "); if (p[1] ~ /nvfp4_stage_kernelILi0ELb0ELi2|nvfp4_stage_kernelILi0EE|q8_reg_kernelILi8ELi2ELi1ELi0ELb0ELi256|q8_reg_kernelILi4ELi4ELi0EE|q8_reg_kernelILi32ELi6ELi1ELi0ELb0ELi256|q8_reg_kernelILi32ELi6ELi0EE/) print b, p[1], p[2], c[k], n[p[1]]}}' \
    "$OUT/$b.sass" | sort -k2,2 -k4,4nr >> "$OUT/sass.txt"
  rm -f "$OUT/$b.sass"
done
awk '{t[$1" "$2]=$5} END {for (k in t) print "instructions:", k, t[k]}' "$OUT/sass.txt"
