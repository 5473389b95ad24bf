"""ctypes declarations of libkcs's host C API (include/kcs/kcs.h), and where libkcs is found."""
import ctypes
import json
import os
import pathlib

MAX_RANK = 8
API_VERSION = 1
INPUTS, EXPECTED = 0, 1
ROLES = {0: "in", 1: "out", 2: "inout"}


class KcsError(RuntimeError):
    """A kcs call failed (unknown case, a tensor of the wrong dtype or shape, a bad catalog...)."""


class Tensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p), ("role", ctypes.c_int32),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_RANK),
                ("strides", ctypes.c_int64 * MAX_RANK), ("data", ctypes.c_void_p), ("nbytes", ctypes.c_uint64)]


class Check(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("contract", ctypes.c_char_p), ("passed", ctypes.c_int32),
                ("margin", ctypes.c_double), ("message", ctypes.c_char_p), ("numel", ctypes.c_int64),
                ("mismatches", ctypes.c_int64), ("max_ulp", ctypes.c_int64), ("max_abs", ctypes.c_double),
                ("max_rel", ctypes.c_double)]


def _candidates():
    """$KCS_LIBRARY, then the path the build or the install recorded beside this package."""
    env = os.environ.get("KCS_LIBRARY")
    if env:
        yield pathlib.Path(env)
    here = pathlib.Path(__file__).resolve().parent
    try:
        from . import _libpath  # written by CMake: the build tree's or the install's libkcs
        p = pathlib.Path(_libpath.LIBKCS)
        yield p if p.is_absolute() else (here / p).resolve()
    except ImportError:
        pass


def _load():
    tried = []
    for p in _candidates():
        tried.append(str(p))
        if p.exists():
            return ctypes.CDLL(str(p))
    raise KcsError("libkcs.so not found (tried: %s). Use the package from a kcs build "
                   "(PYTHONPATH=<build>/python) or install, or set KCS_LIBRARY" % (", ".join(tried) or "nothing"))


lib = _load()
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_sigs = {
    "kcs_api_version": (ctypes.c_int32, []),
    "kcs_version": (_S, []),
    "kcs_last_error": (_S, []),
    "kcs_free_string": (None, [_P]),
    "kcs_data_dirs_json": (ctypes.c_int, [ctypes.POINTER(_P)]),
    "kcs_kernels_json": (ctypes.c_int, [ctypes.POINTER(_P)]),
    "kcs_declaration_json": (ctypes.c_int, [_S, ctypes.POINTER(_P)]),
    "kcs_cases_json": (ctypes.c_int, [_S, _S, _S, ctypes.POINTER(_P)]),
    "kcs_case_open": (ctypes.c_int, [_S, ctypes.POINTER(_P)]),
    "kcs_case_free": (None, [_P]),
    "kcs_case_info_json": (ctypes.c_int, [_P, ctypes.POINTER(_P)]),
    "kcs_case_tensor_count": (ctypes.c_int32, [_P, ctypes.c_int32]),
    "kcs_case_tensor": (ctypes.c_int, [_P, ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(Tensor)]),
    "kcs_case_score": (ctypes.c_int, [_P, ctypes.POINTER(Tensor), ctypes.c_int32, _S, _S, _S, ctypes.c_double,
                                      ctypes.POINTER(_P)]),
    "kcs_case_score_rejection": (ctypes.c_int, [_P, _S, _S, _S, _S, ctypes.POINTER(_P)]),
    "kcs_score_free": (None, [_P]),
    "kcs_score_verdict": (_S, [_P]),
    "kcs_score_reason": (_S, [_P]),
    "kcs_score_repro": (_S, [_P]),
    "kcs_score_text": (_S, [_P]),
    "kcs_score_check_count": (ctypes.c_int32, [_P]),
    "kcs_score_check": (ctypes.c_int, [_P, ctypes.c_int32, ctypes.POINTER(Check)]),
    "kcs_score_json": (ctypes.c_int, [_P, ctypes.POINTER(_P)]),
    "kcs_results_new": (ctypes.c_int, [_S, _S, ctypes.POINTER(_P)]),
    "kcs_results_free": (None, [_P]),
    "kcs_results_add": (ctypes.c_int, [_P, _P]),
    "kcs_results_count": (ctypes.c_int32, [_P]),
    "kcs_results_write": (ctypes.c_int, [_P, _S]),
    "kcs_results_write_report": (ctypes.c_int, [_P, _S]),
    "kcs_backend_open": (ctypes.c_int, [_S, ctypes.POINTER(_P)]),
    "kcs_backend_free": (None, [_P]),
    "kcs_plan_prepare": (ctypes.c_int, [_P, _S, _S, ctypes.POINTER(Tensor), ctypes.c_int32, ctypes.c_int32,
                                        ctypes.POINTER(_P)]),
    "kcs_plan_run": (ctypes.c_int, [_P, _S, ctypes.POINTER(Tensor), ctypes.c_int32, _S, ctypes.c_int32]),
    "kcs_plan_free": (None, [_P]),
}
for _name, (_res, _args) in _sigs.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

if lib.kcs_api_version() != API_VERSION:
    raise KcsError("libkcs API version %d, this package speaks %d" % (lib.kcs_api_version(), API_VERSION))


def enc(s):
    return None if s is None else str(s).encode()


def dec(b):
    return None if b is None else b.decode()


def check(status):
    if status != 0:
        raise KcsError(dec(lib.kcs_last_error()))


def call_json(fn, *args):
    out = _P()
    check(fn(*args, ctypes.byref(out)))
    try:
        return json.loads(ctypes.string_at(out.value).decode())
    finally:
        lib.kcs_free_string(out)
