#!/usr/bin/env bash
# End-to-end checks of the kcs command line, as a user drives it. Usage: cli_test.sh <kcs binary>
set -uo pipefail
KCS="$1"
PY=/usr/bin/python3   # Debian's interpreter, which has numpy and h5py
source "$(dirname "$0")/cli_lib.sh"

CASE=q8.random.rows=4.n=17
expect "list shows kernels and backends" 0 "q8 .*Q8 symmetric" -- "$KCS" list
expect "list shows availability" 0 "avx2 .*(runs on this CPU|skipped: needs)" -- "$KCS" list
expect "list q8 shows the declaration" 0 "out +codes +int8 +\[rows, n\] exact" -- "$KCS" list q8
expect "run smoke" 0 "q8 +reference" -- "$KCS" run --kernel q8 --tier smoke --backend reference --backend avx2 -q --out "$T/out"
[ -s "$T/out/results.jsonl" ] && [ -s "$T/out/summary.md" ] && ok "run writes results.jsonl and summary.md" || bad "run outputs missing"
expect "unknown case" 2 "no case matches|unknown kernel" -- "$KCS" run --case q8.nope -q
expect "unknown backend" 2 "unknown backend 'cuda'" -- "$KCS" run --tier smoke --backend cuda -q
expect "bad shard" 2 "--shard wants I/N" -- "$KCS" run --tier smoke --shard 3/2 -q
expect "must-reject case passes when rejected" 0 "q8 +reference +2 +2" -- \
  "$KCS" run --case 'q8.subnormal_amax_nofloor*' --backend reference --tile row_tile=16 -q
expect "named unavailable backend exits 3" 3 "requested but cannot run" -- \
  env KCS_DISABLE_FEATURES=avx2 "$KCS" run --tier smoke --backend avx2 -q
expect "named hidden amx exits 3" 3 "requested but cannot run" -- \
  env KCS_DISABLE_FEATURES=amx_int8 "$KCS" run --tier smoke --backend amx -q

# Shards partition the sweep and merge back to the whole.
"$KCS" run --tier smoke --backend reference -q --results "$T/all.json" >/dev/null
"$KCS" run --tier smoke --backend reference -q --shard 0/2 --results "$T/s0.json" >/dev/null
"$KCS" run --tier smoke --backend reference -q --shard 1/2 --results "$T/s1.json" >/dev/null
expect "merge" 0 "q8 +reference" -- "$KCS" merge "$T/s0.json" "$T/s1.json" --out "$T/merged.json"
n_all=$(grep -c '"case"' "$T/all.json")  # JSON Lines: one run per line
n_merged=$(grep -c '"case"' "$T/merged.json")
[ "$n_all" = "$n_merged" ] && [ "$n_all" -gt 0 ] && ok "shards cover the sweep ($n_all runs)" || bad "shards: $n_merged vs $n_all runs"

# A bundle, an outputs file written from Python, and kcs check.
expect "gen one case" 0 "wrote .*$CASE.h5" -- "$KCS" gen --case "$CASE" --out "$T/b"
B="$T/b/q8/$CASE.h5"
$PY - "$B" "$T/good.h5" <<'PY' || bad "python could not write an outputs file"
import sys, h5py
src, dst = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
    g.attrs["kernel"] = f.attrs["kernel"]
    g.attrs["case"] = f.attrs["case"]
    out = g.create_group("outputs")
    for name, ds in f["outputs"].items():
        d = out.create_dataset(name, data=ds[()])
        d.attrs["dtype"] = ds.attrs["dtype"]
PY
expect "check accepts the reference's outputs" 0 "$CASE: passed" -- "$KCS" check --fixture "$B" --outputs "$T/good.h5" --results "$T/check.json"
[ -s "$T/check.json" ] && ok "check writes results" || bad "check results missing"

cp "$T/good.h5" "$T/wrong.h5"
$PY - "$T/wrong.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["outputs/codes"][1, 3] = f["outputs/codes"][1, 3] + 1
PY
expect "check names a corrupted output element" 1 "codes.*\[1, 3\]" -- "$KCS" check --fixture "$B" --outputs "$T/wrong.h5"

cp "$B" "$T/corrupt_bundle.h5"
$PY - "$T/corrupt_bundle.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["outputs/codes"][2, 5] = f["outputs/codes"][2, 5] - 1
PY
expect "check against a corrupted bundle names the element" 1 "codes.*\[2, 5\]" -- "$KCS" check --fixture "$T/corrupt_bundle.h5" --outputs "$T/good.h5"

size=$(stat -c %s "$B")
head -c $((size / 2)) "$B" >"$T/truncated.h5"
expect "truncated bundle: clear error" 2 "truncated.h5" -- "$KCS" check --fixture "$T/truncated.h5" --outputs "$T/good.h5"
echo "not hdf5" >"$T/text.h5"
expect "non-HDF5 outputs: clear error" 2 "text.h5" -- "$KCS" check --fixture "$B" --outputs "$T/text.h5"
$PY - "$T/good.h5" "$T/missing.h5" <<'PY'
import sys, h5py, shutil
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    del f["outputs/scale"]
PY
expect "outputs missing a dataset: named" 2 "scale" -- "$KCS" check --fixture "$B" --outputs "$T/missing.h5"

# kcs check judges a case outside the contract as kcs run does: NaN rows with another scale are
# outside_contract_differs (exit 0); a finite row with another scale fails (exit 1).
NC=q8.nan_inf.rows=8.n=17.amax_floor=none.x_dtype=float32
"$KCS" gen --case "$NC" --out "$T/nb" >/dev/null
$PY - "$T/nb/q8/$NC.h5" "$T/nan" <<'PY' || bad "python could not write the nan_inf outputs"
import sys, h5py, numpy as np
src, dst = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as f:
    bad = ~np.isfinite(f["inputs/x"][()]).all(axis=1)
    for name, rows in (("flush", bad), ("leak", bad | np.roll(bad, 1))):
        with h5py.File("%s_%s.h5" % (dst, name), "w") as g:
            g.attrs["kernel"], g.attrs["case"] = f.attrs["kernel"], f.attrs["case"]
            for o, ds in f["outputs"].items():
                v = ds[()]
                if o == "scale":
                    v[rows] = 0
                g.create_dataset("outputs/" + o, data=v).attrs["dtype"] = ds.attrs["dtype"]
PY
expect "check: differs outside the contract only" 0 "$NC: outside_contract_differs" -- \
  "$KCS" check --fixture "$T/nb/q8/$NC.h5" --outputs "$T/nan_flush.h5"
expect "check: a finite row differs" 1 "inside the contract: the rows slices" -- \
  "$KCS" check --fixture "$T/nb/q8/$NC.h5" --outputs "$T/nan_leak.h5"

[ "$fails" -eq 0 ] && echo "all CLI checks passed" || { echo "$fails CLI checks failed"; exit 1; }
