#!/usr/bin/env bash
# Stage `cmake --install` of a kcs build, then configure, build and run tests/find_package
# against it, from a directory outside the source tree and with no KCS_* variable set: the
# installed kcs must find its own data. Usage: run.sh CMAKE KCS_BUILD_DIR OUT_DIR
set -euo pipefail
CMAKE="$1" BUILD="$2" OUT="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$OUT"
for v in $(env | grep -o '^KCS_[A-Z_]*' || true); do unset "$v"; done
"$CMAKE" --install "$BUILD" --prefix "$OUT/prefix" >"$OUT.install.log" 2>&1 || { cat "$OUT.install.log"; exit 1; }
# Only the public interface: kcs/kcs.h and kcs/plugin.h, nothing of the C++ layers.
headers=$(cd "$OUT/prefix/include" && find . -type f | sort | tr '\n' ' ')
[ "$headers" = "./kcs/kcs.h ./kcs/plugin.h " ] || { echo "installed headers: $headers"; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
"$CMAKE" -S "$HERE" -B "$OUT/build" -DCMAKE_PREFIX_PATH="$OUT/prefix" \
  -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >"$OUT.configure.log" 2>&1 || { cat "$OUT.configure.log"; exit 1; }
"$CMAKE" --build "$OUT/build" -j2 >"$OUT.build.log" 2>&1 || { cat "$OUT.build.log"; exit 1; }
cd "$OUT"
mkdir -p c py
"$OUT/build/score_with_c_api" "$OUT/c/results.jsonl" "$OUT/prefix"
"$OUT/prefix/bin/kcs" report --results "$OUT/c/results.jsonl" --out "$OUT/c/report" | tail -3
/usr/bin/python3 "$HERE/score_with_python.py" "$(sed -n 1p "$OUT/build/kcs_paths.txt")" "$OUT/prefix" "$OUT/py"
"$OUT/prefix/bin/kcs" report --results "$OUT/py/results.jsonl" --out "$OUT/py/report" | tail -3
# The installed program runs the plug-in on the installed catalogs.
"$OUT/prefix/bin/kcs" run --kernel q8 --tier smoke --backend-lib "$OUT/build/libmy_plugin.so" -q | tail -4
