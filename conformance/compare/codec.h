// Per-dtype logical element access for the comparison engine (internal to conformance/compare).
//
// Every dtype is reduced to the same small record: the decoded value, the ordinal of its code
// (monotone in the value, ±0 -> 0, spec §0.3), the raw code bits and the NaN / Inf flags. The
// compare loop is a template over these codecs so that the dtype switch happens once per tensor,
// not once per element.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "kcs/dtype.h"
#include "kcs/formats.h"

// ue4m3x4 and e2m1x2 are addressed byte by byte: element k of an int32 scale word is its k-th
// byte in memory only on a little-endian host (the layout the kernels write).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "kcs compare assumes a little-endian host");

namespace kcs {
namespace compare_detail {

// Distance used when one side is ±Inf and the other is not the same Inf, and the saturation
// value of ordinal differences that do not fit (fp64 across the whole range, extreme int64).
constexpr int64_t kUlpInfinite = std::numeric_limits<int64_t>::max();

struct Elem {
  double value = 0;
  int64_t ord = 0;    // ordinal of the code (integers: the value itself)
  uint64_t bits = 0;  // raw code, for bit-identity
  bool nan = false;
  bool inf = false;
};

template <class T>
inline T load(const uint8_t* base, int64_t i) {
  T v;
  std::memcpy(&v, base + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return v;
}

struct Bf16Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint16_t b = load<uint16_t>(p, i);
    return {static_cast<double>(bf16_to_float(b)), ord16(b), b, is_nan_bf16(b), is_inf_bf16(b)};
  }
};

struct Fp16Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint16_t b = load<uint16_t>(p, i);
    return {static_cast<double>(fp16_to_float(b)), ord16(b), b, is_nan_fp16(b), is_inf_fp16(b)};
  }
};

struct Fp32Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint32_t b = load<uint32_t>(p, i);
    const float f = f32_from_bits(b);
    const uint32_t a = b & 0x7FFFFFFFu;
    return {static_cast<double>(f), ord32(f), b, a > 0x7F800000u, a == 0x7F800000u};
  }
};

struct Fp64Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint64_t b = load<uint64_t>(p, i);
    const double d = f64_from_bits(b);
    const uint64_t a = b & detail::kF64AbsMask;
    return {d, ord64(d), b, a > detail::kF64Inf, a == detail::kF64Inf};
  }
};

template <class T>
struct IntCodec {
  static constexpr bool kFloat = false;
  static Elem get(const uint8_t* p, int64_t i) {
    const T v = load<T>(p, i);
    return {static_cast<double>(v), static_cast<int64_t>(v), static_cast<uint64_t>(v), false, false};
  }
};

// E2M1 nibbles: logical element i lives in byte i/2, low nibble for even i. No NaN, no Inf.
struct E2m1Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint8_t byte = p[i >> 1];
    const uint8_t c = static_cast<uint8_t>((i & 1) != 0 ? byte >> 4 : byte & 0xFu);
    const int64_t mag = c & 0x7;
    return {static_cast<double>(e2m1_to_float(c)), (c & 0x8) != 0 ? -mag : mag, c, false, false};
  }
};

// UE4M3 scale bytes, decoded as OCP E4M3 (a set sign bit is honoured, it is just never expected).
// NaN = S.1111.111; no Inf.
struct E4m3Codec {
  static constexpr bool kFloat = true;
  static Elem get(const uint8_t* p, int64_t i) {
    const uint8_t c = p[i];
    const int64_t mag = c & 0x7F;
    return {static_cast<double>(e4m3_to_float(c)), (c & 0x80) != 0 ? -mag : mag, c, mag == 0x7F, false};
  }
};

// |a - b| without signed overflow, saturated to kUlpInfinite (int64 ordinals span 2^64).
inline int64_t ord_distance(int64_t a, int64_t b) {
  const uint64_t d = a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                            : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
  return d > static_cast<uint64_t>(kUlpInfinite) ? kUlpInfinite : static_cast<int64_t>(d);
}

// Distance in the format's own ordinal (spec §0.3 d_ulp). -1: exactly one side NaN; 0: both NaN.
// ±Inf equals only the same Inf: Inf vs max finite is not "1 ulp", it is an overflow.
inline int64_t elem_distance(const Elem& e, const Elem& a) {
  if (e.nan || a.nan) return (e.nan && a.nan) ? 0 : -1;
  if (e.inf || a.inf) return e.bits == a.bits ? 0 : kUlpInfinite;
  return ord_distance(e.ord, a.ord);
}

// Bit identity with NaN payloads ignored (the `exact` contract; ±0 are different codes).
inline bool elem_same(const Elem& e, const Elem& a) { return e.bits == a.bits || (e.nan && a.nan); }

// Calls f(Codec{}) with the codec of dtype t.
template <class F>
inline auto dispatch_codec(DType t, F&& f) {
  switch (t) {
    case DType::bf16: return f(Bf16Codec{});
    case DType::fp16: return f(Fp16Codec{});
    case DType::fp32: return f(Fp32Codec{});
    case DType::fp64: return f(Fp64Codec{});
    case DType::i8: return f(IntCodec<int8_t>{});
    case DType::u8: return f(IntCodec<uint8_t>{});
    case DType::i32: return f(IntCodec<int32_t>{});
    case DType::i64: return f(IntCodec<int64_t>{});
    case DType::e2m1x2: return f(E2m1Codec{});
    case DType::ue4m3x4: return f(E4m3Codec{});
  }
  return f(IntCodec<uint8_t>{});  // unreachable for a valid DType
}

}  // namespace compare_detail
}  // namespace kcs
