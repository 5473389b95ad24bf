"""kcs from Python: a kernel's conformance cases as numpy / torch arrays, your outputs scored by
kcs's contracts, results files and reports as `kcs run` writes them.

    import kcs
    case = kcs.Case.open("q8.random.rows=4.n=17")
    codes, scale = my_q8(case.inputs["x"], **case.attrs)
    case.check({"codes": codes, "scale": scale})   # raises kcs.CheckFailure with kcs's message

A case outside the kernel's contract (case.outside_contract says why, e.g. NaN and Inf inputs) where
the outputs differ from the reference only there raises kcs.OutsideContract instead: neither a pass
nor a failure (the pytest plugin reports it as "outside contract").

kcs.Backend("optimized").prepare(kernel, weights, dims) gives a Plan that runs kcs's own kernels
with the weights prepared once (docs/plans.md).

With pytest (examples/pytest_numpy), `@kcs.cases("q8", tier="ci")` parametrises a test taking a
`kcs_case` fixture over the kernel's cases; see docs/validating-a-backend.md.
"""
import ctypes
import time

import numpy as np

from . import _arrays
from ._arrays import NUMPY_BF16, bf16_to_float32, float32_to_bf16_bits
from ._lib import KcsError, lib, enc, dec, check as _check, call_json
from ._plans import Backend, Plan

__all__ = ["Case", "Score", "Results", "Backend", "Plan", "CheckFailure", "OutsideContract", "KcsError", "kernels", "declaration", "cases_of",
           "cases", "data_dirs", "version", "bf16_to_float32", "float32_to_bf16_bits", "NUMPY_BF16"]


def version():
    return dec(lib.kcs_version())


def data_dirs():
    """{"catalog": DIR, "bundles": DIR}: where this kcs reads its case data."""
    return call_json(lib.kcs_data_dirs_json)


def kernels():
    return call_json(lib.kcs_kernels_json)


def declaration(kernel):
    """The kernel's declaration: tensors (role, dtype, shape, contract), attrs, knobs, tiles."""
    return call_json(lib.kcs_declaration_json, enc(kernel))


def cases_of(kernel, tier="ci", pattern=None):
    """The cases of `tier` (smoke < ci < nightly) whose id matches `pattern` ('*' wildcards)."""
    return call_json(lib.kcs_cases_json, enc(kernel), enc(tier), enc(pattern))


class CheckFailure(AssertionError):
    """A case's outputs broke their contract; str() is kcs's report (worst elements, repro)."""

    def __init__(self, score):
        super().__init__(score.text)
        self.score = score


class OutsideContract(Exception):
    """The case lies outside the kernel's contract and the outputs differ from the reference there
    only (verdict outside_contract_differs): not a failure, never a pass. str() says how they
    differ. Not an AssertionError, so that it is never mistaken for a failed check."""

    def __init__(self, score):
        super().__init__(score.text)
        self.score = score


class Score:
    """The verdict of one run, its checks with metrics and worst elements, and kcs's message."""

    def __init__(self, handle):
        self._h = ctypes.c_void_p(handle)
        self.verdict = dec(lib.kcs_score_verdict(self._h))
        self.reason = dec(lib.kcs_score_reason(self._h))
        self.repro = dec(lib.kcs_score_repro(self._h))
        self.text = dec(lib.kcs_score_text(self._h))
        data = call_json(lib.kcs_score_json, self._h)
        self.run = data["run"]
        self.checks = data["results"]  # each: output, contract, verdict, margin, message, metrics

    @property
    def passed(self):
        return self.verdict == "passed"

    @property
    def outside_contract(self):
        """True when the outputs differ from the reference only outside the kernel's contract."""
        return self.verdict == "outside_contract_differs"

    def __del__(self):
        if getattr(self, "_h", None) and lib is not None:
            lib.kcs_score_free(self._h)
            self._h = None

    def __repr__(self):
        return "<kcs.Score %s %s>" % (self.run["case"], self.verdict)


class Results:
    """Runs collected into a results file (`kcs report` and the drift baseline read it)."""

    def __init__(self, tier="ci", command=""):
        h = ctypes.c_void_p()
        _check(lib.kcs_results_new(enc(tier), enc(command), ctypes.byref(h)))
        self._h = h

    def add(self, score):
        _check(lib.kcs_results_add(self._h, score._h))

    def __len__(self):
        return lib.kcs_results_count(self._h)

    def write(self, path):
        _check(lib.kcs_results_write(self._h, enc(path)))

    def write_report(self, directory):
        """index.html and summary.md, as `kcs report --out DIR` writes them."""
        _check(lib.kcs_results_write_report(self._h, enc(directory)))

    def __del__(self):
        if getattr(self, "_h", None) and lib is not None:
            lib.kcs_results_free(self._h)
            self._h = None


# Where Case.check records its runs (the pytest plugin sets one per session).
_active_results = None


def _tile_dict(name):
    if not name or name == "default":
        return {}
    return {k: int(v) for k, v in (kv.split("=") for kv in name.split(","))}


class Case:
    """One conformance case: its problem (dims, attrs), inputs, expected outputs and scoring.

    `tile` is the tile configuration to honour (a dict of knob values; {} = the defaults) and
    `backend` the name runs are recorded under.
    """

    def __init__(self, handle, tile=None, backend="python", repro=None):
        self._h = ctypes.c_void_p(handle)
        info = call_json(lib.kcs_case_info_json, self._h)
        self.id = info["id"]
        self.kernel = info["kernel"]
        self.tier = info["tier"]
        self.scenario = info["scenario"]
        self.dims = info["dims"]
        self.attrs = info["attrs"]
        self.expect_error = info["expect_error"]  # non-empty: the call must be refused with this text
        # Non-empty: the case's inputs lie outside the kernel's contract (why); in_contract_dim names
        # the dimension whose slices with all-finite inputs stay inside it (empty: the whole case).
        self.outside_contract = info.get("outside_contract", "")
        self.in_contract_dim = info.get("in_contract_dim", "")
        self.tiles = info["tiles"]
        self.tile_name = tile or "default"
        self.tile = _tile_dict(self.tile_name)
        self.backend = backend
        self.repro = repro
        self._inputs = self._expected = None

    @classmethod
    def open(cls, case_id, tile=None, backend="python", repro=None):
        h = ctypes.c_void_p()
        _check(lib.kcs_case_open(enc(case_id), ctypes.byref(h)))
        return cls(h.value, tile, backend, repro)

    def __del__(self):
        if getattr(self, "_h", None) and lib is not None:
            lib.kcs_case_free(self._h)
            self._h = None

    def __repr__(self):
        return "<kcs.Case %s tile=%s>" % (self.id, self.tile_name)

    def knob(self, name):
        """The value of a tile knob for this run (its declared default when the tile leaves it)."""
        if name in self.tile:
            return self.tile[name]
        for k in declaration(self.kernel)["knobs"]:
            if k["name"] == name:
                return k["default"]
        raise KeyError("%s declares no knob '%s'" % (self.kernel, name))

    def _storage(self, which):
        out = {}
        for i in range(lib.kcs_case_tensor_count(self._h, which)):
            t = _lib_tensor(self._h, which, i)
            dt = dec(t.dtype)
            shape = tuple(t.shape[d] for d in range(t.rank))
            np_t = np.dtype(_arrays.STORAGE[dt])
            buf = ctypes.string_at(t.data, t.nbytes) if t.nbytes else b""
            out[dec(t.name)] = (np.frombuffer(buf, dtype=np_t).reshape(shape).copy(), dt)
        return out

    @property
    def dtypes(self):
        """kcs dtype name of every tensor of the call, inputs and outputs."""
        return {n: dt for n, (_, dt) in {**self._store(0), **self._store(1)}.items()}

    def _store(self, which):
        if which == 0:
            if self._inputs is None:
                self._inputs = self._storage(0)
            return self._inputs
        if self._expected is None:
            self._expected = self._storage(1)
        return self._expected

    @property
    def inputs(self):
        """Inputs (and inout tensors before the call) as fresh numpy arrays, float16 as
        np.float16 and BF16 as kcs.NUMPY_BF16 (ml_dtypes.bfloat16, or uint16 bit patterns)."""
        return {n: _arrays.numpy_view(a.copy(), dt) for n, (a, dt) in self._store(0).items()}

    @property
    def expected(self):
        """Expected outputs (and inout tensors after the call), like `inputs`."""
        return {n: _arrays.numpy_view(a.copy(), dt) for n, (a, dt) in self._store(1).items()}

    def inputs_storage(self):
        """Inputs in kcs's storage encoding (BF16/FP16 as uint16 bit patterns)."""
        return {n: a.copy() for n, (a, _) in self._store(0).items()}

    def torch_inputs(self, device=None):
        """Inputs as torch tensors (torch.bfloat16 / torch.float16), on `device` when given."""
        return {n: _arrays.to_torch(a, dt, device) for n, (a, dt) in self._store(0).items()}

    def score(self, outputs, seconds=0.0):
        """Scores `outputs` (name -> numpy array, torch tensor on any device, or DLPack object);
        records the run in the active results. Never raises for a failed check."""
        decl_dt = {n: dt for n, (_, dt) in self._store(1).items()} if not self.expect_error else {}
        keep, arr = [], (_lib_tensor_t() * max(1, len(outputs)))()
        for i, (name, obj) in enumerate(outputs.items()):
            a = _arrays.to_numpy(obj)
            if name in decl_dt:
                a = _arrays.as_storage(name, a, decl_dt[name], None)
            keep.append(a)
            t = arr[i]
            t.name = enc(name)
            t.dtype = enc(decl_dt.get(name, ""))
            t.rank = a.ndim
            for d in range(a.ndim):
                t.shape[d] = a.shape[d]
                t.strides[d] = a.strides[d] // a.itemsize if a.itemsize else 0
            t.data = a.ctypes.data if a.size else None
            t.nbytes = a.nbytes
        h = ctypes.c_void_p()
        _check(lib.kcs_case_score(self._h, arr, len(outputs), enc(self.backend), enc(self.tile_name),
                                  enc(self.repro), float(seconds), ctypes.byref(h)))
        return self._record(Score(h.value))

    def score_rejection(self, message):
        h = ctypes.c_void_p()
        _check(lib.kcs_case_score_rejection(self._h, enc(message), enc(self.backend), enc(self.tile_name),
                                            enc(self.repro), ctypes.byref(h)))
        return self._record(Score(h.value))

    def _record(self, score):
        if _active_results is not None:
            _active_results.add(score)
        return score

    def check(self, outputs, seconds=0.0):
        """Scores `outputs`; raises CheckFailure carrying kcs's message when a check fails, and
        OutsideContract when they differ from the reference only outside the kernel's contract."""
        s = self.score(outputs, seconds)
        if s.outside_contract:
            raise OutsideContract(s)
        if not s.passed:
            raise CheckFailure(s)
        return s

    def check_rejected(self, error):
        """The implementation refused the call with `error` (an exception or its text): passes when
        the case expects that error, else raises CheckFailure."""
        s = self.score_rejection(str(error))
        if not s.passed:
            raise CheckFailure(s)
        return s

    def check_call(self, fn, *args, **kwargs):
        """Calls fn(*args, **kwargs) -> {output name: array} and checks what it returns, or the
        exception it raises when the case expects the call to be refused."""
        t0 = time.perf_counter()
        try:
            outs = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - the refusal is what is scored
            if self.expect_error:
                return self.check_rejected(e)
            s = self.score_rejection("%s: %s" % (type(e).__name__, e))
            raise CheckFailure(s) from e
        return self.check(outs, time.perf_counter() - t0)


def _lib_tensor_t():
    from ._lib import Tensor

    return Tensor


def _lib_tensor(h, which, i):
    t = _lib_tensor_t()()
    _check(lib.kcs_case_tensor(h, which, i, ctypes.byref(t)))
    return t


def cases(kernel, tier="ci", pattern=None, tiles="default", backend=None):
    """pytest marker: parametrise a test's `kcs_case` fixture over the cases of `kernel` of `tier`
    matching `pattern`, with the default tile ("default") or every tile of the catalog ("all").
    The kcs pytest plugin (kcs.pytest_plugin) must be loaded: `pytest_plugins = ["kcs.pytest_plugin"]`."""
    import pytest

    return pytest.mark.kcs_cases(kernel=kernel, tier=tier, pattern=pattern, tiles=tiles, backend=backend)
