// Timing of the CUDA plug-in's kernels at real DeepSeek shapes, against the GPU's bandwidth
// measured in the same run (a large device-to-device copy, bytes read + written), with CUDA
// events: warm-up, then the median of many launches, inputs rotated over buffer sets larger than
// L2 so that every launch reads from HBM. Both kernels are memory-bound: the limit is the bytes
// that must move (inputs read once, outputs written once) over the measured bandwidth.
//   kcs_cuda_bench            prints one table row per shape
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

template <class F>
float median_ms(F&& launch, int sets, int reps) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  for (int i = 0; i < 5; ++i) launch(i % sets);
  CK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CK(cudaEventRecord(a));
    launch(i % sets);
    CK(cudaEventRecord(b));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CK(cudaGetLastError());
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

}  // namespace

int main() {
  cudaDeviceProp p{};
  CK(cudaGetDeviceProperties(&p, 0));
  // Bandwidth ceiling: a 1 GiB device-to-device copy, bytes read + written.
  const size_t cb = size_t{1} << 30;
  void *src, *dst;
  CK(cudaMalloc(&src, cb));
  CK(cudaMalloc(&dst, cb));
  CK(cudaMemset(src, 1, cb));
  const float copy_ms = median_ms([&](int) { CK(cudaMemcpyAsync(dst, src, cb, cudaMemcpyDeviceToDevice)); }, 1, 20);
  const double bw = 2.0 * cb / (copy_ms * 1e-3);
  CK(cudaFree(src));
  CK(cudaFree(dst));
  std::printf("device: %s, %d SMs; measured copy bandwidth %.0f GB/s (read + write)\n", p.name,
              p.multiProcessorCount, bw / 1e9);
  std::printf("%-44s %10s %10s %12s %8s\n", "kernel / shape", "time us", "GB moved", "GB/s", "frac");

  // Q8 over BF16 rows: K1 q (t x 64 heads rows of 128), K2 q_norm (t rows of 1536).
  struct Q8Shape {
    const char* name;
    int64_t rows, n;
  };
  for (const Q8Shape& s : {Q8Shape{"q8 K1 q t=1024 (65536 x 128)", 65536, 128},
                           Q8Shape{"q8 K2 q_norm t=4096 (4096 x 1536)", 4096, 1536},
                           Q8Shape{"q8 K1 q t=16 (1024 x 128)", 1024, 128}}) {
    const size_t in_b = static_cast<size_t>(s.rows * s.n) * 2, out_b = static_cast<size_t>(s.rows * s.n) + s.rows * 4;
    const int sets = static_cast<int>(std::max<size_t>(1, kRotateBytes / (in_b + out_b)));
    std::vector<void*> x(sets), c(sets), sc(sets);
    for (int i = 0; i < sets; ++i) {
      CK(cudaMalloc(&x[i], in_b));
      CK(cudaMalloc(&c[i], static_cast<size_t>(s.rows * s.n)));
      CK(cudaMalloc(&sc[i], static_cast<size_t>(s.rows) * 4));
      fill_random(x[i], in_b, static_cast<uint32_t>(i + 1), true);
    }
    const float ms = median_ms(
        [&](int i) {
          kcs_cuda::Q8Args a{x[i], kcs_cuda::kBF16, s.rows, s.n, false, false, false,
                             static_cast<int8_t*>(c[i]), sc[i]};
          const int L = kcs_cuda::q8_lanes(s.n);
          kcs_cuda::q8_kernel<<<static_cast<unsigned>((s.rows * L + 255) / 256), 256>>>(a, L);
        },
        sets, 200);
    const double moved = static_cast<double>(in_b + out_b);
    std::printf("%-44s %10.2f %10.4f %12.0f %8.2f\n", s.name, ms * 1e3, moved / 1e9, moved / (ms * 1e-3) / 1e9,
                moved / (ms * 1e-3) / bw);
    for (int i = 0; i < sets; ++i) {
      CK(cudaFree(x[i]));
      CK(cudaFree(c[i]));
      CK(cudaFree(sc[i]));
    }
  }

  // NVFP4 staging, K = 7168, top_k = 8: read BF16 once, write 4.25 bits per element + top-k.
  for (int64_t M : {int64_t{128}, int64_t{4096}, int64_t{16384}}) {
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
    {
      const float ms = median_ms(
          [&](int i) {
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
            kcs_cuda::nvfp4_stage_kernel<<<static_cast<unsigned>((M * (K / 32) + 255) / 256), 256>>>(a);
          },
          sets, 200);
      char name[96];
      std::snprintf(name, sizeof name, "nvfp4_stage M=%lld K=7168 top_k=8", static_cast<long long>(M));
      const double moved = static_cast<double>(per);
      std::printf("%-44s %10.2f %10.4f %12.0f %8.2f\n", name, ms * 1e3, moved / 1e9, moved / (ms * 1e-3) / 1e9,
                  moved / (ms * 1e-3) / bw);
    }
    for (int i = 0; i < sets; ++i)
      for (void* q : {x[i], f[i], sf[i], ids[i], w[i], ido[i], wo[i]}) CK(cudaFree(q));
  }
  return 0;
}
