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
Fused kernels (FUSED below) get their own table: bench/peers/onednn_bench.cc times every GEMM a
fused kernel contains as <family>/gemm:onednn/<gemm>/<shape>/threads:T, and the row shows the
sum of those oneDNN medians (same shape and threads) and sum / time (> 1: kcs is faster than the
GEMMs alone through oneDNN, the issue's target). A sum with a GEMM missing is shown as missing,
never as a smaller sum; kernels without a GEMM say "no GEMM". The same table shows the PyTorch peer
(bench/peers/torch_bench.py: the fused kernel written with PyTorch CPU ops, rows
<family>/fused:torch/<shape>/threads:T): torch time / time > 1 means kcs is faster.
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
PEER_IMPLS = {"onednn", "torch"}
# Rows named <family>/<impl>/<shape> (no variant, e.g. indexer_prolog/avx512/t:1): variant "-".
LIMIT_KEYS = ("read_gbs", "fma_gflops", "vnni_gops", "bf16_gflops", "amx_int8_gops")  # bench/limits.h
BARE_IMPLS = {"reference", "optimized", "amx", "avx512", "avx2", "avxvnni"}
# Google Benchmark appends these to names; they are not part of the shape.
RUN_ARGS = ("iterations:", "min_time:", "repeats:")

# Fused kernels and the GEMMs their oneDNN sum contains (bench/peers/onednn_bench.cc names the rows
# <family>/gemm:onednn/<gemm>/<shape>); "variants" None = every variant of the family contains them.
FUSED = {
    "indexer_prolog": {
        "variants": None,
        "gemms": ["q_b", "wk", "w_proj", "hadamard_q", "hadamard_k"],
        "legend": "K1: q_b s8 [t,1536]x[1536,8192]->s32 + wk bf16 [t,7168]x[7168,128]->f32 + w_proj bf16 "
                  "[t,7168]x[7168,64]->bf16 + hadamard_q bf16 [64t,128]x[128,128] + hadamard_k bf16 [t,128]x[128,128] "
                  "(weights prepacked and streamed from DRAM, Hadamard matrices cached). Not in the sum: LayerNorm, "
                  "RoPE, Q8 of q and k, the cache scatter, the output scaling.",
    },
    "mla_prolog": {
        "variants": None,
        "gemms": ["w_dq", "w_uq_qr", "w_uk", "w_dkv_kr"],
        "legend": "K2 (quant mode, n1 heads): w_dq bf16 [t,7168]x[7168,1536] + w_uq_qr s8 [t,1536]x[1536,192n1]->s32 "
                  "+ w_uk bf16 batched n1 x [t,128]x[128,512] + w_dkv_kr bf16 [t,7168]x[7168,576] (weights prepacked "
                  "and streamed). Not in the sum: the RMSNorms, Q8 of q_norm and of the kv groups, RoPE, the scatters.",
    },
    "v4_indexer": {
        "variants": {"score"},
        "gemms": ["score"],
        "legend": "K3, score rows only: score s8 batched B x [cache_len,128]x[128,64]->s32 (int8 cache rows streamed "
                  "from DRAM, q codes cached). Not in the sum: the Q8 of the BF16 cache rows (kcs reads BF16, oneDNN "
                  "is handed int8 rows: half the bytes), dequant, ReLU, head sum, top-k. api rows (q side included, "
                  "one cached buffer set) are not compared.",
    },
}
NO_GEMM = {
    "nvfp4_stage": "K4: no GEMM (a BF16 -> NVFP4 quantizer).",
    "compressor": "K5: no GEMM (its D x C projections run outside the kernel, spec 7.1; the model epilogue's "
                  "128x128 indexer Hadamard per compressed entry, a rotation inside a bandwidth-bound pooling "
                  "kernel, is not counted).",
}


def parse_name(name):
    parts = [p for p in name.split("/") if p not in ("real_time", "process_time") and not p.startswith(RUN_ARGS)]
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
        if i > 0 and p in BARE_IMPLS:  # indexer_prolog/avx512/t:1
            return "/".join(parts[:i]), "/".join(parts[i + 1:]), "-", p, threads
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
                limits.append((os.path.basename(path), name, {k: b[k] for k in LIMIT_KEYS if k in b}))
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


def natural(key):
    """Sort key: numbers in names compare as numbers (t:4 before t:16 before t:128)."""
    return [tuple((0, int(x)) if x.isdigit() else (1, x) for x in re.split(r"(\d+)", str(k))) for k in key]


def is_fused(family):
    return family in FUSED or family in NO_GEMM


def fused_peer(table, family, shape, variant, threads):
    """(sum cell, ratio cell, breakdown cell, sum ns or None) of the oneDNN GEMMs of one fused row."""
    if family in NO_GEMM:
        return "no GEMM", "-", "", None
    spec = FUSED[family]
    if spec["variants"] is not None and variant not in spec["variants"]:
        return "not compared", "-", "", None
    times = {}
    for g in spec["gemms"]:
        v = table.get((family, g + "/" + shape, "gemm", "onednn", threads))
        if v:
            times[g] = v[0]
    if not times:
        return "", "", "", None  # the peer did not run (no oneDNN file or a filter)
    missing = [g for g in spec["gemms"] if g not in times]
    breakdown = " + ".join(f"{g} {fmt_time(t)}" for g, t in times.items())
    if missing:
        return "missing " + ", ".join(missing), "", breakdown, None
    total = sum(times.values())
    return fmt_time(total), None, breakdown, total


def build_rows(table):
    out, fused = [], []
    for (family, shape, variant, impl, threads), (t, frac) in sorted(table.items(), key=lambda kv: natural(kv[0])):
        if impl in PEER_IMPLS:
            continue
        ref = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i in REF_IMPLS and th == 1]
        row = {
            "kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
            "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}",
            "vs_reference": "" if not ref or impl in REF_IMPLS else f"{min(ref) / t:.1f}x",
        }
        if is_fused(family):
            cell, ratio, breakdown, total = fused_peer(table, family, shape, variant, threads)
            row.update(onednn_sum=cell, vs_sum=f"{total / t:.2f}" if total else ratio, gemms=breakdown)
            tp = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i == "torch" and th == threads]
            row.update(torch=fmt_time(min(tp)) if tp else "", vs_torch=f"{min(tp) / t:.2f}" if tp else "")
            fused.append(row)
            continue
        peer = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i == "onednn" and th == threads]
        row.update(onednn=fmt_time(min(peer)) if peer else "", vs_onednn=f"{min(peer) / t:.2f}" if peer else "")
        out.append(row)
    # Peer rows too, so their own frac_of_limit is visible.
    for (family, shape, variant, impl, threads), (t, frac) in sorted(table.items(), key=lambda kv: natural(kv[0])):
        if impl in PEER_IMPLS:
            out.append({"kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
                        "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}",
                        "vs_reference": "", "onednn": "", "vs_onednn": ""})
    return out, fused


COLS = [("kernel", "kernel"), ("shape", "shape"), ("variant", "variant"), ("impl", "impl"), ("threads", "threads"),
        ("time", "time (median)"), ("frac_of_limit", "frac_of_limit"), ("vs_reference", "vs reference"),
        ("onednn", "oneDNN time"), ("vs_onednn", "oneDNN time / time")]
FUSED_COLS = COLS[:8] + [("onednn_sum", "oneDNN GEMMs (sum)"), ("vs_sum", "sum / time"),
                         ("gemms", "oneDNN GEMMs (medians)"), ("torch", "PyTorch time"), ("vs_torch", "torch / time")]

README = ("frac_of_limit = limit time / time with the limits (read bandwidth, VNNI / BF16 / FMA / AMX INT8 peaks) measured in "
          "the same process: 1.0 is the machine's limit, and a target 'within 1.3x of the limit' means >= 0.77. "
          "Times are medians of the repetitions; on a shared VM compare ratios from one run, never absolute "
          "times across runs.")

FUSED_README = ("Each fused kernel against the sum of the oneDNN medians of the GEMMs it contains, same shape "
                "and threads (bench/peers/onednn_bench.cc): sum / time > 1 means kcs is faster than those GEMMs "
                "alone, the issue's target at every t. 'missing' = a GEMM of the sum did not run (no sum is "
                "shown); an empty cell = the oneDNN peer did not run. torch / time: the PyTorch peer "
                "(bench/peers/torch_bench.py, the kernel written with PyTorch CPU ops, BF16 GEMMs) over kcs, same "
                "shape and threads, any kcs variant of the row. The sum contains:")


def fused_legend():
    return [v["legend"] for v in FUSED.values()] + list(NO_GEMM.values())


def md_table(cols, rows):
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]) for k, _ in cols) + " |")
    return lines


def limit_warnings(limits):
    """Files whose multi-thread compute probe measured no more than ~1 thread's peak: a vCPU was
    taken away during the probe (the VM is shared), so that file's multi-thread frac_of_limit
    is inflated. The compute peaks scale with threads on every core kcs targets."""
    by_file = {}
    for f, n, c in limits:
        m = re.search(r"threads:(\d+)", n)
        if m:
            by_file.setdefault(f, {})[int(m.group(1))] = c
    out = []
    for f, per in sorted(by_file.items()):
        one = per.get(1, {})
        for t, c in sorted(per.items()):
            if t < 2:
                continue
            for k in LIMIT_KEYS[1:]:
                if one.get(k, 0) > 0 and c.get(k, 0) < 0.75 * t * one[k]:
                    out.append(f"{f}: the {t}-thread {k} probe measured {c[k]:.0f}, less than 0.75 x {t} x the "
                               f"1-thread {one[k]:.0f}: a vCPU was busy during the probe, so this file's {t}-thread "
                               "frac_of_limit values are too high; rerun it")
                    break
    return out


def markdown(rows, fused, limits, contexts):
    lines = ["# kcs performance", "", README, ""]
    for name, ctx in contexts:
        lines.append(f"- `{name}`: {ctx.get('date', '')}, {ctx.get('kcs_cpu', ctx.get('host_name', ''))}, "
                     f"load {ctx.get('load_avg', '')}")
    lines += ["", "## Limits measured in each run", "", "| file | probe | read GB/s | FMA GFLOP/s | VNNI GOP/s | BF16 GFLOP/s | AMX INT8 GOP/s |",
              "|---|---|---|---|---|---|---|"]
    for f, n, c in limits:
        lines.append(f"| {f} | {n} | " + " | ".join(f"{c.get(k, 0):.1f}" for k in LIMIT_KEYS) + " |")
    warn = limit_warnings(limits)
    if warn:
        lines += [""] + [f"**Warning**: {w}." for w in warn]
    if fused:
        lines += ["", "## Fused kernels vs the oneDNN GEMMs they contain", "", FUSED_README, ""]
        lines += [f"- {x}" for x in fused_legend()] + [""]
        lines += md_table(FUSED_COLS, fused)
    lines += ["", "## Kernels", ""] + md_table(COLS, rows)
    return "\n".join(lines) + "\n"


def html_table(cols, rows):
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for _, h in cols) + "</tr>"]
    for r in rows:
        cells = []
        for k, _ in cols:
            cls = ""
            if k == "frac_of_limit" and r[k] and float(r[k]) >= 0.77:
                cls = " class='good'"
            if k in ("vs_sum", "vs_onednn", "vs_torch") and re.fullmatch(r"[0-9.]+", str(r[k])):
                cls = " class='good'" if float(r[k]) > 1 else " class='bad'"
            cells.append(f"<td{cls}>{e(str(r[k]))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return out


def html_page(rows, fused, limits, contexts):
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>kcs performance</title><style>",
           "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:nth-child(-n+4),th{text-align:left}"
           ".good{background:#d9f2d9}.bad{background:#f8d7d7}</style></head><body>",
           "<h1>kcs performance</h1>", f"<p>{e(README)}</p><ul>"]
    for name, ctx in contexts:
        out.append(f"<li><code>{e(name)}</code>: {e(str(ctx.get('date', '')))}, {e(str(ctx.get('kcs_cpu', '')))}, load {e(str(ctx.get('load_avg', '')))}</li>")
    out.append("</ul><h2>Limits measured in each run</h2><table><tr><th>file</th><th>probe</th><th>read GB/s</th><th>FMA GFLOP/s</th><th>VNNI GOP/s</th><th>BF16 GFLOP/s</th><th>AMX INT8 GOP/s</th></tr>")
    for f, n, c in limits:
        out.append(f"<tr><td>{e(f)}</td><td>{e(n)}</td>" + "".join(f"<td>{c.get(k, 0):.1f}</td>" for k in LIMIT_KEYS) + "</tr>")
    out.append("</table>")
    out += [f"<p class='bad'><b>Warning</b>: {e(w)}.</p>" for w in limit_warnings(limits)]
    if fused:
        out.append(f"<h2>Fused kernels vs the oneDNN GEMMs they contain</h2><p>{e(FUSED_README)}</p><ul>")
        out += [f"<li>{e(x)}</li>" for x in fused_legend()]
        out.append("</ul>")
        out += html_table(FUSED_COLS, fused)
    out.append("<h2>Kernels</h2>")
    out += html_table(COLS, rows)
    out.append("</body></html>")
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
    rows, fused = build_rows(table)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "perf.md"), "w") as f:
        f.write(markdown(rows, fused, limits, contexts))
    with open(os.path.join(a.out, "perf.html"), "w") as f:
        f.write(html_page(rows, fused, limits, contexts))
    print(f"{len(rows) + len(fused)} rows -> {a.out}/perf.md, {a.out}/perf.html")


if __name__ == "__main__":
    main()
