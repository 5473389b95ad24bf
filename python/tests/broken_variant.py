#!/usr/bin/python3
"""Runs a pytest example with its deliberately broken variant (KCS_EXAMPLE_BREAK=1) and checks
that it fails the way kcs must report it: pytest exits 1 and every regex in --expect appears in
its output (the output and element named, the repro line).
Usage: broken_variant.py EXAMPLE_DIR OUT_DIR --expect REGEX [--expect REGEX...] [-- PYTEST ARGS]"""
import argparse
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("example")
    ap.add_argument("out")
    ap.add_argument("--expect", action="append", default=[])
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    env = dict(os.environ, KCS_EXAMPLE_BREAK="1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", a.example, "--kcs-out", a.out,
           *extra]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout
    ok = p.returncode == 1
    missing = [e for e in a.expect if not re.search(e, out)]
    if not ok or missing:
        print(out[-6000:])
        print("broken variant: pytest exit %d (want 1); missing from its output: %s" % (p.returncode, missing))
        return 1
    fails = len(re.findall(r"^FAILED ", out, re.M))
    print("broken variant of %s failed as it must (%d failed tests); kcs said:" % (a.example, fails))
    m = re.search(r"^E\s+(.*on .*: failed)$(?:\n^E.*$){0,4}", out, re.M)
    print(m.group(0) if m else out[-1500:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
