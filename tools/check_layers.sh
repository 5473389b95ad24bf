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
  # The edges the architecture rests on stay forbidden: a RULES edit that allows one fails here.
  for pin in "optimized:reference/" "reference:optimized/" "reference:conformance/" "optimized:conformance/" \
             "include/kcs:reference/" "include/kcs:optimized/" "core:decl/" "decl:reference/" "decl:optimized/" \
             "tables:reference/" "bench:reference/"; do
    for rule in "${RULES[@]}"; do
      if [ "${rule%%:*}" = "${pin%%:*}" ] && [[ " ${rule#*:} " == *" ${pin#*:} "* ]]; then
        echo "FAIL: RULES let ${pin%%:*}/ include ${pin#*:}"
        exit 1
      fi
    done
  done
  # Every forbidden edge, derived from RULES: each layer including each prefix it may not use.
  layers="kcs/ decl/ tables/ reference/ optimized/ conformance/ fixtures/ reports/ tools/ bench/ backends/"
  for rule in "${RULES[@]}"; do
    dir="${rule%%:*}"
    for prefix in $layers; do
      [[ " ${rule#*:} " == *" $prefix "* ]] && continue
      f="$tmp/$dir/x.cc"
      printf '#include <vector>\n  #include "%sx.h"  // deliberate\n' "$prefix" >"$f"
      if check "$tmp" >/dev/null; then
        echo "FAIL: $dir/ including \"${prefix}x.h\" was not caught"
        exit 1
      fi
      rm "$f"
    done
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
