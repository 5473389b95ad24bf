#!/usr/bin/env bash
# The include edges the layers forbid (docs: /work/shared/DESIGN.md "Layers"; the link edges are
# the CMake targets'): the interface and core see only the interface; decl adds itself; tables
# add themselves; the reference and the optimized code never see each other, the conformance
# layer, fixtures, reports or tools; benches never see the reference's internals. Prints every
# offending line; exits 1 if there is one.
#   check_layers.sh <source root>      check a tree
#   check_layers.sh --selftest         show that each rule catches a cross-include
set -uo pipefail

# dir : quoted-include prefixes it may use
RULES=(
  "include/kcs:kcs/"
  "core:kcs/"
  "decl:kcs/ decl/"
  "tables:kcs/ tables/"
  "reference:kcs/ reference/ tables/"
  "optimized:kcs/ optimized/ tables/"
  # benches time the reference only as a Backend (api:reference rows), never its internals
  "bench:kcs/ bench/ optimized/ tables/ decl/ fixtures/ conformance/"
)

check() {
  local root="$1" bad=0 rule dir allowed file line inc ok prefix
  for rule in "${RULES[@]}"; do
    dir="${rule%%:*}"
    allowed="${rule#*:}"
    [ -d "$root/$dir" ] || { echo "check_layers: $root/$dir is missing"; return 2; }
    while IFS= read -r hit; do
      file="${hit%%:*}"
      line="${hit#*:}"
      line="${line#*:}"
      inc="$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/' <<<"$line")"
      ok=0
      for prefix in $allowed; do
        [[ "$inc" == "$prefix"* ]] && ok=1
      done
      if [ "$ok" -eq 0 ]; then
        echo "${hit%%:#*}: $dir/ may include only ($allowed), not \"$inc\""
        bad=1
      fi
    done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/$dir" --include='*.h' --include='*.cc' \
               --include='*.inc' | sed "s|^$root/||")
  done
  return "$bad"
}

if [ "${1:-}" = "--selftest" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  for rule in "${RULES[@]}"; do mkdir -p "$tmp/${rule%%:*}"; done
  echo '#include "kcs/tensor.h"' >"$tmp/optimized/ok.cc"
  check "$tmp" >/dev/null || { echo "FAIL: a clean tree was rejected"; exit 1; }
  # One forbidden edge per rule; each alone must be caught.
  for edge in "optimized/x.cc:reference/kernels.h" "reference/x.cc:optimized/q8.h" \
              "reference/x.h:conformance/runner/runner.h" "optimized/x.cc:conformance/compare/ulp.h" \
              "include/kcs/x.h:reference/primitives.h" "core/x.cc:decl/kernels.h" \
              "decl/x.cc:reference/primitives.h" "decl/x.cc:optimized/q8.h" "tables/x.cc:reference/kernels.h" \
              "bench/x.cc:reference/kernels.h"; do
    f="$tmp/${edge%%:*}"
    printf '#include <vector>\n  #include "%s"  // deliberate\n' "${edge#*:}" >"$f"
    if check "$tmp" >/dev/null; then
      echo "FAIL: ${edge%%:*} including \"${edge#*:}\" was not caught"
      exit 1
    fi
    rm "$f"
  done
  echo "selftest: every forbidden edge caught, the clean tree accepted"
  exit 0
fi

root="${1:?usage: check_layers.sh <source root> | --selftest}"
if check "$root"; then
  echo "layers: no include crosses a forbidden edge"
else
  exit 1
fi
