"""Plans through the Python package (kcs.Backend / kcs.Plan over the host C API, docs/plans.md):
outputs scored by the cases' contracts, weights kept as prepared, calls of another size, and
refused calls that name the problem."""
import numpy as np
import pytest

import kcs


def first_case(kernel, pattern):
    ok = [c for c in kcs.cases_of(kernel, "smoke", pattern) if not c["expect_error"]]
    return kcs.Case.open(ok[0]["id"], backend="plan_test")


def weight_names(kernel):
    return [t["name"] for t in kcs.declaration(kernel)["tensors"] if t["weight"]]


@pytest.fixture(params=["optimized", "reference"])
def backend(request):
    return kcs.Backend(request.param)


def split(case):
    ins = case.inputs_storage()
    return {n: ins.pop(n) for n in weight_names(case.kernel)}, ins


def test_gemm_plan_passes_repeats_and_keeps_its_weights(backend):
    case = first_case("gemm_bf16", "gemm_bf16.batched*")
    w, io = split(case)
    plan = backend.prepare("gemm_bf16", w, case.dims, case.attrs)
    y = plan.run(io)["y"]
    assert case.check({"y": y}).passed
    assert plan.run(io, threads=2)["y"].tobytes() == y.tobytes()
    # The caller's weights changed after prepare: the plan computes with the ones it was given.
    w["w"][...] = 0
    assert plan.run(io)["y"].tobytes() == y.tobytes(), "the plan read the caller's weights after prepare"
    # A plan prepared with the changed weights computes with them.
    y0 = backend.prepare("gemm_bf16", w, case.dims, case.attrs).run(io)["y"]
    assert not np.any(y0.view(np.uint16)) and np.any(y.view(np.uint16))


def test_gemm_plan_call_of_another_size(backend):
    case = first_case("gemm_bf16", "gemm_bf16.batched*")
    w, io = split(case)
    plan = backend.prepare("gemm_bf16", w, case.dims, case.attrs)
    y = plan.run(io)["y"]
    y1 = plan.run({"a": io["a"][:, :1]}, dims={"M": 1}, tile={"m_tile": 1})["y"]
    assert y1.tobytes() == np.ascontiguousarray(y[:, :1]).tobytes()


def test_refused_calls_name_the_problem(backend):
    case = first_case("gemm_bf16", "gemm_bf16.batched*")
    w, io = split(case)
    plan = backend.prepare("gemm_bf16", w, case.dims, case.attrs)
    with pytest.raises(kcs.KcsError, match="dimension K .* differs from the plan's"):
        plan.run(io, dims={"K": 7})
    with pytest.raises(kcs.KcsError, match="'w' is a weight"):
        plan.run({**io, **w})
    with pytest.raises(kcs.KcsError, match="'a' is not a weight"):
        backend.prepare("gemm_bf16", {**w, **io}, case.dims, case.attrs)
    with pytest.raises(kcs.KcsError, match="tile knob m_tile = -7 is out of range"):
        plan.run(io, tile="m_tile=-7")
    with pytest.raises(kcs.KcsError, match="unknown backend 'nope'"):
        kcs.Backend("nope")


def test_mla_prolog_plan_updates_caches_in_place():
    case = first_case("mla_prolog", "*")
    w, io = split(case)
    plan = kcs.Backend("optimized").prepare("mla_prolog", w, case.dims, case.attrs)
    outs = plan.run(io)
    inouts = [t["name"] for t in kcs.declaration("mla_prolog")["tensors"] if t["role"] == "inout"]
    assert case.check({**outs, **{n: io[n] for n in inouts}}).passed
