#!/usr/bin/python3
"""Performance table from Google Benchmark JSON files (--benchmark_out=F --benchmark_out_format=json).

    bench/report.py reports/bench/*.json --out reports/bench     -> perf.md + perf.html

Every kcs bench names its rows <family>/<variant>:<impl>/<shape...>/threads:T[/real_time]
(e.g. gemm_i8/packed:avx512/m:1/k:1536/n:8192/threads:2); the oneDNN peer uses impl "onednn"
with the same family and shape. One table row per (family, shape, variant, impl, threads):
  time            median over repetitions (Google Benchmark's median aggregate when present)
  frac_of_limit   limit time / time, both limits measured in the same process (1 = at the limit)
  vs reference    reference time (same family and shape, any variant, 1 thread) / time
  vs oneDNN       oneDNN time (same family, shape and threads) / time: > 1 means kcs is faster
Only the standard library: runs on any python3.
"""
import argparse
import html
import json
import os
import re
import statistics
import sys

REF_IMPLS = {"reference", "ref"}
PEER_IMPLS = {"onednn"}


def parse_name(name):
    parts = [p for p in name.split("/") if p not in ("real_time", "process_time") and not p.startswith("iterations:")]
    threads = 1
    if parts and parts[-1].startswith("threads:"):
        threads = int(parts.pop()[len("threads:"):])
    variant = impl = None
    for i, p in enumerate(parts):
        m = re.fullmatch(r"([A-Za-z_][\w]*):([A-Za-z_][\w]*)", p)
        if m and not re.fullmatch(r"[A-Za-z_]+:\d+", p):
            variant, impl = m.group(1), m.group(2)
            return "/".join(parts[:i]), "/".join(parts[i + 1:]), variant, impl, threads
        if p == "ref":  # gemm_i8/ref/...
            return "/".join(parts[:i]), "/".join(parts[i + 1:]), "ref", "reference", threads
    return None


def load(paths):
    rows = {}     # key -> list of real times (ns) and counters
    limits = []   # (file, name, counters)
    contexts = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        ctx = doc.get("context", {})
        contexts.append((os.path.basename(path), ctx))
        have_median = any(b.get("aggregate_name") == "median" for b in doc.get("benchmarks", []))
        for b in doc.get("benchmarks", []):
            name = b.get("run_name") or b["name"]
            if name.startswith("limits/"):
                if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                    continue
                limits.append((os.path.basename(path), name, {k: b[k] for k in ("read_gbs", "fma_gflops", "vnni_gops", "bf16_gflops") if k in b}))
                continue
            if b.get("error_occurred") or "skipped" in str(b.get("label", "")):
                continue
            if have_median and b.get("run_type") != "aggregate":
                continue
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            parsed = parse_name(name)
            if not parsed:
                continue
            unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            rows.setdefault(parsed, []).append((b["real_time"] * unit, b.get("frac_of_limit")))
    table = {}
    for key, vals in rows.items():
        t = statistics.median(v[0] for v in vals)
        fr = [v[1] for v in vals if v[1] is not None]
        table[key] = (t, statistics.median(fr) if fr else None)
    return table, limits, contexts


def fmt_time(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def build_rows(table):
    out = []
    for (family, shape, variant, impl, threads), (t, frac) in sorted(table.items()):
        if impl in PEER_IMPLS:
            continue
        ref = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i in REF_IMPLS and th == 1]
        peer = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i in PEER_IMPLS and th == threads]
        out.append({
            "kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
            "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}",
            "vs_reference": "" if not ref or impl in REF_IMPLS else f"{min(ref) / t:.1f}x",
            "onednn": fmt_time(min(peer)) if peer else "",
            "vs_onednn": f"{min(peer) / t:.2f}" if peer else "",
        })
    # Peer rows too, so their own frac_of_limit is visible.
    for (family, shape, variant, impl, threads), (t, frac) in sorted(table.items()):
        if impl in PEER_IMPLS:
            out.append({"kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
                        "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}",
                        "vs_reference": "", "onednn": "", "vs_onednn": ""})
    return out


COLS = [("kernel", "kernel"), ("shape", "shape"), ("variant", "variant"), ("impl", "impl"), ("threads", "threads"),
        ("time", "time (median)"), ("frac_of_limit", "frac_of_limit"), ("vs_reference", "vs reference"),
        ("onednn", "oneDNN time"), ("vs_onednn", "oneDNN time / time")]

README = ("frac_of_limit = limit time / time with the limits (read bandwidth, VNNI / BF16 / FMA peaks) measured in "
          "the same process: 1.0 is the machine's limit, and a target 'within 1.3x of the limit' means >= 0.77. "
          "Times are medians of the repetitions; on a shared VM compare ratios from one run, never absolute "
          "times across runs.")


def markdown(rows, limits, contexts):
    lines = ["# kcs performance", "", README, ""]
    for name, ctx in contexts:
        lines.append(f"- `{name}`: {ctx.get('date', '')}, {ctx.get('kcs_cpu', ctx.get('host_name', ''))}, "
                     f"load {ctx.get('load_avg', '')}")
    lines += ["", "## Limits measured in each run", "", "| file | probe | read GB/s | FMA GFLOP/s | VNNI GOP/s | BF16 GFLOP/s |",
              "|---|---|---|---|---|---|"]
    for f, n, c in limits:
        lines.append(f"| {f} | {n} | " + " | ".join(f"{c.get(k, 0):.1f}" for k in ("read_gbs", "fma_gflops", "vnni_gops", "bf16_gflops")) + " |")
    lines += ["", "## Kernels", "", "| " + " | ".join(h for _, h in COLS) + " |", "|" + "---|" * len(COLS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]) for k, _ in COLS) + " |")
    return "\n".join(lines) + "\n"


def html_page(rows, limits, contexts):
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>kcs performance</title><style>",
           "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:nth-child(-n+4),th{text-align:left}"
           ".good{background:#d9f2d9}.bad{background:#f8d7d7}</style></head><body>",
           "<h1>kcs performance</h1>", f"<p>{e(README)}</p><ul>"]
    for name, ctx in contexts:
        out.append(f"<li><code>{e(name)}</code>: {e(str(ctx.get('date', '')))}, {e(str(ctx.get('kcs_cpu', '')))}, load {e(str(ctx.get('load_avg', '')))}</li>")
    out.append("</ul><h2>Limits measured in each run</h2><table><tr><th>file</th><th>probe</th><th>read GB/s</th><th>FMA GFLOP/s</th><th>VNNI GOP/s</th><th>BF16 GFLOP/s</th></tr>")
    for f, n, c in limits:
        out.append(f"<tr><td>{e(f)}</td><td>{e(n)}</td>" + "".join(f"<td>{c.get(k, 0):.1f}</td>" for k in ("read_gbs", "fma_gflops", "vnni_gops", "bf16_gflops")) + "</tr>")
    out.append("</table><h2>Kernels</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for _, h in COLS) + "</tr>")
    for r in rows:
        cls = ""
        if r["frac_of_limit"]:
            cls = " class='good'" if float(r["frac_of_limit"]) >= 0.77 else ""
        out.append("<tr>" + "".join(f"<td{cls if k == 'frac_of_limit' else ''}>{e(str(r[k]))}</td>" for k, _ in COLS) + "</tr>")
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="Google Benchmark JSON files")
    ap.add_argument("--out", required=True, help="directory for perf.md and perf.html")
    a = ap.parse_args()
    for p in a.json:
        if not os.path.isfile(p):
            sys.exit(f"bench/report.py: {p}: no such file")
    try:
        table, limits, contexts = load(a.json)
    except (json.JSONDecodeError, KeyError) as ex:
        sys.exit(f"bench/report.py: not a Google Benchmark JSON file: {ex}")
    if not table:
        sys.exit("bench/report.py: no kcs benchmark rows in " + ", ".join(a.json))
    rows = build_rows(table)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "perf.md"), "w") as f:
        f.write(markdown(rows, limits, contexts))
    with open(os.path.join(a.out, "perf.html"), "w") as f:
        f.write(html_page(rows, limits, contexts))
    print(f"{len(rows)} rows -> {a.out}/perf.md, {a.out}/perf.html")


if __name__ == "__main__":
    main()
