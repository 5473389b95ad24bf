#!/usr/bin/python3
"""PyTorch peer of the fused kernels: K1 indexer_prolog and K2 mla_prolog written with PyTorch CPU ops
(bench/peers/torch_kernels.py), timed the Google Benchmark way at the shapes of
fixtures/catalog/bench_shapes.json, written as Google Benchmark JSON that bench/report.py merges
as the "torch" column of the fused table.

    bench/peers/torch_bench.py --benchmark_filter=t:1/ --benchmark_repetitions=3 \
        --benchmark_out=reports/bench/torch_bench.json

Rows: <family>/fused:torch/<shape>/threads:T, shape tails as the kcs programs name them. Each
repetition runs the call until --benchmark_min_time seconds have passed (after one warm-up call)
and reports the mean per call; the median aggregate is what the report reads. Weights rotate over
copies of at least 96 MiB (K1) / 192 MiB (K2), as in the kcs benches, so they stream from DRAM.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_kernels as tk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BF16 = tk.BF16


def expand(entry):
    """bench_shapes.json entry -> shapes: array values expand to their product, first key outermost."""
    out = [{}]
    for k, v in entry.items():
        out = [dict(s, **{k: x}) for s in out for x in (v if isinstance(v, list) else [v])]
    return out


def bf16(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).to(BF16)


def i8_as_bf16(*shape):
    return torch.randint(-127, 128, shape, dtype=torch.int8).to(BF16)


def copies(set_bytes, pool_bytes):
    return max(1, int(pool_bytes // set_bytes)) + 1


_weights = {}


def weights(key, make):
    """The weight sets of `key`, made once: consecutive rows (t, threads) share them."""
    if key not in _weights:
        _weights.clear()
        _weights[key] = make()
    return _weights[key]


def k1_setup(s, t):
    h, ql, H, D, R, bs = (s[k] for k in ("h", "q_lora", "H", "D", "R", "block_size"))
    slots = ((t + bs - 1) // bs + 1) * bs
    a = {"x": bf16(t, h), "q_norm": torch.randint(-127, 128, (t, ql), dtype=torch.int8),
         "q_norm_scale": torch.rand(t, 1) * 0.01, "cos": bf16(t, R), "sin": bf16(t, R),
         "k_cache": torch.zeros(slots, D, dtype=torch.int8), "k_scale_cache": torch.zeros(slots, 1, dtype=torch.float16),
         "k_cache_index": torch.randperm(slots)[:t]}
    hd = (torch.randint(0, 2, (D, D)).float() * 2 - 1).div(D ** 0.5).to(BF16)
    common = {"H": H, "D": D, "eps": 1e-6, "w_qb_scale": torch.full((H * D,), 1.0 / 60000), "ln_gamma_k": bf16(D),
              "ln_beta_k": bf16(D, scale=0.01), "hadamard_q": hd, "hadamard_k": hd}
    n = copies(ql * H * D * 2 + h * (D + H) * 2, 96 << 20)
    sets = weights(("k1", h, ql, H, D), lambda: [
        dict(common, w_qb=i8_as_bf16(ql, H * D), wk=bf16(h, D, scale=0.01), w_proj=bf16(h, H, scale=0.01))
        for _ in range(n)])
    return a, sets, tk.indexer_prolog


def k2_setup(s, t):
    h, ql, n1, nope, rope, kvl, bs = (s[k] for k in ("h", "q_lora", "n1", "nope", "rope", "kv_lora", "block_size"))
    slots = ((t + bs - 1) // bs + 1) * bs
    a = {"token_x": bf16(t, h), "cos": bf16(t, rope), "sin": bf16(t, rope), "cache_index": torch.randperm(slots)[:t],
         "kv_cache": torch.zeros(slots, kvl, dtype=torch.int8), "kr_cache": torch.zeros(slots, rope, dtype=BF16),
         "k_scale_cache": torch.zeros(slots, 4)}
    nq = n1 * (nope + rope)
    common = {"eps": 1e-5, "dequant_scale": torch.full((nq,), 1.0 / 3000), "gamma_cq": bf16(ql), "gamma_ckv": bf16(kvl)}
    n = copies((h * ql + ql * nq + n1 * nope * kvl + h * (kvl + rope)) * 2, 192 << 20)
    sets = weights(("k2", h, ql, n1, nope, rope, kvl), lambda: [
        dict(common, w_dq=bf16(h, ql, scale=0.01), w_uq_qr=i8_as_bf16(ql, nq), w_uk=bf16(n1, nope, kvl, scale=0.1),
             w_dkv_kr=bf16(h, kvl + rope, scale=0.01)) for _ in range(n)])
    return a, sets, tk.mla_prolog


# family -> (shape keys in the kcs row tail, setup)
FAMILIES = {"indexer_prolog": (["t"], k1_setup), "mla_prolog": (["n1", "t"], k2_setup)}


def time_row(a, sets, fn, min_time):
    """Mean seconds per call over calls that fill min_time, weight sets rotating."""
    fn(a, sets[0])
    calls, k, t0 = 0, 0, time.perf_counter()
    while True:
        k = (k + 1) % len(sets)
        fn(a, sets[k])
        calls += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / calls, calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmark_filter", default=".")
    ap.add_argument("--benchmark_repetitions", type=int, default=3)
    ap.add_argument("--benchmark_min_time", type=float, default=0.5)
    ap.add_argument("--benchmark_out", help="Google Benchmark JSON file")
    ap.add_argument("--benchmark_list_tests", action="store_true")
    ap.add_argument("--benchmark_report_aggregates_only", default="false")
    ap.add_argument("--benchmark_out_format", default="json")
    o = ap.parse_args()
    with open(os.path.join(ROOT, "fixtures/catalog/bench_shapes.json")) as f:
        cat = json.load(f)
    rows = []
    for fam, (keys, setup) in FAMILIES.items():
        for entry in cat[fam]:
            for s in expand({k: v for k, v in entry.items() if k not in ("model", "use")}):
                for th in cat["threads"]:
                    name = f"{fam}/fused:torch/" + "/".join(f"{k}:{s[k]}" for k in keys) + f"/threads:{th}"
                    if re.search(o.benchmark_filter, name):
                        rows.append((name, fam, s, th, setup))
    if o.benchmark_list_tests:
        print("\n".join(r[0] for r in rows))
        return
    torch.manual_seed(0)
    out = []
    for name, fam, s, th, setup in rows:
        torch.set_num_threads(th)
        a, sets, fn = setup(s, s["t"])
        times = []
        with torch.no_grad():
            for rep in range(o.benchmark_repetitions):
                per, calls = time_row(a, sets, fn, o.benchmark_min_time)
                times.append(per)
                out.append({"name": name, "run_name": name, "run_type": "iteration", "repetitions": o.benchmark_repetitions,
                            "repetition_index": rep, "threads": 1, "iterations": calls, "real_time": per * 1e6,
                            "cpu_time": per * 1e6, "time_unit": "us"})
        for agg, v in (("mean", statistics.mean(times)), ("median", statistics.median(times))):
            out.append({"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate", "aggregate_name": agg,
                        "repetitions": o.benchmark_repetitions, "threads": 1, "iterations": len(times),
                        "real_time": v * 1e6, "cpu_time": v * 1e6, "time_unit": "us"})
        print(f"{name:48} {statistics.median(times) * 1e6:12.1f} us (median of {len(times)})", flush=True)
        del a, sets
    doc = {"context": {"date": datetime.datetime.now().isoformat(), "host_name": os.uname().nodename,
                       "kcs_cpu": f"torch {torch.__version__}", "load_avg": list(os.getloadavg()),
                       "library_build_type": "release"},
           "benchmarks": out}
    if o.benchmark_out:
        with open(o.benchmark_out, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
