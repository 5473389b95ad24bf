#!/usr/bin/python3
"""Reads kcs fixture files with h5py + numpy only, as a backend author in Python would.

Usage: fixture_h5py_test.py FILE.h5 [FILE.h5 ...]

Every file gets the schema checks of spec §11 (root attributes as str/int, a `dtype` attribute on
every dataset, storage dtype matching it, plausible shapes, ue4m3x4 byte views, touched masks).
Files whose `case` attribute names a probe written by tests/fixture_test.cc
(FixtureH5py.WritesPythonProbe) also have their values checked against the same construction.

Run with /usr/bin/python3 (Debian's python3-h5py, python3-numpy). Exit status 0 = all good.
"""
import re
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the cmake driver checks first; this is for direct runs
    print(f"fixture_h5py_test: needs h5py and numpy ({e}); install python3-h5py python3-numpy", file=sys.stderr)
    sys.exit(2)

# dtype attribute -> HDF5 storage as numpy sees it (spec §11).
STORAGE = {
    "bfloat16": np.uint16,
    "float16": np.uint16,
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "uint8": np.uint8,
    "int32": np.int32,
    "int64": np.int64,
    "e2m1x2_lo_first": np.uint8,
    "ue4m3x4_le": np.int32,
}
TIERS = {"smoke", "ci", "nightly"}
FIXED_ROOT = {"kernel", "case", "tier", "generator", "spec_version", "schema_version", "rng_seed"}

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


# ---------------------------------------------------------------------------------------------
# Decoding, as a user would write it
# ---------------------------------------------------------------------------------------------

def bf16_to_f32(bits):
    """uint16 BF16 patterns -> float32 (BF16 is the top half of a binary32)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def f16_to_f32(bits):
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def e2m1x2_unpack(packed):
    """uint8 [.., k] -> E2M1 codes [.., 2k], low nibble = even element."""
    p = np.asarray(packed, dtype=np.uint8)
    return np.stack([p & 0xF, p >> 4], axis=-1).reshape(*p.shape[:-1], p.shape[-1] * 2)


def decode(ds):
    a = ds[()]
    kind = ds.attrs["dtype"]
    if kind == "bfloat16":
        return bf16_to_f32(a)
    if kind == "float16":
        return f16_to_f32(a)
    return a


def rows_of(shape):
    """Rows of a tensor as kcs counts them: all but the last dim; 0 when the tensor is empty."""
    if len(shape) == 0:
        return 1
    return int(np.prod(shape[:-1], dtype=np.int64)) if shape[-1] else 0


# ---------------------------------------------------------------------------------------------
# Schema checks
# ---------------------------------------------------------------------------------------------

def check_str_attr(obj, name, where):
    if not check(name in obj.attrs, f"{where}: missing attribute {name!r}"):
        return None
    v = obj.attrs[name]
    check(isinstance(v, str), f"{where}: attribute {name!r} is {type(v).__name__}, expected str")
    return v


def check_int_attr(obj, name, where):
    if not check(name in obj.attrs, f"{where}: missing attribute {name!r}"):
        return None
    v = obj.attrs[name]
    check(isinstance(v, (np.integer, int)) and np.ndim(v) == 0, f"{where}: attribute {name!r} = {v!r} is not an integer")
    return v


def check_datasets(f, fname):
    """Every dataset: dtype attribute, matching storage, byte views, touched masks."""
    datasets = {}
    f.visititems(lambda name, obj: datasets.__setitem__("/" + name, obj) if isinstance(obj, h5py.Dataset) else None)
    for path, ds in datasets.items():
        where = f"{fname}:{path}"
        kind = check_str_attr(ds, "dtype", where)
        if kind is None:
            continue
        if not check(kind in STORAGE, f"{where}: unknown dtype {kind!r}"):
            continue
        check(ds.dtype == np.dtype(STORAGE[kind]), f"{where}: stored as {ds.dtype}, dtype attr {kind!r} needs {np.dtype(STORAGE[kind])}")
        check(all(0 <= d < 2**40 for d in ds.shape), f"{where}: implausible shape {ds.shape}")
        if kind == "ue4m3x4_le":
            view = path + "_bytes"
            if check(view in datasets, f"{where}: ue4m3x4 without its byte view {view}"):
                v = datasets[view]
                want_shape = ds.shape[:-1] + (ds.shape[-1] * 4,) if ds.shape else (4,)
                check(v.dtype == np.uint8 and v.shape == want_shape, f"{fname}:{view}: {v.dtype} {v.shape}, expected uint8 {want_shape}")
                if v.shape == want_shape:
                    le = ds[()].astype("<i4").view(np.uint8).reshape(want_shape)
                    check(np.array_equal(v[()], le), f"{fname}:{view}: bytes differ from the little-endian words of {path}")
        if path.endswith("/touched") and path.startswith("/inout/"):
            after = datasets.get(path[: -len("touched")] + "after")
            if check(after is not None, f"{where}: no sibling 'after'"):
                check(ds.shape == (rows_of(after.shape),), f"{where}: shape {ds.shape}, expected ({rows_of(after.shape)},)")
            check(kind == "uint8" and np.isin(ds[()], [0, 1]).all(), f"{where}: mask must be uint8 0/1")
        if path.endswith("/before") and path.startswith("/inout/"):
            after = datasets.get(path[: -len("before")] + "after")
            check(after is not None and after.shape == ds.shape and after.attrs.get("dtype") == kind,
                  f"{where}: before/after differ in shape or dtype")
    return datasets


def check_bundle(f, fname):
    where = f"{fname}:/"
    for a in ("kernel", "case", "generator"):
        check_str_attr(f, a, where)
    tier = check_str_attr(f, "tier", where)
    check(tier in TIERS, f"{where}: tier {tier!r} not in {sorted(TIERS)}")
    spec = check_str_attr(f, "spec_version", where)
    check(spec is not None and re.fullmatch(r"\d+\.\d+", spec) is not None and tuple(map(int, spec.split("."))) <= (1, 0),
          f"{where}: spec_version {spec!r}")
    check(check_int_attr(f, "schema_version", where) == 1, f"{where}: schema_version != 1")
    seed = check_int_attr(f, "rng_seed", where)
    check(seed is not None and seed >= 0, f"{where}: rng_seed {seed!r}")
    dims = {k: int(v) for k, v in f.attrs.items() if k not in FIXED_ROOT and isinstance(v, np.integer)}
    modes = {k: v for k, v in f.attrs.items() if k not in FIXED_ROOT and isinstance(v, str)}
    check(all(v >= 0 for v in dims.values()), f"{where}: negative dim in {dims}")
    for g in ("inputs", "outputs"):
        check(g in f and isinstance(f[g], h5py.Group), f"{where}: missing group /{g}")
    datasets = check_datasets(f, fname)
    return dims, modes, datasets


def check_outputs_file(f, fname):
    where = f"{fname}:/"
    check_str_attr(f, "kernel", where)
    check_str_attr(f, "case", where)
    check(set(f.keys()) == {"outputs"}, f"{where}: top level {sorted(f.keys())}, expected only /outputs")
    return check_datasets(f, fname)


# ---------------------------------------------------------------------------------------------
# Probe content (mirrors python_probe_q8 / python_probe_all in tests/fixture_test.cc)
# ---------------------------------------------------------------------------------------------

def expect_equal(fname, path, got, want):
    got, want = np.asarray(got), np.asarray(want)
    ok = got.shape == want.shape and np.array_equal(got, want)
    check(ok, f"{fname}:{path}: got {got.tolist()}, expected {want.tolist()}")


def probe_q8_outputs(f, fname):
    r = np.arange(3)[:, None]
    j = np.arange(8)[None, :]
    check(f["outputs/codes"].shape == (3, 8) and f["outputs/scale"].shape == (3, 1), f"{fname}: q8 output shapes")
    expect_equal(fname, "/outputs/codes", f["outputs/codes"][()], (r * 8 + j - 12).astype(np.int8))
    expect_equal(fname, "/outputs/scale", decode(f["outputs/scale"]), (0.25 * (r + 1)).astype(np.float32))
    check(f["outputs/scale"].attrs["dtype"] == "float16", f"{fname}: scale dtype")


def probe_q8(f, fname, dims, modes):
    check(f.attrs["kernel"] == "q8", f"{fname}: kernel {f.attrs['kernel']!r}")
    check(dims == {"rows": 3, "n": 8}, f"{fname}: dims {dims}")
    check(modes == {"x_dtype": "bfloat16", "scale_dtype": "float16", "round_mode": "rint", "amax_floor": "none"},
          f"{fname}: modes {modes}")
    check(int(f.attrs["rng_seed"]) == 1234, f"{fname}: rng_seed")
    r = np.arange(3)[:, None]
    j = np.arange(8)[None, :]
    check(f["inputs/x"].attrs["dtype"] == "bfloat16", f"{fname}: x dtype")
    expect_equal(fname, "/inputs/x", decode(f["inputs/x"]), ((j - 4) * 0.5 * (r + 1)).astype(np.float32))
    probe_q8_outputs(f, fname)
    expect_equal(fname, "/prerounding/codes", f["prerounding/codes"][()], (np.arange(24).reshape(3, 8) + 0.5).astype(np.float32))
    expect_equal(fname, "/budget/scale", f["budget/scale"][()], np.arange(3) * 1.5)


def probe_all(f, fname, dims, modes):
    check(f.attrs["kernel"] == "kcs_probe", f"{fname}: kernel")
    check(dims == {"rows": 2, "n": 8}, f"{fname}: dims {dims}")
    check(modes == {"mode": "slow"}, f"{fname}: modes {modes}")
    check(f.attrs["rng_seed"] == np.uint64(2**63 + 5), f"{fname}: rng_seed {f.attrs['rng_seed']!r}")
    ins = f["inputs"]
    check(ins.attrs["start_pos"] == 7 and ins.attrs["start_pos"].dtype == np.int64, f"{fname}: /inputs start_pos")
    check(ins.attrs["eps"] == 1e-5 and ins.attrs["eps"].dtype == np.float64, f"{fname}: /inputs eps")
    i = np.arange(16).reshape(2, 8)
    expect_equal(fname, "/inputs/a_bf16", decode(ins["a_bf16"]), (i - 3.5).astype(np.float32))
    expect_equal(fname, "/inputs/b_fp16", decode(ins["b_fp16"]), (i * 0.125 - 1).astype(np.float32))
    expect_equal(fname, "/inputs/c_fp32", ins["c_fp32"][()], (i / 8).astype(np.float32))
    expect_equal(fname, "/inputs/d_fp64", ins["d_fp64"][()], i / 3.0)
    expect_equal(fname, "/inputs/e_i8", ins["e_i8"][()], (i - 4).astype(np.int8))
    expect_equal(fname, "/inputs/f_u8", ins["f_u8"][()], (200 + i).astype(np.uint8))
    expect_equal(fname, "/inputs/g_i32", ins["g_i32"][()], (-100000 * i).astype(np.int32))
    expect_equal(fname, "/inputs/h_i64", ins["h_i64"][()], (2**40 + i).astype(np.int64))
    k = np.arange(8).reshape(2, 4)
    expect_equal(fname, "/inputs/i_e2m1", ins["i_e2m1"][()], ((k & 0xF) | (((k + 1) & 0xF) << 4)).astype(np.uint8))
    codes = e2m1x2_unpack(ins["i_e2m1"][()])  # element 2m = m, element 2m+1 = m+1
    expect_equal(fname, "/inputs/i_e2m1 (unpacked)", codes[:, 0::2], k & 0xF)
    w = np.arange(4).reshape(2, 2)
    expect_equal(fname, "/inputs/j_sf", ins["j_sf"][()], (0x04030201 + 0x01010101 * w).astype(np.int32))
    expect_equal(fname, "/inputs/j_sf_bytes", ins["j_sf_bytes"][()], _sf_bytes_expected())
    expect_equal(fname, "/outputs/o_fp32", f["outputs/o_fp32"][()], (-i).astype(np.float32))
    expect_equal(fname, "/inout/cache/before", decode(f["inout/cache/before"]), i.astype(np.float32))
    after = i.astype(np.float32)
    after[1, :] = -1
    expect_equal(fname, "/inout/cache/after", decode(f["inout/cache/after"]), after)
    expect_equal(fname, "/inout/cache/touched", f["inout/cache/touched"][()], np.array([0, 1], dtype=np.uint8))


def _sf_bytes_expected():
    # Word i = 0x04030201 + i*0x01010101, so its little-endian bytes are 1+i, 2+i, 3+i, 4+i.
    words = [[0, 1], [2, 3]]
    return np.array([[b + 1 + wi for wi in row for b in range(4)] for row in words], dtype=np.uint8)


PROBES = {"h5py_probe_q8": probe_q8, "h5py_probe_all": probe_all}


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    probes = 0
    for p in paths:
        try:
            with h5py.File(p, "r") as f:
                if "rng_seed" in f.attrs:
                    dims, modes, _ = check_bundle(f, p)
                    case = f.attrs.get("case")
                    if case in PROBES:
                        PROBES[case](f, p, dims, modes)
                        probes += 1
                else:
                    check_outputs_file(f, p)
                    if f.attrs.get("case") == "h5py_probe_q8":
                        probe_q8_outputs(f, p)
                        probes += 1
        except (OSError, KeyError) as e:
            errors.append(f"{p}: {e}")
    for e in errors:
        print("FAIL:", e)
    if errors:
        return 1
    print(f"fixture_h5py_test: {len(paths)} file(s) OK ({probes} checked against their construction)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
