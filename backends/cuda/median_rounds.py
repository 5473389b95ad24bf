"""Medians over the rounds of run_on_device.sh's timing files (kcs_cuda_bench and bench_triton.py
tables, several rounds a file): one row per kernel / shape with the median time us and frac.
Usage: python3 median_rounds.py FILE..."""
import re
import statistics
import sys


def rows(path):
    out = {}
    for line in open(path):
        m = re.match(r"^(\S.*?)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9]+)\s+([0-9.]+)\s+([0-9.]+)", line)
        if m and not line.startswith(("device", "round", "time us")):
            out.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(5))))
    return out


for path in sys.argv[1:]:
    print("## " + path)
    for name, v in rows(path).items():
        t = statistics.median(x[0] for x in v)
        f = statistics.median(x[1] for x in v)
        print("%-58s %9.2f %6.2f  (n=%d, %s)" % (name, t, f, len(v), " ".join("%.2f" % x[0] for x in v)))
