#!/usr/bin/python3
"""Seeds of outputs_reader_fuzz: outputs files written by h5py, as a backend in another language
writes them (examples/python_backend), for the committed bundles the fuzz target scores against.

Usage: fuzz/make_outputs_seeds.py [OUT_DIR]   (default fuzz/seeds/outputs; run from the repo root)
Each bundle gives three files: h5py's defaults (contiguous datasets, variable-length UTF-8
string attributes), chunked gzip + shuffle + fletcher32 datasets, and fixed-length (bytes)
string attributes with the byte views of UE4M3 scales. Small on purpose: a fuzzer input is a
whole file.
"""
import pathlib
import sys

import h5py
import numpy as np

BUNDLES = [  # the same list as outputs_bundle_paths() in fuzz/outputs_check.h
    "q8/q8.ties.rows=2.n=9.round_mode=rint.h5",
    "scatter/scatter.s1_k1_scale.T=7.block_num=6.block_size=16.D=1.dtype=float16.h5",
    "nvfp4_quant/nvfp4_quant.random.M=3.K=128.h5",
    "gemm_i8/gemm_i8.random.m=2.k=64.n=17.out_dtype=float32.h5",
    "rope/rope.signed_zeros.T=2.H=3.D=64.R=32.W=32.mode=v2.h5",
]


def outputs_of(bundle):
    """(name, array, dtype attr) of every out tensor and every inout tensor's state after."""
    out = []
    for name, ds in bundle["outputs"].items():
        if name.endswith("_bytes"):
            continue
        out.append((name, ds[()], ds.attrs["dtype"]))
    if "inout" in bundle:
        for name, g in bundle["inout"].items():
            out.append((name, g["after"][()], g["after"].attrs["dtype"]))
    return out


def write(path, bundle, variant):
    with h5py.File(path, "w") as f:
        attrs = {"kernel": bundle.attrs["kernel"], "case": bundle.attrs["case"], "spec_version": "1.0"}
        for k, v in attrs.items():
            f.attrs[k] = np.bytes_(v.encode()) if variant == "fixed" else v
        g = f.create_group("outputs")
        for name, a, dtype in outputs_of(bundle):
            kw = {}
            if variant == "gzip" and a.size > 1:
                kw = dict(chunks=tuple(max(1, (d + 1) // 2) for d in a.shape), compression="gzip",
                          shuffle=True, fletcher32=True)
            ds = g.create_dataset(name, data=a, **kw)
            ds.attrs["dtype"] = np.bytes_(dtype.encode()) if variant == "fixed" else dtype
            if variant == "fixed" and dtype == "ue4m3x4":
                g.create_dataset(name + "_bytes", data=a.astype("<i4").view(np.uint8))


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz/seeds/outputs")
    out.mkdir(parents=True, exist_ok=True)
    for rel in BUNDLES:
        with h5py.File(pathlib.Path("fixtures/bundles") / rel, "r") as b:
            kernel = b.attrs["kernel"]
            for variant in ("default", "gzip", "fixed"):
                p = out / f"{kernel}.{variant}.h5"
                write(p, b, variant)
                print(p, p.stat().st_size)


if __name__ == "__main__":
    main()
