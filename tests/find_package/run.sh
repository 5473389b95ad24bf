#!/usr/bin/env bash
# Stage `cmake --install` of a kcs build, then configure, build and run tests/find_package
# against it. Usage: run.sh CMAKE KCS_BUILD_DIR OUT_DIR CXX
set -euo pipefail
CMAKE="$1" BUILD="$2" OUT="$3" CXX="$4"
HERE="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$OUT"
"$CMAKE" --install "$BUILD" --prefix "$OUT/prefix" >"$OUT.install.log" 2>&1 || { cat "$OUT.install.log"; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
"$CMAKE" -S "$HERE" -B "$OUT/build" -DCMAKE_PREFIX_PATH="$OUT/prefix" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$OUT.configure.log" 2>&1 || { cat "$OUT.configure.log"; exit 1; }
"$CMAKE" --build "$OUT/build" -j2 >"$OUT.build.log" 2>&1 || { cat "$OUT.build.log"; exit 1; }
# The installed data, not the source tree: what an out-of-tree user has.
export KCS_CATALOG_DIR="$OUT/prefix/share/kcs/catalog" KCS_BUNDLE_DIR="$OUT/prefix/share/kcs/bundles"
"$OUT/build/check_my_plugin" "$OUT/build/libmy_plugin.so"
