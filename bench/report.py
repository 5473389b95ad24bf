#!/usr/bin/python3
"""Performance table from Google Benchmark JSON files (--benchmark_out=F --benchmark_out_format=json).

    bench/report.py reports/bench/*.json [--run reports/bench/run.json] --out reports/bench  -> perf.md + perf.html

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
oneDNN under an ISA limit (ONEDNN_MAX_CPU_ISA; tools/dev.sh runs AVX512_CORE_BF16 where the CPU has
AMX) names its rows' impl onednn_<isa> (onednn_avx512): each such impl gets its own columns beside
oneDNN's default ones, computed from its rows only. A peer row's label is the implementation oneDNN
chose (e.g. brg:avx512_core_amx); the report lists them per GEMM and shape. --run names the file
tools/dev.sh writes (date, CPU, load average at the start and the end of the run) for the header.
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
PEER_IMPLS = {"onednn", "torch"}  # and every onednn_<isa> (is_peer)
ONEDNN_LABELS = {"onednn": "oneDNN", "onednn_avx512": "oneDNN (AVX-512)"}
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
            try:
                doc = json.load(f)
            except json.JSONDecodeError as ex:
                raise json.JSONDecodeError(f"{path}: {ex.msg}", ex.doc, ex.pos) from None
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
            rows.setdefault(parsed, []).append((b["real_time"] * unit, b.get("frac_of_limit"), b.get("label", "")))
    table = {}
    for key, vals in rows.items():
        t = statistics.median(v[0] for v in vals)
        fr = [v[1] for v in vals if v[1] is not None]
        table[key] = (t, statistics.median(fr) if fr else None, "; ".join(sorted({v[2] for v in vals if v[2]})))
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


def is_peer(impl):
    return impl in PEER_IMPLS or impl.startswith("onednn_")


def onednn_impls(table):
    """The oneDNN columns: the default ("onednn", always) then each ISA-limited impl with rows."""
    return ["onednn"] + sorted({k[3] for k in table if k[3].startswith("onednn_")})


def onednn_label(impl, impls):
    if impl == "onednn" and len(impls) > 1:
        return "oneDNN (default ISA)"
    return ONEDNN_LABELS.get(impl, f"oneDNN ({impl[len('onednn_'):]})")


def fused_peer(table, family, shape, variant, threads, impl="onednn"):
    """(sum cell, ratio cell, breakdown cell, sum ns or None) of the oneDNN GEMMs of one fused row,
    from the rows of one oneDNN impl only."""
    if family in NO_GEMM:
        return "no GEMM", "-", "", None
    spec = FUSED[family]
    if spec["variants"] is not None and variant not in spec["variants"]:
        return "not compared", "-", "", None
    times = {}
    for g in spec["gemms"]:
        v = table.get((family, g + "/" + shape, "gemm", impl, threads))
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
    impls = onednn_impls(table)
    out, fused = [], []
    for (family, shape, variant, impl, threads), (t, frac, _) in sorted(table.items(), key=lambda kv: natural(kv[0])):
        if is_peer(impl):
            continue
        ref = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i in REF_IMPLS and th == 1]
        row = {
            "kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
            "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}",
            "vs_reference": "" if not ref or impl in REF_IMPLS else f"{min(ref) / t:.1f}x",
        }
        if is_fused(family):
            for p in impls:  # "onednn" keeps its historical keys onednn_sum / vs_sum / gemms
                cell, ratio, breakdown, total = fused_peer(table, family, shape, variant, threads, p)
                sfx = "" if p == "onednn" else "_" + p
                row.update({"onednn_sum" + sfx: cell,
                            "vs_sum" + sfx: f"{total / t:.2f}" if total else ratio, "gemms" + sfx: breakdown})
            tp = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i == "torch" and th == threads]
            row.update(torch=fmt_time(min(tp)) if tp else "", vs_torch=f"{min(tp) / t:.2f}" if tp else "")
            fused.append(row)
            continue
        for p in impls:
            peer = [v[0] for (f, s, _, i, th), v in table.items() if f == family and s == shape and i == p and th == threads]
            row.update({p: fmt_time(min(peer)) if peer else "", "vs_" + p: f"{min(peer) / t:.2f}" if peer else ""})
        out.append(row)
    # Peer rows too, so their own frac_of_limit is visible.
    for (family, shape, variant, impl, threads), (t, frac, _) in sorted(table.items(), key=lambda kv: natural(kv[0])):
        if is_peer(impl):
            row = {"kernel": family, "shape": shape, "variant": variant, "impl": impl, "threads": threads,
                   "time": fmt_time(t), "frac_of_limit": "" if frac is None else f"{frac:.2f}", "vs_reference": ""}
            row.update({k: "" for p in impls for k in (p, "vs_" + p)})
            out.append(row)
    return out, fused


def impl_rows(table):
    """Which implementation oneDNN chose per GEMM and shape (the rows' labels), one column per oneDNN
    impl; thread counts with the same choice are merged."""
    impls = onednn_impls(table)
    by = {}
    for (family, shape, variant, impl, threads), (_, _, label) in table.items():
        if impl in impls:
            by.setdefault((family, variant, shape), {}).setdefault(impl, {}).setdefault(label or "not recorded", []).append(threads)
    out = []
    for (family, variant, shape), per in sorted(by.items(), key=lambda kv: natural(kv[0])):
        row = {"kernel": family, "variant": variant, "shape": shape}
        for p in impls:
            row[p] = "; ".join(f"{lab} (threads {', '.join(map(str, sorted(th)))})" if len(per.get(p, {})) > 1 else lab
                               for lab, th in sorted(per.get(p, {}).items())) or "did not run"
        out.append(row)
    return out


COLS = [("kernel", "kernel"), ("shape", "shape"), ("variant", "variant"), ("impl", "impl"), ("threads", "threads"),
        ("time", "time (median)"), ("frac_of_limit", "frac_of_limit"), ("vs_reference", "vs reference"),
        ("onednn", "oneDNN time"), ("vs_onednn", "oneDNN time / time")]
FUSED_COLS = COLS[:8] + [("onednn_sum", "oneDNN GEMMs (sum)"), ("vs_sum", "sum / time"),
                         ("gemms", "oneDNN GEMMs (medians)"), ("torch", "PyTorch time"), ("vs_torch", "torch / time")]


def columns(impls):
    """(engine table, fused table) columns with one time / ratio pair per oneDNN impl, side by side."""
    if len(impls) == 1:
        return COLS, FUSED_COLS
    cols = COLS[:8]
    for p in impls:
        lab = onednn_label(p, impls)
        cols += [(p, f"{lab} time"), ("vs_" + p, f"{lab} time / time")]
    fcols = COLS[:8]
    for p in impls:
        sfx, lab = ("" if p == "onednn" else "_" + p), onednn_label(p, impls)
        fcols += [("onednn_sum" + sfx, f"{lab} GEMMs (sum)"), ("vs_sum" + sfx, f"{lab} sum / time")]
    for p in impls:
        fcols.append(("gemms" + ("" if p == "onednn" else "_" + p), f"{onednn_label(p, impls)} GEMMs (medians)"))
    return cols, fcols + FUSED_COLS[-2:]


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


def run_lines(table, contexts, run):
    """The run's conditions, one sentence each: CPU, date, load average, threads, oneDNN's ISA per column."""
    ctx_cpu = [c.get("kcs_cpu") for _, c in contexts if c.get("kcs_cpu") and not str(c["kcs_cpu"]).startswith("torch")]
    cpu = run.get("cpu") or (ctx_cpu[0] if ctx_cpu else "not recorded")
    amx = run.get("amx")
    lines = [f"CPU: {cpu}" + ("" if amx is None else f"; AMX: {', '.join(amx) if amx else 'none'}")
             + (f"; {run['nproc']} logical CPUs" if run.get("nproc") else "")]
    if "start" in run:
        end = run.get("end", {})
        lines.append(f"date: {run['start'].get('date', '?')} to {end.get('date', 'not recorded (the run did not finish)')}")
        fmt = lambda la: "/".join(f"{x:.2f}" for x in la) if la else "not recorded"
        lines.append(f"load average (1/5/15 min): {fmt(run['start'].get('load_avg'))} at the start, "
                     f"{fmt(end.get('load_avg'))} at the end of the run")
    else:
        dates = sorted(str(c.get("date")) for _, c in contexts if c.get("date"))
        lines.append(f"date: {dates[0] + ' to ' + dates[-1] if dates else 'not recorded'}")
        lines.append("load average: not recorded for the whole run (no --run file); each file's load at its "
                     "start is listed below")
    threads = sorted({k[4] for k in table})
    lines.append("threads: " + ", ".join(map(str, threads)) + " (each row names its own)")
    impls = onednn_impls(table)
    if "onednn_avx512" in impls:
        lines.append("oneDNN's default path multiplies with AMX tiles where the CPU has them; kcs's BF16 "
                     "definition (a single FMA chain per output element) cannot run on AMX at speed (tools/amx_bf16_probe.cc), "
                     "so the oneDNN (AVX-512) columns, oneDNN under ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16, are the "
                     "like-for-like comparison and the default ones show what AMX buys oneDNN")
    ctx_of = {c.get("onednn_impl"): (n, c) for n, c in contexts if c.get("onednn_impl")}
    for p in impls:
        chosen = {}
        for k, v in table.items():
            if k[3] == p:
                chosen[v[2] or "not recorded"] = chosen.get(v[2] or "not recorded", 0) + 1
        if not chosen:
            lines.append(f"{onednn_label(p, impls)}: did not run")
            continue
        name, c = ctx_of.get(p, ("?", {}))
        lines.append(f"{onednn_label(p, impls)} (impl {p}, {name}): ONEDNN_MAX_CPU_ISA "
                     f"{c.get('onednn_max_cpu_isa', 'not recorded')}, oneDNN's effective ISA "
                     f"{c.get('onednn_effective_isa', 'not recorded')}; implementations it chose: "
                     + ", ".join(f"{lab} ({n} row{'s' if n > 1 else ''})" for lab, n in sorted(chosen.items())))
    return lines


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


def markdown(rows, fused, limits, contexts, run_info, impl_table, impls):
    cols, fcols = columns(impls)
    lines = ["# kcs performance", "", README, "", "## Run", ""] + [f"- {x}" for x in run_info] + [""]
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
        lines += md_table(fcols, fused)
    lines += ["", "## Kernels", ""] + md_table(cols, rows)
    if impl_table:
        lines += ["", "## oneDNN's implementation per GEMM and shape", "", IMPL_README, ""]
        lines += md_table(impl_cols(impls), impl_table)
    return "\n".join(lines) + "\n"


IMPL_README = ("The implementation oneDNN chose for each peer row (its primitive's impl_info_str, the name "
               "ONEDNN_VERBOSE=1 prints): brg:avx512_core_amx* runs AMX tiles, brg:avx512_core_bf16 / "
               "brg:avx512_core_vnni the AVX-512 instructions kcs uses.")


def impl_cols(impls):
    return [("kernel", "kernel"), ("variant", "variant"), ("shape", "shape")] + [(p, onednn_label(p, impls)) for p in impls]


def html_table(cols, rows):
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for _, h in cols) + "</tr>"]
    for r in rows:
        cells = []
        for k, _ in cols:
            cls = ""
            if k == "frac_of_limit" and r[k] and float(r[k]) >= 0.77:
                cls = " class='good'"
            if k.startswith("vs_") and k != "vs_reference" and re.fullmatch(r"[0-9.]+", str(r[k])):
                cls = " class='good'" if float(r[k]) > 1 else " class='bad'"
            cells.append(f"<td{cls}>{e(str(r[k]))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return out


def html_page(rows, fused, limits, contexts, run_info, impl_table, impls):
    e = html.escape
    cols, fcols = columns(impls)
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>kcs performance</title><style>",
           "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:nth-child(-n+4),th{text-align:left}"
           ".good{background:#d9f2d9}.bad{background:#f8d7d7}</style></head><body>",
           "<h1>kcs performance</h1>", f"<p>{e(README)}</p><h2>Run</h2><ul>"]
    out += [f"<li>{e(x)}</li>" for x in run_info]
    out.append("</ul><ul>")
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
        out += html_table(fcols, fused)
    out.append("<h2>Kernels</h2>")
    out += html_table(cols, rows)
    if impl_table:
        out.append(f"<h2>oneDNN's implementation per GEMM and shape</h2><p>{e(IMPL_README)}</p>")
        out += html_table(impl_cols(impls), impl_table)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="Google Benchmark JSON files")
    ap.add_argument("--run", help="the run's conditions (tools/dev.sh bench writes reports/bench/run.json)")
    ap.add_argument("--out", required=True, help="directory for perf.md and perf.html")
    a = ap.parse_args()
    for p in a.json + ([a.run] if a.run else []):
        if not os.path.isfile(p):
            sys.exit(f"bench/report.py: {p}: no such file")
    run = {}
    if a.run:
        try:
            with open(a.run) as f:
                run = json.load(f)
        except json.JSONDecodeError as ex:
            sys.exit(f"bench/report.py: {a.run}: not a JSON file: {ex}")
        if not isinstance(run, dict):
            sys.exit(f"bench/report.py: {a.run}: not a JSON object")
    try:
        table, limits, contexts = load(a.json)
    except (json.JSONDecodeError, KeyError) as ex:
        sys.exit(f"bench/report.py: not a Google Benchmark JSON file: {ex}")
    if not table:
        sys.exit("bench/report.py: no kcs benchmark rows in " + ", ".join(a.json))
    rows, fused = build_rows(table)
    impls, impl_table = onednn_impls(table), impl_rows(table)
    try:
        info = run_lines(table, contexts, run)
    except (TypeError, ValueError, AttributeError) as ex:
        sys.exit(f"bench/report.py: {a.run}: malformed run file: {ex}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "perf.md"), "w") as f:
        f.write(markdown(rows, fused, limits, contexts, info, impl_table, impls))
    with open(os.path.join(a.out, "perf.html"), "w") as f:
        f.write(html_page(rows, fused, limits, contexts, info, impl_table, impls))
    print(f"{len(rows) + len(fused)} rows -> {a.out}/perf.md, {a.out}/perf.html")


if __name__ == "__main__":
    main()
