"""kcs's own backends with a kernel's weights prepared once, many calls (docs/plans.md):

    be = kcs.Backend("optimized")
    plan = be.prepare("gemm_bf16", {"w": w}, dims={"B": 1, "M": 4, "K": 64, "N": 32})
    out = plan.run({"a": a})                 # {"y": ...}; any M (no weight uses it)
    out = plan.run({"a": a1}, dims={"M": 1})

The plan keeps its own copy (or packed form) of the weights: changing or dropping the arrays
after prepare changes nothing (prepare another plan for other weights). Inout tensors (caches)
are updated in place: pass C-contiguous numpy arrays of their storage type.
"""
import ctypes
import json

import numpy as np

from . import _arrays
from ._lib import lib, enc, check, call_json, Tensor


def _eval_dim(expr, dims):
    """A declaration's shape entry: "t", "K/2", "H*D"-style "name*N", or a constant."""
    for op in ("/", "*"):
        if op in expr:
            name, k = expr.split(op)
            return dims[name] // int(k) if op == "/" else dims[name] * int(k)
    return int(expr) if expr.lstrip("-").isdigit() else dims[expr]


def _fill(t, name, arr, dtype):
    t.name = enc(name)
    t.dtype = enc(dtype)
    t.rank = arr.ndim
    for d in range(arr.ndim):
        t.shape[d] = arr.shape[d]
        t.strides[d] = arr.strides[d] // arr.itemsize if arr.itemsize else 0
    t.data = arr.ctypes.data if arr.size else None
    t.nbytes = arr.nbytes


class Backend:
    """A built-in backend: "reference", "avx512", "avx2" or "optimized" (the best this CPU runs)."""

    def __init__(self, name="optimized"):
        h = ctypes.c_void_p()
        check(lib.kcs_backend_open(enc(name), ctypes.byref(h)))
        self._h = h
        self.name = name

    def prepare(self, kernel, weights, dims, attrs=None, threads=1):
        """A Plan for `kernel` with `weights` (name -> array: exactly the declaration's weight
        tensors), the problem's `dims` and `attrs` (left out: the declared defaults)."""
        return Plan(self, kernel, weights, dims, attrs or {}, threads)

    def __del__(self):
        if getattr(self, "_h", None) and lib is not None:
            lib.kcs_backend_free(self._h)
            self._h = None


class Plan:
    """Weights prepared once by a Backend; run() takes every other tensor of the call."""

    def __init__(self, backend, kernel, weights, dims, attrs, threads):
        from . import declaration

        self._backend = backend  # a plan must not outlive its backend
        self.kernel = kernel
        self.decl = declaration(kernel)
        self.dims = dict(dims)
        self.attrs = {a["name"]: a["default"] for a in self.decl["attrs"]}
        self.attrs.update({k: str(v) for k, v in attrs.items()})
        self._h = None
        arr, keep = self._tensors(weights, self.dims)
        h = ctypes.c_void_p()
        problem = json.dumps({"dims": self.dims, "attrs": self.attrs})
        check(lib.kcs_plan_prepare(backend._h, enc(kernel), enc(problem), arr, len(keep), int(threads),
                                   ctypes.byref(h)))
        self._h = h

    def _dtype(self, td):
        return self.attrs[td["dtype_attr"]] if td.get("dtype_attr") else td["dtype"]

    def _tensors(self, named, dims):
        decl = {t["name"]: t for t in self.decl["tensors"]}
        keep = []
        arr = (Tensor * max(1, len(named)))()
        for i, (name, obj) in enumerate(named.items()):
            td = decl.get(name)
            dt = self._dtype(td) if td else ""
            a = _arrays.to_numpy(obj)
            if td:
                a = _arrays.as_storage(name, a, dt, None)
                if td["role"] != "in" and not a.flags.c_contiguous:
                    raise ValueError("inout tensor '%s' must be C-contiguous (it is updated in place)" % name)
            keep.append(a)
            _fill(arr[i], name, a, dt)
        return arr, keep

    def run(self, tensors, dims=None, tile=None, threads=1):
        """One call: `tensors` holds every input and inout tensor but the weights (inout ones are
        updated in place); returns the out tensors, allocated here, as numpy arrays (BF16 as
        kcs.NUMPY_BF16). `dims`: the dimensions that differ from the prepared ones. `tile`: a
        dict of knob values or "knob=v,..."."""
        call_dims = {**self.dims, **(dims or {})}
        outs = {}
        for td in self.decl["tensors"]:
            if td["role"] == "out" and td["name"] not in tensors:
                shape = tuple(_eval_dim(e, call_dims) for e in td["shape"])
                outs[td["name"]] = (np.zeros(shape, dtype=_arrays.STORAGE[self._dtype(td)]), self._dtype(td))
        arr, keep = self._tensors({**tensors, **{n: a for n, (a, _) in outs.items()}}, call_dims)
        if isinstance(tile, dict):
            tile = ",".join("%s=%d" % kv for kv in tile.items())
        check(lib.kcs_plan_run(self._h, enc(json.dumps(dims)) if dims else None, arr, len(keep), enc(tile),
                               int(threads)))
        return {n: _arrays.numpy_view(a, dt) for n, (a, dt) in outs.items()}

    def __del__(self):
        if getattr(self, "_h", None) and lib is not None:
            lib.kcs_plan_free(self._h)
            self._h = None
