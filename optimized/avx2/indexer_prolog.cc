// K1 indexer_prolog, AVX2 + FMA + F16C pieces: the direct (unpacked) BF16 GEMM of decode tiles
// and the weights epilogue. Same operation order as the AVX-512 file (optimized/indexer_prolog.h),
// so both give the same bits. No inline helpers of shared headers here (see optimized/avx512/q8.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/indexer_prolog.h"

namespace kcs::opt {

namespace {

constexpr int kNb = 4;   // 8-column vectors per column block (32 columns)
constexpr int kCols = 8 * kNb;

inline float widen(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// One W row segment of the block: straight from W when the block is whole, else through a
// zero-padded copy (AVX2 has no masked 16-bit loads).
inline const uint16_t* row_seg(const uint16_t* w, int64_t width, uint16_t* pad) {
  if (width == kCols) return w;
  std::memset(pad, 0, sizeof(uint16_t) * kCols);
  std::memcpy(pad, w, sizeof(uint16_t) * static_cast<size_t>(width));
  return pad;
}

template <int MR>
void block(const Bf16Direct& g, int64_t r0, int64_t c, int64_t n0, int64_t width) {
  const int64_t K = g.k;
  const int64_t kb = g.k_block > 0 ? (g.k_block + 1) / 2 * 2 : (K + 1) / 2 * 2;
  const int nv = static_cast<int>((width + 7) / 8);
  alignas(32) uint16_t pad0[kCols], pad1[kCols];
  for (int64_t k0 = 0; k0 < K; k0 += kb) {
    const int64_t k1 = k0 + kb < K ? k0 + kb : K;
    __m256 acc[MR][kNb];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNb; ++j) acc[r][j] = _mm256_setzero_ps();
    for (int64_t k = k0; k < k1; k += 2) {
      const bool odd = k + 1 < K;  // false: the zero pad of an odd K
      __m256 a1[MR], a0[MR];
      for (int r = 0; r < MR; ++r) {
        const uint16_t* ar = g.a + (r0 + r) * g.lda;
        a1[r] = _mm256_set1_ps(odd ? widen(ar[k + 1]) : 0.0f);
        a0[r] = _mm256_set1_ps(widen(ar[k]));
      }
      const uint16_t* w0 = row_seg(g.w + k * g.ldw + c, width, pad0);
      const uint16_t* w1 = odd ? row_seg(g.w + (k + 1) * g.ldw + c, width, pad1) : nullptr;
      for (int j = 0; j < nv; ++j) {
        const __m256 wo = odd ? load_bf16(w1 + 8 * j) : _mm256_setzero_ps();
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm256_fmadd_ps(a1[r], wo, acc[r][j]);
        const __m256 we = load_bf16(w0 + 8 * j);
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm256_fmadd_ps(a0[r], we, acc[r][j]);
      }
    }
    for (int r = 0; r < MR; ++r) {
      float* y = g.y + (r0 + r) * g.ldy + (c - n0);
      alignas(32) float tmp[kCols];
      if (k0 > 0) std::memcpy(tmp, y, sizeof(float) * static_cast<size_t>(width));
      for (int j = 0; j < nv; ++j) {
        __m256 v = acc[r][j];
        if (k0 > 0) v = _mm256_add_ps(_mm256_load_ps(tmp + 8 * j), v);
        _mm256_store_ps(tmp + 8 * j, v);
      }
      std::memcpy(y, tmp, sizeof(float) * static_cast<size_t>(width));
    }
  }
}

}  // namespace

void ip_bf16_direct_avx2(const Bf16Direct& g, int64_t n0, int64_t n1) {
  if (g.m <= 0 || n1 <= n0) return;
  for (int64_t c = n0; c < n1; c += kCols) {
    const int64_t width = n1 - c < kCols ? n1 - c : kCols;
    int64_t r = 0;
    for (; r + 2 <= g.m; r += 2) block<2>(g, r, c, n0, width);
    if (r < g.m) block<1>(g, r, c, n0, width);
  }
}

void ip_weights_avx2(const uint16_t* wb, int64_t n, float c, uint16_t* out) {
  const __m256 cv = _mm256_set1_ps(c);
  alignas(16) uint16_t in[8], res[8];
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t len = n - j < 8 ? n - j : 8;
    std::memset(in, 0, sizeof in);
    std::memcpy(in, wb + j, sizeof(uint16_t) * static_cast<size_t>(len));
    const __m256 v = _mm256_mul_ps(load_bf16(in), cv);
    _mm_store_si128(reinterpret_cast<__m128i*>(res), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    std::memcpy(out + j, res, sizeof(uint16_t) * static_cast<size_t>(len));
  }
}

}  // namespace kcs::opt
