"""pytest plugin of kcs: load it with `pytest_plugins = ["kcs.pytest_plugin"]` in a conftest.py
(or `-p kcs.pytest_plugin`).

    @kcs.cases("q8", tier="ci")
    def test_q8(kcs_case):
        kcs_case.check_call(my_q8, **kcs_case.inputs)

parametrises test_q8 over the cases (ids = case ids, `-k` selects), fails a case with kcs's own
message, and writes <--kcs-out>/results.jsonl, index.html and summary.md at the end of the session.
A case that differs from the reference only outside the kernel's contract (kcs.OutsideContract) is
reported as "outside contract" (letter O): neither passed nor failed, listed at the end.
Options: --kcs-tier (overrides every marker's tier), --kcs-out DIR (default ./kcs-results),
--kcs-backend NAME (the backend name in results; default the marker's, else the test's module).
"""
import os
import shlex
import sys

import pytest

import kcs


def pytest_addoption(parser):
    g = parser.getgroup("kcs")
    g.addoption("--kcs-tier", default=None, choices=["smoke", "ci", "nightly"],
                help="run every @kcs.cases test over this tier instead of the marker's")
    g.addoption("--kcs-out", default="kcs-results", help="directory of results.jsonl and the HTML report")
    g.addoption("--kcs-backend", default=None, help="backend name recorded in the results")


def pytest_configure(config):
    config.addinivalue_line("markers", "kcs_cases(kernel, tier, pattern, tiles, backend): "
                                       "parametrise kcs_case over a kernel's conformance cases")
    config._kcs_results = None
    config._kcs_tiers = set()


def pytest_generate_tests(metafunc):
    m = metafunc.definition.get_closest_marker("kcs_cases")
    if m is None or "kcs_case" not in metafunc.fixturenames:
        return
    kw = dict(m.kwargs)
    if m.args:
        kw.setdefault("kernel", m.args[0])
    tier = metafunc.config.getoption("kcs_tier") or kw.get("tier") or "ci"
    metafunc.config._kcs_tiers.add(tier)
    params, ids = [], []
    decl = kcs.declaration(kw["kernel"])
    tiles = decl["tiles"][:1] if kw.get("tiles", "default") == "default" else decl["tiles"]
    if kw.get("tiles") not in (None, "default", "all"):
        tiles = list(kw["tiles"])
    for c in kcs.cases_of(kw["kernel"], tier, kw.get("pattern")):
        for i, t in enumerate(tiles):
            params.append((c["id"], t, kw.get("backend")))
            ids.append(c["id"] if len(tiles) == 1 else "%s@%s" % (c["id"], t))
    metafunc.parametrize("kcs_case", params, ids=ids, indirect=True)


def _repro(request):
    """A command that reruns this one test from anywhere: absolute paths, the package's path."""
    cfg = request.config
    node = os.path.join(str(cfg.rootpath), request.node.nodeid)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(kcs.__file__)))
    env = ["PYTHONPATH=" + pkg]
    for k in sorted(os.environ):
        if k.startswith("KCS_") and k not in ("KCS_LIBRARY",):
            env.append("%s=%s" % (k, os.environ[k]))
    cmd = env + [sys.executable, "-m", "pytest", node]
    if cfg.getoption("kcs_tier"):
        cmd += ["--kcs-tier", cfg.getoption("kcs_tier")]
    return " ".join(shlex.quote(c) for c in cmd)


@pytest.fixture
def kcs_case(request):
    case_id, tile, backend = request.param
    backend = request.config.getoption("kcs_backend") or backend or request.node.module.__name__.split(".")[-1]
    cfg = request.config
    if cfg._kcs_results is None:
        tiers = cfg._kcs_tiers or {"ci"}
        tier = max(tiers, key=["smoke", "ci", "nightly"].index)
        cfg._kcs_results = kcs.Results(tier, " ".join(shlex.quote(a) for a in [sys.executable, "-m", "pytest"] +
                                                      list(cfg.invocation_params.args)))
    kcs._active_results = cfg._kcs_results
    case = kcs.Case.open(case_id, tile=tile, backend=backend, repro=_repro(request))
    yield case
    kcs._active_results = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(kcs.OutsideContract):
        # Not a pass, not a failure: a skip-like outcome with its own category (below).
        first = str(call.excinfo.value).strip().splitlines()
        rep.outcome = "skipped"
        rep.kcs_outside = "\n".join(first[:2])
        rep.longrepr = (str(item.path), item.location[1] or 0, "kcs: OUTSIDE THE CONTRACT, differs: " + rep.kcs_outside)
        item.config._kcs_outside = getattr(item.config, "_kcs_outside", []) + [(item.nodeid, rep.kcs_outside)]


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report, config):
    if getattr(report, "kcs_outside", None) is not None and report.when == "call":
        return "outside contract", "O", ("OUTSIDE CONTRACT", {"yellow": True})
    return None


def pytest_sessionfinish(session):
    cfg = session.config
    res = getattr(cfg, "_kcs_results", None)
    if res is None or len(res) == 0:
        return
    out = os.path.abspath(cfg.getoption("kcs_out"))
    res.write(os.path.join(out, "results.jsonl"))
    res.write_report(out)
    cfg._kcs_written = out


def pytest_terminal_summary(terminalreporter, config):
    outside = getattr(config, "_kcs_outside", [])
    if outside:
        terminalreporter.section("kcs: outside the contract (differ; neither passed nor failed)", yellow=True)
        for nodeid, why in outside[:50]:
            terminalreporter.write_line("OUTSIDE CONTRACT %s: %s" % (nodeid, why.splitlines()[-1]))
        if len(outside) > 50:
            terminalreporter.write_line("... and %d more (see the results file)" % (len(outside) - 50))
    out = getattr(config, "_kcs_written", None)
    if out:
        terminalreporter.write_line("kcs: %d runs; results %s/results.jsonl, report %s/index.html" % (
            len(config._kcs_results), out, out))
