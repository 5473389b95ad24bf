"""The host C API through the Python package: bad input gives a clear error naming the problem
(never a crash, never an exception through the C ABI), views and dtypes arrive with their bits."""
import ctypes
import json

import numpy as np
import pytest

import kcs
from kcs._lib import lib, Tensor

CASE = "q8.random.rows=4.n=17"


@pytest.fixture
def case():
    return kcs.Case.open(CASE, backend="api_test")


def test_expected_outputs_pass_and_one_flipped_code_fails(case):
    out = case.expected
    assert case.check(out).passed
    out["codes"][2, 5] ^= 1
    with pytest.raises(kcs.CheckFailure, match=r"codes\[2, 5\]"):
        case.check(out)


def test_unknown_names_are_errors_naming_them():
    with pytest.raises(kcs.KcsError, match="unknown case 'q8.nope'"):
        kcs.Case.open("q8.nope")
    with pytest.raises(kcs.KcsError, match="unknown kernel 'nope'"):
        kcs.declaration("nope")
    with pytest.raises(kcs.KcsError, match="unknown tier 'weekly'"):
        kcs.cases_of("q8", "weekly")


def test_wrong_dtype_shape_or_name_is_refused(case):
    out = case.expected
    with pytest.raises(TypeError, match="output 'codes' is float32"):
        case.check({**out, "codes": out["codes"].astype(np.float32)})
    with pytest.raises(kcs.KcsError, match=r"tensor 'codes': shape \[4, 16\], expected \[4, 17\]"):
        case.check({**out, "codes": out["codes"][:, :16]})
    with pytest.raises(kcs.KcsError, match="output 'scale' of q8 missing"):
        case.check({"codes": out["codes"]})
    with pytest.raises(kcs.KcsError, match="tensor 'y' is not declared by q8"):
        case.check({**out, "y": out["codes"]})
    with pytest.raises(kcs.KcsError, match="'x' is an input of q8"):
        case.check({**out, "x": case.inputs["x"]})


def test_null_handles_and_pointers_are_status_values():
    h = ctypes.c_void_p()
    assert lib.kcs_case_open(None, ctypes.byref(h)) == 1
    assert b"case_id is NULL" in lib.kcs_last_error()
    assert lib.kcs_case_score(None, None, 0, None, None, None, 0.0, ctypes.byref(h)) == 1
    assert lib.kcs_case_tensor(None, 0, 0, ctypes.byref(Tensor())) == 1
    assert lib.kcs_results_write(None, b"/tmp/x.json") == 1
    assert lib.kcs_score_verdict(None) == b""


def test_strided_and_reversed_views_are_read_by_their_strides(case):
    out = case.expected
    wide = np.zeros((4, 34), np.int8)
    wide[:, ::2] = out["codes"]
    assert case.check({"codes": wide[:, ::2], "scale": out["scale"]}).passed
    rev = out["codes"][::-1].copy()
    assert case.check({"codes": rev[::-1], "scale": out["scale"]}).passed


def test_bf16_and_fp16_keep_their_bits():
    c = kcs.Case.open("q8.random.rows=1.n=15.x_dtype=bfloat16.scale_dtype=float16")
    x = c.inputs_storage()["x"]
    assert x.dtype == np.uint16
    f = kcs.bf16_to_float32(x)
    assert np.array_equal(kcs.float32_to_bf16_bits(f), x)
    out = c.expected
    assert out["scale"].dtype == np.float16
    assert c.check({"codes": out["codes"], "scale": out["scale"].view(np.uint16)}).passed


def test_torch_tensors_are_scored_with_their_bits():
    torch = pytest.importorskip("torch")
    c = kcs.Case.open("rmsnorm.pypto.rows=3.n=17")
    y = c.expected["y"]
    t = torch.from_numpy(np.asarray(y).view(np.int16)).view(torch.bfloat16)
    assert c.check({"y": t}).passed
    assert c.torch_inputs()["x"].dtype == torch.bfloat16


def test_rejection_passes_only_with_the_expected_text():
    cid = [x["id"] for x in kcs.cases_of("q8", "ci") if x["expect_error"]][0]
    c = kcs.Case.open(cid)
    assert c.check_rejected(ValueError("amax below 127*2^-126 here")).passed
    with pytest.raises(kcs.CheckFailure, match="unexpected message"):
        c.check_rejected("something else")
    with pytest.raises(kcs.CheckFailure, match="accepted an input that must be rejected"):
        c.check({})


def test_results_file_is_what_kcs_report_reads(tmp_path, case):
    r = kcs.Results("smoke", "test")
    r.add(case.score(case.expected))
    r.write(str(tmp_path / "results.jsonl"))
    r.write_report(str(tmp_path))
    import json

    # JSON Lines, as kcs run writes them (docs/results.md): header, one line per run, end line.
    lines = [json.loads(l) for l in (tmp_path / "results.jsonl").read_text().splitlines()]
    runs = [j for j in lines if "case" in j]
    assert "kcs_results" in lines[0] and lines[-1] == {"end": {"runs": 1}}
    assert len(runs) == 1 and runs[0]["case"] == CASE and runs[0]["verdict"] == "passed"
    assert (tmp_path / "index.html").stat().st_size > 1000


def _nan_inf_case():
    ids = [c["id"] for c in kcs.cases_of("q8", "ci", "q8.nan_inf.*x_dtype=float32")]
    return kcs.Case.open(ids[0], backend="api_test")


def _flushed(case, leak=False):
    """The expected outputs with scale 0 on every row with a NaN or Inf input (and the next row)."""
    out = case.expected
    bad = ~np.isfinite(case.inputs["x"]).all(axis=1)
    rows = np.flatnonzero(bad)
    out["scale"][rows] = 0
    if leak:
        nxt = rows[rows + 1 < len(bad)] + 1
        out["scale"][nxt[~bad[nxt]]] = 0
    return out


def test_a_difference_outside_the_contract_is_neither_a_pass_nor_a_failure():
    case = _nan_inf_case()
    assert "NaN and Inf inputs" in case.outside_contract and case.in_contract_dim == "rows"
    assert case.check(case.expected).passed
    with pytest.raises(kcs.OutsideContract, match=r"outside the contract \(NaN and Inf inputs") as e:
        case.check(_flushed(case))
    assert not isinstance(e.value, AssertionError)
    assert e.value.score.verdict == "outside_contract_differs" and not e.value.score.passed
    assert "scale" in str(e.value)
    # A finite row that differs is inside the contract: an ordinary failure.
    with pytest.raises(kcs.CheckFailure, match=r"inside the contract: the rows slices whose inputs are all finite"):
        case.check(_flushed(case, leak=True))


def test_pytest_plugin_reports_outside_contract_apart(tmp_path):
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text('pytest_plugins = ["kcs.pytest_plugin"]\n')
    (tmp_path / "test_flush.py").write_text(
        "import numpy as np\nimport kcs\n\n"
        "@kcs.cases('q8', tier='ci', pattern='q8.nan_inf.*x_dtype=float32')\n"
        "def test_flush(kcs_case):\n"
        "    out = kcs_case.expected\n"
        "    out['scale'][~np.isfinite(kcs_case.inputs['x'].astype(np.float32)).all(axis=1)] = 0\n"
        "    kcs_case.check(out)\n")
    # --rootdir and cwd pinned: node ids are relative to the rootdir, which pytest otherwise takes from
    # whatever ini file lies above tmp_path.
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                        str(tmp_path), "--kcs-out", str(tmp_path / "out")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
    n = len(kcs.cases_of("q8", "ci", "q8.nan_inf.*x_dtype=float32"))
    assert p.returncode == 0, p.stdout
    assert "%d outside contract" % n in p.stdout, p.stdout
    assert "passed" not in p.stdout.splitlines()[-1] and "failed" not in p.stdout.splitlines()[-1], p.stdout
    assert "OUTSIDE CONTRACT test_flush.py::test_flush[q8.nan_inf." in p.stdout, p.stdout
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()[1:-1]]
    assert [r["verdict"] for r in lines] == ["outside_contract_differs"] * n
