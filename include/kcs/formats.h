// Numeric formats: BF16, FP16, FP32, OCP FP8 E4M3 ("FN"), FP4 E2M1, integer rounding.
//
// Every encoder rounds ONCE from its argument to the target format. The *_from_double variants
// exist because double -> float -> bf16 can round twice (spec §0.3, DESIGN "Numerics").
// Special values are recognised from the bit patterns, not with std::isnan/isinf, so that the
// header stays correct when a translation unit is built with -ffinite-math-only.
//
// The encoders are integer arithmetic on bit patterns, so the fenv rounding mode cannot change
// them; f32_from_double(x, Round::rint) is the C cast and so assumes the default
// round-to-nearest mode (kcs never changes it). Keep DAZ off: the float entry points widen to
// double first, and DAZ would zero float subnormal inputs there (spec §13).
#ifndef KCS_FORMATS_H_
#define KCS_FORMATS_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

namespace kcs {

// ties-to-even, ties-away-from-zero, toward zero (pypto CAST_RINT / CAST_ROUND / CAST_TRUNC).
enum class Round { rint, rhaz, trunc };

inline const char* round_name(Round r) {
  switch (r) {
    case Round::rint: return "rint";
    case Round::rhaz: return "rhaz";
    case Round::trunc: return "trunc";
  }
  return "?";
}

// Returns false (and leaves *out alone) for an unknown name.
inline bool parse_round(std::string_view s, Round* out) {
  Round r;
  if (s == "rint") {
    r = Round::rint;
  } else if (s == "rhaz") {
    r = Round::rhaz;
  } else if (s == "trunc") {
    r = Round::trunc;
  } else {
    return false;
  }
  if (out != nullptr) *out = r;
  return true;
}

// std::bit_cast is C++20; memcpy is the defined way to pun in C++17 and compiles to a move.
template <class To, class From>
inline To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast: size mismatch");
  static_assert(std::is_trivially_copyable<To>::value, "bit_cast: To not trivially copyable");
  static_assert(std::is_trivially_copyable<From>::value, "bit_cast: From not trivially copyable");
  static_assert(std::is_default_constructible<To>::value, "bit_cast: To not default constructible");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

inline uint32_t f32_bits(float x) { return bit_cast<uint32_t>(x); }
inline float f32_from_bits(uint32_t u) { return bit_cast<float>(u); }
inline uint64_t f64_bits(double x) { return bit_cast<uint64_t>(x); }
inline double f64_from_bits(uint64_t u) { return bit_cast<double>(u); }

namespace detail {

inline int bit_length(uint64_t v) {  // v != 0
#if defined(__GNUC__) || defined(__clang__)
  return 64 - __builtin_clzll(v);
#else
  int n = 0;
  while (v != 0) {
    v >>= 1;
    ++n;
  }
  return n;
#endif
}

// sig / 2^shift rounded to an integer by mode (shift >= 1). sig < 2^53, so any shift >= 63
// behaves like 63: the quotient is 0 and the remainder is below half, which every mode
// rounds to 0 (clamping also keeps the shift defined).
inline uint64_t shift_round(uint64_t sig, int shift, Round r) {
  const int s = shift > 63 ? 63 : shift;
  const uint64_t q = sig >> s;
  const uint64_t rem = sig & ((uint64_t{1} << s) - 1);
  const uint64_t half = uint64_t{1} << (s - 1);
  switch (r) {
    case Round::trunc: return q;
    case Round::rhaz: return rem >= half ? q + 1 : q;
    case Round::rint: return (rem > half || (rem == half && (q & 1) != 0)) ? q + 1 : q;
  }
  return q;
}

// Magnitude bit pattern (exponent field << m | mantissa) of a binary format with m stored
// mantissa bits and minimum normal exponent emin, for the finite, nonzero, positive double
// bits `u`, rounded once by mode with an UNBOUNDED exponent range above. The caller compares
// the result against its format's largest finite pattern to detect overflow.
//
// Why this works: the value is sig * 2^e2 exactly; the target quantum is 2^qexp with
// qexp = max(floor(log2 x), emin) - m (the max() is the subnormal range), so rounding is an
// exact integer right shift. Adding (qexp + m - emin) << m to the rounded significand q (which
// still carries its hidden bit) produces the IEEE-style pattern, and a carry out of the
// mantissa (q == 2^(m+1), or a subnormal rounding up to 2^m) bumps the exponent field for free.
inline uint64_t round_magnitude(uint64_t u, int m, int emin, Round r) {
  const int biased = static_cast<int>(u >> 52);
  uint64_t sig = u & ((uint64_t{1} << 52) - 1);
  int e2;
  if (biased == 0) {
    e2 = -1074;
  } else {
    sig |= uint64_t{1} << 52;
    e2 = biased - 1075;
  }
  const int ex = e2 + bit_length(sig) - 1;
  const int qexp = (ex > emin ? ex : emin) - m;
  const int shift = qexp - e2;
  // shift <= 0: x already has a coarser quantum than the target, so it is exact (and q fits).
  const uint64_t q = shift <= 0 ? (sig << -shift) : shift_round(sig, shift, r);
  return (static_cast<uint64_t>(qexp + m - emin) << m) + q;
}

constexpr uint64_t kF64SignMask = uint64_t{1} << 63;
constexpr uint64_t kF64AbsMask = kF64SignMask - 1;
constexpr uint64_t kF64Inf = uint64_t{0x7FF} << 52;

// Shared by the IEEE-like 16-bit formats: overflow is IEEE's (Inf, or max finite under trunc).
inline uint16_t encode_ieee16(double x, int m, int emin, uint16_t inf_bits, uint16_t qnan_bits,
                              Round r) {
  const uint64_t u = f64_bits(x);
  const uint16_t sign = (u & kF64SignMask) != 0 ? uint16_t{0x8000} : uint16_t{0};
  const uint64_t a = u & kF64AbsMask;
  if (a > kF64Inf) return static_cast<uint16_t>(sign | qnan_bits);
  if (a == kF64Inf) return static_cast<uint16_t>(sign | inf_bits);
  if (a == 0) return sign;
  uint64_t mag = round_magnitude(a, m, emin, r);
  if (mag >= inf_bits) mag = (r == Round::trunc) ? inf_bits - 1u : inf_bits;
  return static_cast<uint16_t>(sign | static_cast<uint16_t>(mag));
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// BF16 / FP16 (carried as uint16_t bit patterns everywhere in kcs)
// ---------------------------------------------------------------------------------------------

// Subnormals kept, overflow -> ±Inf (trunc: ±max finite), NaN -> sign|0x7FC0.
// BF16 is the top half of a binary32, so rounding is an add on the low 16 bits; the carry
// propagates into the exponent (and into Inf on overflow) exactly as IEEE rounding requires.
inline uint16_t bf16_from_float(float x, Round r = Round::rint) {
  const uint32_t u = f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7FC0u);
  uint32_t v = u;
  switch (r) {
    case Round::rint: v = u + 0x7FFFu + ((u >> 16) & 1u); break;
    case Round::rhaz: v = u + 0x8000u; break;
    case Round::trunc: break;  // dropping bits never reaches Inf: max float -> 0x7F7F
  }
  return static_cast<uint16_t>(v >> 16);
}

inline uint16_t bf16_from_double(double x, Round r = Round::rint) {
  return detail::encode_ieee16(x, 7, -126, 0x7F80, 0x7FC0, r);
}

inline float bf16_to_float(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

// float -> double is exact, so going through the double encoder is still a single rounding.
inline uint16_t fp16_from_double(double x, Round r = Round::rint) {
  return detail::encode_ieee16(x, 10, -14, 0x7C00, 0x7E00, r);
}

inline uint16_t fp16_from_float(float x, Round r = Round::rint) {
  return fp16_from_double(static_cast<double>(x), r);
}

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (e == 0) {
    // mant * 2^-24 is a normal float (or zero), so the product is exact.
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return f32_from_bits(f32_bits(mag) | sign);
  }
  if (e == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));  // Inf / NaN (payload kept)
  return f32_from_bits(sign | ((e + 112u) << 23) | (mant << 13));
}

// binary32, rounded once by mode. rint is the C cast (IEEE nearest-even in the default
// environment); NaN goes through the C cast too (sign kept, quieted). Overflow as IEEE.
inline float f32_from_double(double x, Round r = Round::rint) {
  if (r == Round::rint) return static_cast<float>(x);
  const uint64_t u = f64_bits(x);
  const uint32_t sign = (u & detail::kF64SignMask) != 0 ? 0x80000000u : 0u;
  const uint64_t a = u & detail::kF64AbsMask;
  if (a >= detail::kF64Inf) return static_cast<float>(x);  // Inf, NaN
  if (a == 0) return f32_from_bits(sign);
  uint64_t mag = detail::round_magnitude(a, 23, -126, r);
  if (mag >= 0x7F800000u) mag = (r == Round::trunc) ? 0x7F7FFFFFu : 0x7F800000u;
  return f32_from_bits(sign | static_cast<uint32_t>(mag));
}

// ---------------------------------------------------------------------------------------------
// Integer rounding, saturation
// ---------------------------------------------------------------------------------------------

// Independent of the fenv rounding mode (unlike std::nearbyint). Sign of zero is kept: -0.4 -> -0.
inline double round_to_int(double x, Round r) {
  if (!(std::fabs(x) < 0x1p52)) return x;  // NaN, Inf, or already integral
  const double t = std::trunc(x);
  if (r == Round::trunc) return t;
  const double f = std::fabs(x - t);  // exact: x and t share the binade or t == 0
  const bool odd = (static_cast<int64_t>(t) & 1) != 0;  // |t| < 2^52: cast is in range
  const bool up = f > 0.5 || (f == 0.5 && (r == Round::rhaz || odd));
  return up ? t + std::copysign(1.0, x) : t;
}

inline float round_to_int(float x, Round r) {
  if (!(std::fabs(x) < 0x1p23f)) return x;
  const float t = std::trunc(x);
  if (r == Round::trunc) return t;
  const float f = std::fabs(x - t);
  const bool odd = (static_cast<int32_t>(t) & 1) != 0;
  const bool up = f > 0.5f || (f == 0.5f && (r == Round::rhaz || odd));
  return up ? t + std::copysign(1.0f, x) : t;
}

inline int8_t sat8(int64_t v) {
  return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

// For an already integral float (a fractional part is truncated). NaN -> 0 by kcs convention;
// the bounds are checked before the cast because an out-of-range float->int cast is UB.
inline int32_t to_i32_sat(float x) {
  if ((f32_bits(x) & 0x7FFFFFFFu) > 0x7F800000u) return 0;
  if (x >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
  if (x <= -2147483648.0f) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}

// ---------------------------------------------------------------------------------------------
// Ordinals for ULP distances (spec §0.3 d_ulp): sign-magnitude -> monotone integer, ±0 -> 0.
// Meaningless for NaN patterns: callers test NaN first.
// ---------------------------------------------------------------------------------------------

inline int32_t ord16(uint16_t bits) {
  const int32_t mag = static_cast<int32_t>(bits & 0x7FFFu);
  return (bits & 0x8000u) != 0 ? -mag : mag;
}

inline int64_t ord32(float x) {
  const uint32_t u = f32_bits(x);
  const int64_t mag = static_cast<int64_t>(u & 0x7FFFFFFFu);
  return (u & 0x80000000u) != 0 ? -mag : mag;
}

inline int64_t ord64(double x) {
  const uint64_t u = f64_bits(x);
  const int64_t mag = static_cast<int64_t>(u & detail::kF64AbsMask);  // < 2^63: fits
  return (u & detail::kF64SignMask) != 0 ? -mag : mag;
}

inline bool is_nan_bf16(uint16_t b) { return (b & 0x7FFFu) > 0x7F80u; }
inline bool is_inf_bf16(uint16_t b) { return (b & 0x7FFFu) == 0x7F80u; }
inline bool is_nan_fp16(uint16_t h) { return (h & 0x7FFFu) > 0x7C00u; }
inline bool is_inf_fp16(uint16_t h) { return (h & 0x7FFFu) == 0x7C00u; }

// ---------------------------------------------------------------------------------------------
// OCP FP8 E4M3 ("FN": bias 7, no Inf, NaN = S.1111.111, max 448). UE4M3 = sign bit 0.
// ---------------------------------------------------------------------------------------------

inline float e4m3_to_float(uint8_t code) {
  const uint32_t sign = (code & 0x80u) != 0 ? 0x80000000u : 0u;
  const uint32_t e = (code >> 3) & 0xFu;
  const uint32_t mant = code & 0x7u;
  if (e == 0xF && mant == 0x7) return f32_from_bits(sign | 0x7FC00000u);
  if (e == 0) return f32_from_bits(f32_bits(static_cast<float>(mant) * 0x1p-9f) | sign);
  return f32_from_bits(sign | ((e + 120u) << 23) | (mant << 20));
}

// Rounded once by mode. Overflow follows IEEE with the missing Inf replaced: the IEEE result
// would be ±Inf (rint/rhaz past the boundary, or an Inf input) -> ±448 if saturate, else the
// NaN code with the sign kept; trunc of a finite value gives ±448 either way (as IEEE
// round-toward-zero gives max finite). So with rint, |x| < 464 -> 448 and 464 (a tie with the
// odd pattern 0x7F) -> 448. NaN -> 0x7F | sign. Subnormals are multiples of 2^-9.
inline uint8_t e4m3_from_double(double x, Round r = Round::rint, bool saturate = true) {
  const uint64_t u = f64_bits(x);
  const uint8_t sign = (u & detail::kF64SignMask) != 0 ? uint8_t{0x80} : uint8_t{0};
  const uint64_t a = u & detail::kF64AbsMask;
  const uint8_t overflow = saturate ? uint8_t{0x7E} : uint8_t{0x7F};
  if (a > detail::kF64Inf) return static_cast<uint8_t>(sign | 0x7Fu);
  if (a == detail::kF64Inf) return static_cast<uint8_t>(sign | overflow);
  if (a == 0) return sign;
  const uint64_t mag = detail::round_magnitude(a, 3, -6, r);
  if (mag > 0x7E) return static_cast<uint8_t>(sign | (r == Round::trunc ? 0x7Eu : overflow));
  return static_cast<uint8_t>(sign | static_cast<uint8_t>(mag));
}

inline uint8_t e4m3_from_float(float x, Round r = Round::rint, bool saturate = true) {
  return e4m3_from_double(static_cast<double>(x), r, saturate);
}

// ---------------------------------------------------------------------------------------------
// FP4 E2M1: magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6}, code = sign<<3 | index.
// ---------------------------------------------------------------------------------------------

inline float e2m1_to_float(uint8_t code) {
  static constexpr float kMag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float m = kMag[code & 0x7u];
  return (code & 0x8u) != 0 ? -m : m;
}

// E2M1 is a binary format (1 mantissa bit, bias 1, exponent 0 = subnormal 0.5), so the same
// integer rounding applies; rint ties go to the even code (0.25 -> 0, 1.25 -> 1, 2.5 -> 2,
// 5 -> 4), rhaz ties go up in magnitude (the K4 staging thresholds, spec §6.3 step 6).
// Saturates to ±6 in every mode (±Inf too). A negative value that rounds to zero gives 0x8.
// NaN -> 0x7 (+6): E2M1 has no NaN, and kcs fixes one deterministic code for it.
inline uint8_t e2m1_from_double(double x, Round r = Round::rint) {
  const uint64_t u = f64_bits(x);
  const uint8_t sign = (u & detail::kF64SignMask) != 0 ? uint8_t{0x8} : uint8_t{0};
  const uint64_t a = u & detail::kF64AbsMask;
  if (a > detail::kF64Inf) return 0x7;
  if (a == detail::kF64Inf) return static_cast<uint8_t>(sign | 0x7u);
  if (a == 0) return sign;
  const uint64_t mag = detail::round_magnitude(a, 1, 0, r);
  return static_cast<uint8_t>(sign | (mag > 7 ? 0x7u : static_cast<uint8_t>(mag)));
}

inline uint8_t e2m1_from_float(float x, Round r = Round::rint) {
  return e2m1_from_double(static_cast<double>(x), r);
}

// Low nibble = even element (spec §6.2 x_fp4 layout).
inline uint8_t pack_e2m1x2(uint8_t lo_even_elem, uint8_t hi_odd_elem) {
  return static_cast<uint8_t>((lo_even_elem & 0xFu) | ((hi_odd_elem & 0xFu) << 4));
}

}  // namespace kcs

#endif  // KCS_FORMATS_H_
