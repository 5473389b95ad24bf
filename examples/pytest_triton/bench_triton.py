"""Times the Triton kernels (the K4 source's staging kernel, q8_triton.q8) at the shapes and with
the method of backends/cuda/bench.cu, so the two tables compare on the same GPU in the same run:
inputs rotated over buffer sets of more than 256 MiB, frac = bytes that must move / time /
device-to-device copy bandwidth measured here. "time us": one CUDA graph holding >= 20 launches
over the rotated sets, replayed 15 times between events, the median replay / launches (the
kernels back to back, no launch gaps: bench.cu's "time us"). "1-launch us": one launch replayed
from a graph of its own between events, the host waiting after each (bench.cu's "1-launch us").
"eager us": the Python wrapper called the same way (what a PyTorch caller pays, Triton's launch
overhead included). Usage: python3 bench_triton.py"""
import torch

from q8_triton import q8
from staging_kernel import _stage_deepseek_v4_mega_moe_inputs

ROTATE = 256 << 20


def median_ms(launch, sets, reps=200):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(5):
        launch(i % sets)
    torch.cuda.synchronize()
    t = []
    for i in range(reps):
        a.record()
        launch(i % sets)
        b.record()
        b.synchronize()
        t.append(a.elapsed_time(b))
    return sorted(t)[len(t) // 2]


def graphs_of(launch, sets):
    """One CUDA graph per buffer set holding that set's launch (compiled first)."""
    for i in range(sets):
        launch(i)
    torch.cuda.synchronize()
    gs = []
    for i in range(sets):
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            launch(i)
        gs.append(g)
    return gs


def stream_ms(launch, sets):
    """Per launch, back to back: one graph of max(20, sets) launches cycling over the sets."""
    n = max(20, sets)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(n):
            launch(i % sets)
    g.replay()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(15):
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        t.append(a.elapsed_time(b) / n)
    return sorted(t)[len(t) // 2]


def timed(launch, sets):
    """(back-to-back ms, one graph launch ms, eager ms)."""
    gs = graphs_of(launch, sets)
    return stream_ms(launch, sets), median_ms(lambda i: gs[i].replay(), sets), median_ms(launch, sets)


def rand_bf16(shape, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    # Values in about [-4, 4], like bench.cu's fill.
    return ((torch.rand(shape, generator=g, device="cuda") * 8 - 4)).to(torch.bfloat16)


def main():
    cb = 1 << 30
    src, dst = torch.ones(cb, dtype=torch.uint8, device="cuda"), torch.empty(cb, dtype=torch.uint8, device="cuda")
    bw = 2.0 * cb / (median_ms(lambda i: dst.copy_(src), 1, 20) * 1e-3)
    del src, dst
    print("device: %s; measured copy bandwidth %.0f GB/s (read + write)" % (torch.cuda.get_device_name(), bw / 1e9))
    print("%-52s %10s %10s %12s %8s %11s %10s" % ("triton kernel / shape", "time us", "GB moved", "GB/s", "frac",
                                                  "1-launch us", "eager us"))

    def row(name, ms, moved):
        s, g, e = ms
        print("%-52s %10.2f %10.4f %12.0f %8.2f %11.2f %10.2f" % (name, s * 1e3, moved / 1e9, moved / (s * 1e-3) / 1e9,
                                                               moved / (s * 1e-3) / bw, g * 1e3, e * 1e3))

    for name, rows, n in (("q8 K1 q t=1024 (65536 x 128)", 65536, 128), ("q8 K2 q_norm t=4096 (4096 x 1536)", 4096, 1536),
                          ("q8 K1 q t=4096 (262144 x 128)", 262144, 128),
                          ("q8 K2 q_norm t=16384 (16384 x 1536)", 16384, 1536), ("q8 K1 q t=16 (1024 x 128)", 1024, 128)):
        in_b, out_b = rows * n * 2, rows * n + rows * 4
        sets = max(1, ROTATE // (in_b + out_b))
        bufs = [(rand_bf16((rows, n), i + 1), torch.empty(rows, n, dtype=torch.int8, device="cuda"),
                 torch.empty(rows, 1, dtype=torch.float32, device="cuda")) for i in range(sets)]
        # rint, no floor, fp32 scale (as bench.cu); check=False: no host-side precondition sync.
        ms = timed(lambda i: q8(bufs[i][0], out=(bufs[i][1], bufs[i][2]), check=False), sets)
        row("triton " + name, ms, in_b + out_b)
        del bufs

    for M in (128, 4096, 16384):
        K, top_k = 7168, 8
        in_b, fp4_b, sf_b, tk_in, tk_out = M * K * 2, M * K // 2, M * K // 16, M * top_k * 8, M * top_k * 12
        per = in_b + fp4_b + sf_b + tk_in + tk_out
        sets = max(1, ROTATE // per)
        bufs = []
        for i in range(sets):
            bufs.append((rand_bf16((M, K), i + 7), torch.zeros(M, top_k, dtype=torch.float32, device="cuda"),
                         torch.zeros(M, top_k, dtype=torch.int32, device="cuda"),
                         torch.empty(M, K // 2, dtype=torch.uint8, device="cuda"),
                         torch.empty(M, K // 64, dtype=torch.int32, device="cuda"),
                         torch.empty(M, top_k, dtype=torch.int64, device="cuda"),
                         torch.empty(M, top_k, dtype=torch.float32, device="cuda")))
        ms = timed(lambda i: _stage_deepseek_v4_mega_moe_inputs(*bufs[i]), sets)
        row("triton K4 source nvfp4_stage M=%d K=7168 top_k=8" % M, ms, per)
        del bufs


if __name__ == "__main__":
    main()
