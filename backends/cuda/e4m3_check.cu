// On the GPU: the staging kernel's fast path codes a group's scale with the hardware's
// cvt.rn.satfinite.e4m3x2.f32 (kernels.cuh, e4m3_rn_hw); here it is checked against e4m3_encode
// (the definition's round-to-nearest-even steps) for every binary32 scale in [0, 448], all that the
// fast path can see. KCS_E4M3_BREAK=1 flips one code to show that the check fails.
//   kcs_cuda_e4m3_check       exit 0 when every code matches
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#include "backends/cuda/kernels.cuh"

namespace {

__global__ void check(uint32_t last, uint32_t broken, unsigned long long* bad, uint32_t* first) {
  for (uint64_t u = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; u <= last;
       u += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    const float s = __uint_as_float(static_cast<uint32_t>(u));
    uint32_t hw = kcs_cuda::e4m3_rn_hw(s);
    if (u == broken) hw ^= 1;
    if (hw != kcs_cuda::e4m3_encode(s)) {
      atomicAdd(bad, 1ull);
      atomicMin(first, static_cast<uint32_t>(u));
    }
  }
}

}  // namespace

int main() {
  unsigned long long* bad;
  uint32_t* first;
  if (cudaMalloc(&bad, 8) != cudaSuccess || cudaMalloc(&first, 4) != cudaSuccess) {
    std::fprintf(stderr, "no GPU\n");
    return 2;
  }
  cudaMemset(bad, 0, 8);
  cudaMemset(first, 0xFF, 4);
  const uint32_t last = 0x43E00000u;  // 448
  check<<<4096, 256>>>(last, std::getenv("KCS_E4M3_BREAK") ? 0x3F800000u : 0xFFFFFFFFu, bad, first);
  unsigned long long h = 0;
  uint32_t f = 0;
  if (cudaMemcpy(&h, bad, 8, cudaMemcpyDeviceToHost) != cudaSuccess ||
      cudaMemcpy(&f, first, 4, cudaMemcpyDeviceToHost) != cudaSuccess) {
    std::fprintf(stderr, "check kernel failed: %s\n", cudaGetErrorString(cudaGetLastError()));
    return 2;
  }
  std::printf("e4m3 hardware conversion vs e4m3_encode, %u scales in [0, 448]: %llu mismatches", last + 1, h);
  if (h) std::printf(" (first at bits 0x%08x)", f);
  std::printf("\n");
  return h ? 1 : 0;
}
