"""Out-of-tree use of the installed Python package: the package directory is given on the command
line (no PYTHONPATH, no KCS_* variables). Scores the q8 smoke cases' expected outputs (must
pass) and a broken copy (must fail with kcs's message), and writes results + report.
Usage: python3 score_with_python.py PYTHON_DIR PREFIX OUT_DIR"""
import os
import sys

sys.path.insert(0, sys.argv[1])
import kcs  # noqa: E402

prefix, out = sys.argv[2], sys.argv[3]
dirs = kcs.data_dirs()
print("kcs", kcs.version(), "from", os.path.dirname(kcs.__file__), "data:", dirs)
assert dirs["catalog"].startswith(prefix), "kcs reads its data from outside the install prefix"
try:
    kcs.Case.open("q8.no_such_case")
    raise SystemExit("an unknown case must raise kcs.KcsError")
except kcs.KcsError as e:
    print("unknown case ->", e)
res = kcs.Results("smoke", "score_with_python.py")
kcs._active_results = res
n = caught = 0
for c in kcs.cases_of("q8", "smoke"):
    case = kcs.Case.open(c["id"], backend="python_consumer")
    exp = case.expected
    case.check(exp)
    exp["codes"][0, 0] = 126 if exp["codes"][0, 0] == 127 else exp["codes"][0, 0] + 1
    try:
        case.check(exp)
    except kcs.CheckFailure as e:
        caught += "[0, 0]" in str(e)
        if n == 0:
            print(e)
    n += 1
res.write(os.path.join(out, "results.jsonl"))
res.write_report(out)
print("Python: %d q8 smoke cases passed; %d of %d broken copies caught naming [0, 0]" % (n, caught, n))
sys.exit(0 if n and caught == n else 1)
