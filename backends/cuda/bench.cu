// Timing of the CUDA plug-in's kernels at real DeepSeek shapes, against the GPU's bandwidth
// measured in the same run (a large device-to-device copy, bytes read + written), with CUDA
// events: warm-up, then the median of many launches, inputs rotated over buffer sets larger than
// L2 so that every launch reads from HBM. Both kernels are memory-bound: the limit is the bytes
// that must move (inputs read once, outputs written once) over the measured bandwidth.
// Each row gives two times: back to back (the kernels' own time, as Triton's do_bench and a model
// running many kernels see it) and a single launch with the host waiting (launch latency included).
//   kcs_cuda_bench            prints one table row per shape
//   KCS_CUDA_BENCH_VARIANTS=1 adds rows for the other kernel configurations (lanes x chunks x rows
//                             of Q8, groups a lane of NVFP4 staging)
//   KCS_CUDA_BENCH_ONLY=text  times only the rows whose name holds text (for a profiler)
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cuda/kernels.cuh"

#define CK(x)                                                                               \
  do {                                                                                      \
    cudaError_t e_ = (x);                                                                   \
    if (e_ != cudaSuccess) {                                                                \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

namespace {

constexpr size_t kRotateBytes = size_t{256} << 20;  // > 5x the 50 MB L2 of an H100

struct Times {
  float stream_ms;  // per launch, back to back (a CUDA graph of many launches over rotated sets)
  float single_ms;  // one launch between two events, the host waiting after each
};

// launch(set, stream). The stream time: a graph of >= 20 launches cycling over the buffer sets,
// replayed 15 times between events; the median replay / launches. The GPU never waits for the
// host, so the time is the kernels' own (as Triton's do_bench measures): no launch latency.
template <class F>
Times time_launches(F&& launch, int sets, int reps) {
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  for (int i = 0; i < 5; ++i) launch(i % sets, st);
  CK(cudaStreamSynchronize(st));
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CK(cudaEventRecord(a, st));
    launch(i % sets, st);
    CK(cudaEventRecord(b, st));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  const float single = t[t.size() / 2];
  // KCS_CUDA_BENCH_QUICK: warm-up and the single launches only (for a profiler: 5 + reps launches
  // a shape, in the table's order).
  if (std::getenv("KCS_CUDA_BENCH_QUICK")) return {single, single};
  const int n = std::max(20, sets);
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < n; ++i) launch(i % sets, st);
  CK(cudaStreamEndCapture(st, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  CK(cudaGraphLaunch(ge, st));
  CK(cudaStreamSynchronize(st));
  t.clear();
  for (int i = 0; i < 15; ++i) {
    CK(cudaEventRecord(a, st));
    CK(cudaGraphLaunch(ge, st));
    CK(cudaEventRecord(b, st));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms / static_cast<float>(n));
  }
  CK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  CK(cudaStreamDestroy(st));
  return {t[t.size() / 2], single};
}

float median_copy_ms(void* dst, const void* src, size_t bytes) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<float> t;
  for (int i = 0; i < 23; ++i) {
    CK(cudaEventRecord(a));
    CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice));
    CK(cudaEventRecord(b));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    if (i >= 3) t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void fill_random(void* d, size_t bytes, uint32_t seed, bool bf16) {
  std::vector<uint16_t> h(bytes / 2);
  uint32_t s = seed * 2654435761u + 1;
  for (auto& v : h) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    // BF16 values in about [-4, 4]: sign, exponent 120..128, random mantissa.
    v = bf16 ? static_cast<uint16_t>((s & 0x8000u) | ((120u + (s >> 8) % 9u) << 7) | (s >> 20 & 0x7Fu))
             : static_cast<uint16_t>(s);
  }
  CK(cudaMemcpy(d, h.data(), bytes, cudaMemcpyHostToDevice));
}

// FP32 values in [-1, 1).
void fill_f32(void* d, size_t count, uint32_t seed) {
  std::vector<float> h(count);
  uint32_t s = seed * 2654435761u + 1;
  for (auto& v : h) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    v = static_cast<float>(s >> 8) / 8388608.0f - 1.0f;
  }
  CK(cudaMemcpy(d, h.data(), count * 4, cudaMemcpyHostToDevice));
}

double g_bw = 0;

bool wanted(const char* name) {
  const char* only = std::getenv("KCS_CUDA_BENCH_ONLY");
  return !only || std::strstr(name, only) != nullptr;
}

void print_row(const char* name, Times t, double moved) {
  const double s = t.stream_ms * 1e-3;
  std::printf("%-44s %10.2f %10.4f %12.0f %8.2f %10.2f\n", name, s * 1e6, moved / 1e9, moved / s / 1e9,
              moved / s / g_bw, t.single_ms * 1e3);
}

}  // namespace

int main() {
  const int reps = std::getenv("KCS_CUDA_BENCH_QUICK") ? 4 : 200;
  cudaDeviceProp p{};
  CK(cudaGetDeviceProperties(&p, 0));
  // Bandwidth ceiling: a 1 GiB device-to-device copy, bytes read + written.
  const size_t cb = size_t{1} << 30;
  void *src, *dst;
  CK(cudaMalloc(&src, cb));
  CK(cudaMalloc(&dst, cb));
  CK(cudaMemset(src, 1, cb));
  g_bw = 2.0 * cb / (median_copy_ms(dst, src, cb) * 1e-3);
  CK(cudaFree(src));
  CK(cudaFree(dst));
  std::printf("device: %s, %d SMs; measured copy bandwidth %.0f GB/s (read + write)\n", p.name,
              p.multiProcessorCount, g_bw / 1e9);
  std::printf("time us: per launch, back to back (graph of launches over rotated inputs); "
              "1-launch us: one launch between events, host synchronised after each\n");
  std::printf("%-44s %10s %10s %12s %8s %10s\n", "kernel / shape", "time us", "GB moved", "GB/s", "frac",
              "1-launch us");

  // Q8 over BF16 rows: K1 q (t x 64 heads rows of 128), K2 q_norm (t rows of 1536).
  struct Q8Shape {
    const char* name;
    int64_t rows, n;
  };
  using Q8Launch = void (*)(const kcs_cuda::Q8Args&, cudaStream_t);
  struct Q8Variant {
    const char* name;
    int64_t n;  // 0: any
    Q8Launch launch;
  };
  std::vector<Q8Variant> q8v{{"", 0, [](const kcs_cuda::Q8Args& a, cudaStream_t st) { kcs_cuda::q8_launch(a, st); }}};
  if (std::getenv("KCS_CUDA_BENCH_VARIANTS")) {
    q8v.push_back({" [L4 CH4 R1]", 128, kcs_cuda::q8_launch_reg<4, 4, 1>});
    q8v.push_back({" [L8 CH2 R1]", 128, kcs_cuda::q8_launch_reg<8, 2, 1>});
    q8v.push_back({" [L8 CH2 R2]", 128, kcs_cuda::q8_launch_reg<8, 2, 2>});
    q8v.push_back({" [L8 CH2 R1 B128]", 128, kcs_cuda::q8_launch_reg<8, 2, 1, 128>});
    q8v.push_back({" [L16 CH1 R2]", 128, kcs_cuda::q8_launch_reg<16, 1, 2>});
    q8v.push_back({" [L32 CH6 R1]", 1536, kcs_cuda::q8_launch_reg<32, 6, 1>});
    q8v.push_back({" [L32 CH6 R1 B128]", 1536, kcs_cuda::q8_launch_reg<32, 6, 1, 128>});
    q8v.push_back({" [L32 CH6 R1 B512]", 1536, kcs_cuda::q8_launch_reg<32, 6, 1, 512>});
    q8v.push_back({" [L16 CH12 R1]", 1536, kcs_cuda::q8_launch_reg<16, 12, 1>});
  }
  for (const Q8Shape& s : {Q8Shape{"q8 K1 q t=1024 (65536 x 128)", 65536, 128},
                           Q8Shape{"q8 K2 q_norm t=4096 (4096 x 1536)", 4096, 1536},
                           Q8Shape{"q8 K1 q t=4096 (262144 x 128)", 262144, 128},
                           Q8Shape{"q8 K2 q_norm t=16384 (16384 x 1536)", 16384, 1536},
                           Q8Shape{"q8 K1 q t=16 (1024 x 128)", 1024, 128}})
  for (const Q8Variant& var : q8v) {
    if (var.n && var.n != s.n) continue;
    const std::string rowname = std::string(s.name) + var.name;
    if (!wanted(rowname.c_str())) continue;
    const size_t in_b = static_cast<size_t>(s.rows * s.n) * 2, out_b = static_cast<size_t>(s.rows * s.n) + s.rows * 4;
    const int sets = static_cast<int>(std::max<size_t>(1, kRotateBytes / (in_b + out_b)));
    std::vector<void*> x(sets), c(sets), sc(sets);
    for (int i = 0; i < sets; ++i) {
      CK(cudaMalloc(&x[i], in_b));
      CK(cudaMalloc(&c[i], static_cast<size_t>(s.rows * s.n)));
      CK(cudaMalloc(&sc[i], static_cast<size_t>(s.rows) * 4));
      fill_random(x[i], in_b, static_cast<uint32_t>(i + 1), true);
    }
    const Times t = time_launches(
        [&](int i, cudaStream_t st) {
          kcs_cuda::Q8Args a{x[i], kcs_cuda::kBF16, s.rows, s.n, false, false, false,
                             static_cast<int8_t*>(c[i]), sc[i]};
          var.launch(a, st);
        },
        sets, reps);
    print_row(rowname.c_str(), t, static_cast<double>(in_b + out_b));
    for (int i = 0; i < sets; ++i) {
      CK(cudaFree(x[i]));
      CK(cudaFree(c[i]));
      CK(cudaFree(sc[i]));
    }
  }

  // NVFP4 staging, K = 7168, top_k = 8: read BF16 once, write 4.25 bits per element + top-k.
  const int n_groups_variants = std::getenv("KCS_CUDA_BENCH_VARIANTS") ? 4 : 1;
  for (int64_t M : {int64_t{128}, int64_t{4096}, int64_t{16384}})
  for (int gv = 0; gv < n_groups_variants; ++gv) {
    const int G = gv == 3 ? 4 : gv;  // 0: nvfp4_stage_launch's choice
    char name[96];
    std::snprintf(name, sizeof name, gv ? "nvfp4_stage M=%lld K=7168 top_k=8 [G%d]" : "nvfp4_stage M=%lld K=7168 top_k=8",
                  static_cast<long long>(M), G);
    if (!wanted(name)) continue;
    const int64_t K = 7168, top_k = 8;
    const size_t in_b = static_cast<size_t>(M * K) * 2, fp4_b = static_cast<size_t>(M * K / 2),
                 sf_b = static_cast<size_t>(M * K / 16), tk_in = static_cast<size_t>(M * top_k) * 8,
                 tk_out = static_cast<size_t>(M * top_k) * 12;
    const size_t per = in_b + fp4_b + sf_b + tk_in + tk_out;
    const int sets = static_cast<int>(std::max<size_t>(1, kRotateBytes / per));
    std::vector<void*> x(sets), f(sets), sf(sets), ids(sets), w(sets), ido(sets), wo(sets);
    for (int i = 0; i < sets; ++i) {
      CK(cudaMalloc(&x[i], in_b));
      CK(cudaMalloc(&f[i], fp4_b));
      CK(cudaMalloc(&sf[i], sf_b));
      CK(cudaMalloc(&ids[i], static_cast<size_t>(M * top_k) * 4));
      CK(cudaMalloc(&w[i], static_cast<size_t>(M * top_k) * 4));
      CK(cudaMalloc(&ido[i], static_cast<size_t>(M * top_k) * 8));
      CK(cudaMalloc(&wo[i], static_cast<size_t>(M * top_k) * 4));
      fill_random(x[i], in_b, static_cast<uint32_t>(i + 7), true);
      CK(cudaMemset(ids[i], 0, static_cast<size_t>(M * top_k) * 4));
      CK(cudaMemset(w[i], 0, static_cast<size_t>(M * top_k) * 4));
    }
    const Times t = time_launches(
        [&](int i, cudaStream_t st) {
          kcs_cuda::StageArgs a{};
          a.x = x[i];
          a.x_dtype = kcs_cuda::kBF16;
          a.M = M;
          a.K = K;
          a.top_k = top_k;
          a.ids = ids[i];
          a.weights = static_cast<const float*>(w[i]);
          a.x_fp4 = static_cast<uint8_t*>(f[i]);
          a.x_sf = static_cast<uint8_t*>(sf[i]);
          a.ids_out = static_cast<int64_t*>(ido[i]);
          a.weights_out = static_cast<float*>(wo[i]);
          if (gv == 0) return kcs_cuda::nvfp4_stage_launch(a, st);
          const unsigned blocks = static_cast<unsigned>((M * K + 256 * 16 * G - 1) / (256 * 16 * G));
          if (G == 1)
            kcs_cuda::nvfp4_stage_kernel<kcs_cuda::kBF16, false, 1><<<blocks, 256, 0, st>>>(a);
          else if (G == 2)
            kcs_cuda::nvfp4_stage_kernel<kcs_cuda::kBF16, false, 2><<<blocks, 256, 0, st>>>(a);
          else
            kcs_cuda::nvfp4_stage_kernel<kcs_cuda::kBF16, false, 4><<<blocks, 256, 0, st>>>(a);
        },
        sets, reps);
    print_row(name, t, static_cast<double>(per));
    for (int i = 0; i < sets; ++i)
      for (void* q : {x[i], f[i], sf[i], ids[i], w[i], ido[i], wo[i]}) CK(cudaFree(q));
  }

  // K5 compressor at DeepSeek V4 shapes (C 512, C_I 128, NOPE 448, ROPE 64), BF16 projections
  // rotated; bytes as bench/compressor_bench.cc counts them (projection rows read + BF16 outputs).
  struct CompShape {
    const char* name;
    bool csa, model;
    int64_t n_blocks, M;
  };
  for (const CompShape& s : {CompShape{"compressor csa model n_blocks=1024", true, true, 1024, 4},
                             CompShape{"compressor csa fused n_blocks=1024", true, false, 1024, 4},
                             CompShape{"compressor hca model n_blocks=64", false, true, 64, 128}}) {
    if (!wanted(s.name)) continue;
    const int64_t C = 512, CI = s.csa ? 128 : 0, ROPE = 64, G = s.csa ? 2 : 1, N = s.n_blocks * s.M,
                  P = N + s.M;
    const size_t proj_b = static_cast<size_t>(N * G * 2 * C) * 2, pi_b = static_cast<size_t>(N * G * 2 * CI) * 2;
    const int sets = static_cast<int>(std::max<size_t>(1, kRotateBytes / (proj_b + pi_b)));
    std::vector<void*> pr(sets), pi(sets);
    for (int i = 0; i < sets; ++i) {
      CK(cudaMalloc(&pr[i], proj_b));
      fill_random(pr[i], proj_b, static_cast<uint32_t>(i + 11), true);
      pi[i] = nullptr;
      if (pi_b) {
        CK(cudaMalloc(&pi[i], pi_b));
        fill_random(pi[i], pi_b, static_cast<uint32_t>(i + 13), true);
      }
    }
    void *ape, *apei, *nw, *nwi, *had, *tab, *out, *outi;
    CK(cudaMalloc(&ape, static_cast<size_t>(G * s.M * C) * 4));
    CK(cudaMalloc(&apei, static_cast<size_t>(G * s.M * std::max<int64_t>(CI, 1)) * 4));
    CK(cudaMalloc(&nw, static_cast<size_t>(C) * 4));
    CK(cudaMalloc(&nwi, static_cast<size_t>(std::max<int64_t>(CI, 1)) * 4));
    CK(cudaMalloc(&had, static_cast<size_t>(std::max<int64_t>(CI * CI, 1)) * 2));
    CK(cudaMalloc(&tab, static_cast<size_t>(P * ROPE) * 4));
    CK(cudaMalloc(&out, static_cast<size_t>(s.n_blocks * C) * 2));
    CK(cudaMalloc(&outi, static_cast<size_t>(s.n_blocks * std::max<int64_t>(CI, 1)) * 2));
    fill_f32(ape, static_cast<size_t>(G * s.M * C), 1);
    fill_f32(apei, static_cast<size_t>(G * s.M * std::max<int64_t>(CI, 1)), 2);
    fill_f32(nw, static_cast<size_t>(C), 3);
    fill_f32(nwi, static_cast<size_t>(std::max<int64_t>(CI, 1)), 4);
    fill_random(had, static_cast<size_t>(std::max<int64_t>(CI * CI, 1)) * 2, 5, true);
    fill_f32(tab, static_cast<size_t>(P * ROPE), 6);
    const Times t = time_launches(
        [&](int i, cudaStream_t st) {
          kcs_cuda::CompressorArgs a{};
          a.csa = s.csa;
          a.model = s.model;
          a.proj_bf16 = true;
          a.n_blocks = s.n_blocks;
          a.M = s.M;
          a.ROPE = ROPE;
          a.eps = 1e-6;
          a.table = tab;
          a.head[0] = {pr[i], nullptr, static_cast<const float*>(ape), static_cast<const float*>(nw), nullptr,
                       static_cast<uint16_t*>(out), C, C - ROPE, true};
          a.n_heads = 1;
          if (s.csa) {
            a.head[1] = {pi[i], nullptr, static_cast<const float*>(apei), static_cast<const float*>(nwi),
                         s.model ? static_cast<const uint16_t*>(had) : nullptr, static_cast<uint16_t*>(outi), CI,
                         CI - ROPE, s.model};
            a.n_heads = 2;
          }
          kcs_cuda::compressor_launch(a, st);
        },
        sets, reps / 4);
    const double moved = static_cast<double>(N) * static_cast<double>(s.csa ? 4 * (C + CI) : 2 * C) * 2 +
                         static_cast<double>(s.n_blocks * (C + CI)) * 2;
    print_row(s.name, t, moved);
    for (int i = 0; i < sets; ++i) {
      CK(cudaFree(pr[i]));
      if (pi[i]) CK(cudaFree(pi[i]));
    }
    for (void* q : {ape, apei, nw, nwi, had, tab, out, outi}) CK(cudaFree(q));
  }
  return 0;
}
