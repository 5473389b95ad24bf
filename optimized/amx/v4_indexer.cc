// K3 score path on AMX (scheme and numerics: optimized/v4_indexer.h). The int8 products run as
// tile products, everything else as in the AVX-512 variant, in the same order, so the bits are the
// same:
//   C[h][row] = Σ_k A[h][k] · B[k][row]     tdpbssd, s8 x s8 -> int32: exact, the VNNI acc
//   A = the token's qh codes [16 heads][64 K bytes], a per-call copy zero-padded to whole tiles
//   B = 16 cache rows' codes in the [K quad][row] dword layout, written by the fused row Q8: a
//       16-row block's 64-code chunks are quantized in registers and transposed into B rows.
// The K order inside each 64-code chunk is the one the packing instructions leave (no reordering
// permute per chunk): A gets the same order once per call, and an exact integer sum does not
// depend on its order. Tiles: 0-3 C (2 head tiles x 2 row tiles), 4-5 A, 6-7 B; one ldtilecfg
// per call, tilerelease at its end. The next row group is quantized while the current group's
// tile products run (they execute on the tile unit, the Q8 on the vector ports).
// No inline helper of the kcs headers and no std container is used here (ISA objects emit no weak
// symbols: tools/check_isa_objects.cmake).
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "optimized/amx/tiles.h"
#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kTileRows = 16;  // rows of a B tile (lanes), heads of an A tile
constexpr int kGroup = 32;     // cache rows per group: 2 B tiles
constexpr int kHeadPair = 32;  // heads per pass: 2 A tiles
constexpr int64_t kChunk = 64; // K bytes per tile step
constexpr int64_t kMaxDh = 4096;  // the adapter's bound (optimized/v4_indexer.cc)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t lesser(int64_t a, int64_t b) { return a < b ? a : b; }

// Per-thread buffers, grown on demand.
struct Buffers {
  int8_t* qa = nullptr;    // A: [Hp][KP] permuted qh codes
  int8_t* kvt = nullptr;   // B: 2 groups x 2 tiles x [KP / 4 quads][16 rows] dwords
  int8_t* slow = nullptr;  // BF16 [16][KP]: engine codes of a block's rows, as BF16
  size_t qa_bytes = 0, kvt_bytes = 0, slow_bytes = 0;
  alignas(64) int32_t acc[kHeadPair * kGroup];  // C: [32 heads][32 rows]
  ~Buffers() {
    std::free(qa);
    std::free(kvt);
    std::free(slow);
  }
};
thread_local Buffers t_buf;

bool grow(int8_t*& p, size_t& have, size_t need) {
  if (need <= have) return true;
  std::free(p);
  p = static_cast<int8_t*>(std::aligned_alloc(64, static_cast<size_t>(round_up(static_cast<int64_t>(need), 64))));
  have = p ? need : 0;
  return p != nullptr;
}

// Q8 codes of 16 BF16 values (binary32 bit patterns) at scale s_q, as the Q8 engine rounds them
// (rint: to nearest even; rhaz: half away from zero), as int32.
template <bool kRhaz>
inline __m512i round16(__m512i bits, __m512 s_q) {
  const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(bits), s_q);
  if constexpr (kRhaz) {
    const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(y, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 away = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(_mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN)), _mm512_castps_si512(_mm512_set1_ps(1.0f))));
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, away));
  } else {
    return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

// 4 x 4 transpose of 128-bit lanes: out[L] = lane L of w[0], w[1], w[2], w[3].
inline void transpose_lanes(const __m512i* w, __m512i* out) {
  const __m512i c0 = _mm512_shuffle_i32x4(w[0], w[1], 0x44), c1 = _mm512_shuffle_i32x4(w[0], w[1], 0xEE);
  const __m512i c2 = _mm512_shuffle_i32x4(w[2], w[3], 0x44), c3 = _mm512_shuffle_i32x4(w[2], w[3], 0xEE);
  out[0] = _mm512_shuffle_i32x4(c0, c2, 0x88);
  out[1] = _mm512_shuffle_i32x4(c0, c2, 0xDD);
  out[2] = _mm512_shuffle_i32x4(c1, c3, 0x88);
  out[3] = _mm512_shuffle_i32x4(c1, c3, 0xDD);
}

// One 64-value K chunk of 16 rows (p[r]: the row's chunk, s[r]: its scale) quantized into the 16
// B-tile rows `out` ([16 quads][16 rows] dwords). The packs that narrow the codes combine 4 rows
// at a time, so they do half of the transpose: lane L of packs(e[r0..r3]) holds one quad of each
// of the 4 rows (values 2(4L + i) of the half, i = 0..3; the odd values likewise), and a 128-bit
// lane transpose over the 4 row groups finishes it. Signed saturation at each narrowing is the
// engine's (|code| <= 127 anyway).
template <bool kRhaz>
inline void chunk_tiles(const uint16_t* const* p, const float* s, int32_t* out) {
  const __m512i hi = _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
#pragma GCC unroll 2
  for (int half = 0; half < 2; ++half) {
    __m512i ev[4], od[4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      __m512i e[4], o[4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        const __m512 sv = _mm512_set1_ps(s[4 * g + i]);
        const __m512i x = _mm512_loadu_si512(p[4 * g + i] + 32 * half);
        e[i] = round16<kRhaz>(_mm512_slli_epi32(x, 16), sv);
        o[i] = round16<kRhaz>(_mm512_and_si512(x, hi), sv);
      }
      ev[g] = _mm512_packs_epi16(_mm512_packs_epi32(e[0], e[1]), _mm512_packs_epi32(e[2], e[3]));
      od[g] = _mm512_packs_epi16(_mm512_packs_epi32(o[0], o[1]), _mm512_packs_epi32(o[2], o[3]));
    }
    __m512i rows[4];
    transpose_lanes(ev, rows);
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) _mm512_store_si512(out + (8 * half + l) * 16, rows[l]);
    transpose_lanes(od, rows);
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) _mm512_store_si512(out + (8 * half + 4 + l) * 16, rows[l]);
  }
}

// The tile K order of a chunk: byte 4j + i of the chunk's B row j holds value perm[4j + i]. Derived
// by running chunk_tiles on rows whose values are their indices (exact in BF16, scale 1).
void chunk_order(uint8_t* perm) {
  alignas(64) uint16_t idx[64];
  for (int d = 0; d < 64; ++d) {
    const float f = static_cast<float>(d);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    idx[d] = static_cast<uint16_t>(b >> 16);
  }
  const uint16_t* p[16];
  float s[16];
  for (int r = 0; r < 16; ++r) p[r] = idx, s[r] = 1.0f;
  alignas(64) int32_t out[16 * 16];
  chunk_tiles<false>(p, s, out);
  for (int j = 0; j < 16; ++j) {
    uint32_t w = static_cast<uint32_t>(out[j * 16]);  // row 0's quad
    for (int i = 0; i < 4; ++i) perm[4 * j + i] = static_cast<uint8_t>(w >> (8 * i));
  }
}

// |bf16| maxima of 16 rows (p[r]: row r, Dh % 64 == 0) as binary32 bit patterns in lane r: per
// row a max over its 32-word vectors, then a tree that halves the words per row while doubling
// the rows per register (256-bit, 128-bit, 64-bit halves, then the words of a qword).
inline __m512i amax16(const uint16_t* const* p, int64_t Dh) {
  const __m512i abs_mask = _mm512_set1_epi16(0x7FFF);
  __m512i m[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) {
    __m512i a = _mm512_and_si512(_mm512_loadu_si512(p[r]), abs_mask);
    for (int64_t j = 32; j < Dh; j += 32) a = _mm512_max_epu16(a, _mm512_and_si512(_mm512_loadu_si512(p[r] + j), abs_mask));
    m[r] = a;
  }
  __m512i n1[8], n2[4], n3[2];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k)  // 128-bit lanes 0-1: row 2k, 2-3: row 2k+1
    n1[k] = _mm512_max_epu16(_mm512_shuffle_i64x2(m[2 * k], m[2 * k + 1], 0x44),
                             _mm512_shuffle_i64x2(m[2 * k], m[2 * k + 1], 0xEE));
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)  // lane L: row 4k + L
    n2[k] = _mm512_max_epu16(_mm512_shuffle_i64x2(n1[2 * k], n1[2 * k + 1], 0x88),
                             _mm512_shuffle_i64x2(n1[2 * k], n1[2 * k + 1], 0xDD));
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {  // lane L: qword 0 row 8k + L, qword 1 row 8k + 4 + L; then each dword's low word its row's max
    const __m512i q = _mm512_max_epu16(_mm512_unpacklo_epi64(n2[2 * k], n2[2 * k + 1]),
                                       _mm512_unpackhi_epi64(n2[2 * k], n2[2 * k + 1]));
    const __m512i d = _mm512_max_epu16(q, _mm512_shuffle_epi32(q, _MM_PERM_CDAB));
    n3[k] = _mm512_max_epu16(d, _mm512_srli_epi32(d, 16));
  }
  // lane L: rows L, 8 + L, 4 + L, 12 + L
  const __m512i t = _mm512_slli_epi32(_mm512_mask_blend_epi32(0xAAAA, n3[0], n3[1]), 16);
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15), t);
}

alignas(64) const uint16_t kZeroRow[kMaxDh] = {};

struct Order {
  uint8_t perm[64];
  bool deinterleave;  // perm == kDeinterleaved: the A copy uses deinterleave()
};
// The order chunk_tiles leaves: even then odd values of each 32-value half.
constexpr uint8_t kDeinterleaved[64] = {0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
                                        1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
                                        32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62,
                                        33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
// 64 bytes in kDeinterleaved order: evens then odds per 16-byte lane, then qwords regrouped.
inline __m512i deinterleave(__m512i x) {
  const __m512i lane = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 1, 3, 4, 6, 5, 7), _mm512_shuffle_epi8(x, lane));
}

struct Call {
  const V4ScoreArgs* a = nullptr;
  int64_t Dh = 0, KP = 0, chunks = 0;
  bool fast_ok = false;  // Dh % 64 == 0: rows are read in place (else each through the engine)
};

// Q8 of cache rows [0, n) of a 16-row block (n <= 16) into one B-tile column block `kvt`
// ([KP / 4][16] dwords) and the rows' dequant scales s_kv. The row decisions are the AVX-512
// variant's (optimized/v4_indexer-inl.h q8_scales): a non-finite amax or an overflowing 127 / amax
// goes to the Q8 engine, amax 0 gives zero codes and scale 0. Every row then takes the same path:
// engine rows as their codes written as BF16 (exact) at scale 1, zero rows and rows past n as a
// zero row at scale 0.
template <bool kRhaz>
void prep_block(const Call& c, const uint16_t* x, int64_t n, int32_t* kvt, float* s_kv, uint16_t* slow) {
  const V4ScoreArgs& a = *c.a;
  const int64_t Dh = c.Dh, KP = c.KP;
  const uint16_t* p[kTileRows];
  float s_q[kTileRows];
  // The scales of the 16 rows at once (rows past n read as zero rows, then dropped).
  alignas(64) uint32_t amax[kTileRows];
  alignas(64) float am[kTileRows], sq[kTileRows], sdq[kTileRows];
  for (int r = 0; r < kTileRows; ++r) p[r] = r < n ? x + r * Dh : kZeroRow;
  if (c.fast_ok) {
    _mm512_store_si512(amax, amax16(p, Dh));
    __m512 v = _mm512_load_ps(reinterpret_cast<const float*>(amax));
    if (a.q8.floor) v = _mm512_max_ps(v, _mm512_set1_ps(kQ8Floor));
    const __m512 q = _mm512_div_ps(_mm512_set1_ps(127.0f), v);
    _mm512_store_ps(am, v);
    _mm512_store_ps(sq, q);
    _mm512_store_ps(sdq, _mm512_div_ps(_mm512_set1_ps(1.0f), q));
  }
  for (int r = 0; r < kTileRows; ++r) {
    s_q[r] = 0.0f;
    s_kv[r] = 0.0f;
    if (r >= n) continue;
    const uint16_t* row = x + r * Dh;
    bool engine = !c.fast_ok;
    if (!engine) {
      uint32_t qbits;
      std::memcpy(&qbits, &sq[r], 4);
      if (amax[r] >= 0x7F800000u || (am[r] != 0.0f && qbits >= 0x7F800000u)) {
        engine = true;
      } else if (am[r] != 0.0f) {
        s_q[r] = sq[r];
        s_kv[r] = sdq[r];
      } else {
        p[r] = kZeroRow;
      }
    }
    if (engine) {
      int8_t codes[kMaxDh];
      Q8Rows qa;
      qa.x = row;
      qa.x_dtype = DType::bf16;
      qa.n = Dh;
      qa.params = a.q8;
      qa.codes = codes;
      qa.scale = &s_kv[r];
      qa.scale_dtype = DType::fp32;
      q8_rows_avx512(qa, 0, 1);
      uint16_t* out = slow + r * KP;
      for (int64_t d = 0; d < KP; ++d) {
        const float f = d < Dh ? static_cast<float>(codes[d]) : 0.0f;
        uint32_t b;
        std::memcpy(&b, &f, 4);
        out[d] = static_cast<uint16_t>(b >> 16);
      }
      p[r] = out;
      s_q[r] = 1.0f;
    }
  }
  for (int64_t ch = 0; ch < c.chunks; ++ch) {
    const uint16_t* pc[kTileRows];
    for (int r = 0; r < kTileRows; ++r) pc[r] = p[r] + ch * kChunk;
    chunk_tiles<kRhaz>(pc, s_q, kvt + ch * 16 * kTileRows);
  }
}

template <bool kRhaz>
void score_span(const V4ScoreArgs& a, int64_t j0, int64_t j1, Buffers& b, const Call& c) {
  const int64_t Dh = c.Dh, KP = c.KP, H = a.H, Hp = round_up(H, kHeadPair), pairs = Hp / kHeadPair;
  const int64_t tile_bytes = kTileRows * KP;  // one B tile column block
  int32_t* kvt[2] = {reinterpret_cast<int32_t*>(b.kvt), reinterpret_cast<int32_t*>(b.kvt + 2 * tile_bytes)};
  alignas(64) float s_kv[2][kGroup];
  int cur = 0;
  auto prep = [&](int buf, int64_t g, int block) {
    const int64_t r0 = g + block * kTileRows;
    prep_block<kRhaz>(c, a.cache + r0 * Dh, lesser(kTileRows, j1 - r0), kvt[buf] + block * (tile_bytes / 4),
                      s_kv[buf] + block * kTileRows, reinterpret_cast<uint16_t*>(b.slow));
  };
  prep(0, j0, 0);
  prep(0, j0, 1);
  const size_t ldq = static_cast<size_t>(KP), ldb = 64, ldc = kGroup * 4;
  for (int64_t g = j0; g < j1; g += kGroup) {
    const bool more = g + kGroup < j1;
    const int8_t* bt0 = reinterpret_cast<const int8_t*>(kvt[cur]);
    const int8_t* bt1 = bt0 + tile_bytes;
    __m512 score0 = _mm512_setzero_ps(), score1 = _mm512_setzero_ps();
    int blocks_done = 0;
    for (int64_t hp = 0; hp < pairs; ++hp) {
      const int8_t* a0 = b.qa + hp * kHeadPair * KP;
      const int8_t* a1 = a0 + kTileRows * KP;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t ch = 0; ch < c.chunks; ++ch) {
        KCS_TILE_LOADD(4, a0 + ch * kChunk, ldq);
        KCS_TILE_LOADD(5, a1 + ch * kChunk, ldq);
        KCS_TILE_LOADD(6, bt0 + ch * 16 * ldb, ldb);
        KCS_TILE_LOADD(7, bt1 + ch * 16 * ldb, ldb);
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
      }
      // The next group's Q8 while the tile unit works (its own buffer).
      if (more) {
        const int want = static_cast<int>(lesser(2, (2 * (hp + 1) + pairs - 1) / pairs));
        for (; blocks_done < want; ++blocks_done) prep(cur ^ 1, g + kGroup, blocks_done);
      }
      KCS_TILE_STORED(0, b.acc, ldc);
      KCS_TILE_STORED(1, b.acc + kTileRows, ldc);
      KCS_TILE_STORED(2, b.acc + kTileRows * kGroup, ldc);
      KCS_TILE_STORED(3, b.acc + kTileRows * kGroup + kTileRows, ldc);
      // f32(max(acc, 0)) ⊗ (s_qh ⊗ w), heads ascending (optimized/v4_indexer.h).
      const int64_t hn = lesser(kHeadPair, H - hp * kHeadPair);
      const __m512i zero = _mm512_setzero_si512();
      for (int64_t i = 0; i < hn; ++i) {
        const int64_t h = hp * kHeadPair + i;
        const __m512 cw = _mm512_set1_ps(a.s_qh[h] * a.w[h]);
        const __m512i c0 = _mm512_load_si512(b.acc + i * kGroup), c1 = _mm512_load_si512(b.acc + i * kGroup + kTileRows);
        score0 = _mm512_add_ps(score0, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_max_epi32(c0, zero)), cw));
        score1 = _mm512_add_ps(score1, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_max_epi32(c1, zero)), cw));
      }
    }
    if (more)
      for (; blocks_done < 2; ++blocks_done) prep(cur ^ 1, g + kGroup, blocks_done);
    const int64_t n = lesser(kGroup, j1 - g);
    const __mmask16 m0 = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
    const __mmask16 m1 = static_cast<__mmask16>(n >= 32 ? 0xFFFF : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    _mm512_mask_storeu_ps(a.score + g, m0, _mm512_mul_ps(score0, _mm512_load_ps(s_kv[cur])));
    _mm512_mask_storeu_ps(a.score + g + kTileRows, m1, _mm512_mul_ps(score1, _mm512_load_ps(s_kv[cur] + kTileRows)));
    cur ^= 1;
  }
}

}  // namespace

void v4_score_rows_amx(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  if (j1 <= j0) return;
  Call c;
  c.a = &a;
  c.Dh = a.Dh;
  c.KP = round_up(4 * a.Dq, kChunk);
  c.chunks = c.KP / kChunk;
  c.fast_ok = a.Dh % kChunk == 0;
  // The K order is a property of the instructions: derived once per process.
  static const Order order = [] {
    Order o;
    chunk_order(o.perm);
    o.deinterleave = true;
    for (int p = 0; p < 64; ++p) o.deinterleave = o.deinterleave && o.perm[p] == kDeinterleaved[p];
    return o;
  }();
  Buffers& b = t_buf;
  const int64_t Hp = round_up(a.H, kHeadPair);
  const bool ok = a.Dh <= kMaxDh && grow(b.qa, b.qa_bytes, static_cast<size_t>(Hp * c.KP)) &&
                  grow(b.kvt, b.kvt_bytes, static_cast<size_t>(4 * kTileRows * c.KP)) &&
                  grow(b.slow, b.slow_bytes, static_cast<size_t>(kTileRows * c.KP * 2));
  if (!ok) {  // no memory for the tile buffers: the AVX-512 variant needs none and gives the same bits
    v4_score_rows_avx512(a, j0, j1);
    return;
  }
  // A: qh codes (the AVX-512 dword layout: bytes qh[h, 4q .. 4q+3], 0 past Dh) in the tile K order.
  const int64_t qbytes = 4 * a.Dq;
  for (int64_t h = 0; h < Hp; ++h) {
    const int8_t* src = h < a.H ? reinterpret_cast<const int8_t*>(a.qh_dw + h * a.Dq) : nullptr;
    int8_t* dst = b.qa + h * c.KP;
    for (int64_t k = 0; k < c.KP; k += kChunk) {
      if (order.deinterleave) {
        const int64_t left = src ? lesser(kChunk, qbytes - k) : 0;
        const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
        _mm512_store_si512(dst + k, deinterleave(_mm512_maskz_loadu_epi8(m, src + k)));
        continue;
      }
      for (int p = 0; p < kChunk; ++p) {
        const int64_t d = k + order.perm[p];
        dst[k + p] = src && d < qbytes ? src[d] : 0;
      }
    }
  }
  const TileShape shapes[8] = {{16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}};
  amx_tiles_config(shapes, 8);
  if (a.q8.rmode == Round::rhaz)
    score_span<true>(a, j0, j1, b, c);
  else
    score_span<false>(a, j0, j1, b, c);
  amx_tiles_release();
}

}  // namespace kcs::opt
