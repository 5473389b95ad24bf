#!/usr/bin/env bash
# Packs what a GPU machine without kcs's build dependencies needs to run the suite on the CUDA
# plug-in: the kcs binary, the shared libraries it links (HDF5, fmt, ... but not glibc), both
# plug-in variants and the timing program, into DIR (default .gpu, which git ignores); libkcs.so and
# its libraries into DIR/pylib for the Python package (examples/pytest_triton/run_on_device.sh).
#   backends/cuda/stage_for_device.sh build/release [DIR]
# On the GPU machine, from the repository root:
#   backends/cuda/run_on_device.sh DIR OUTDIR
set -euo pipefail
BUILD="${1:?usage: stage_for_device.sh BUILD_DIR [DIR]}"
DIR="${2:-.gpu}"
mkdir -p "$DIR/lib"
cp "$BUILD/kcs" "$BUILD/backends/cuda/libkcs_cuda.so" "$BUILD/backends/cuda/libkcs_cuda_broken_ties.so" \
  "$BUILD/backends/cuda/kcs_cuda_bench" "$BUILD/backends/cuda/kcs_cuda_e4m3_check" "$DIR/"
ldd "$BUILD/kcs" | awk '$3 ~ /^\// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
  while read -r lib; do cp -L "$lib" "$DIR/lib/"; done
du -sh "$DIR"
# The host C API for the Python package (examples/pytest_triton/run_on_device.sh): libkcs.so and
# the libraries it links into DIR/pylib (HDF5, fmt, gomp) and DIR/pylib_extra (curl, ssl, ... used
# there only when that machine lacks them); never libstdc++ / libgcc_s, whose newer copies there
# serve torch too.
if [ -e "$BUILD/libkcs.so" ]; then
  mkdir -p "$DIR/pylib" "$DIR/pylib_extra"
  cp -L "$BUILD/libkcs.so" "$DIR/pylib/"
  ldd "$BUILD/libkcs.so" | awk '$3 ~ /^\// {print $3}' |
    grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' |
    while read -r lib; do
      case "$(basename "$lib")" in
        libhdf5*|libsz*|libaec*|libfmt*|libgomp*) cp -L "$lib" "$DIR/pylib/" ;;
        *) cp -L "$lib" "$DIR/pylib_extra/" ;;
      esac
    done
  du -sh "$DIR/pylib" "$DIR/pylib_extra"
fi
