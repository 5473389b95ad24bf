// Exhaustive / differential tests for kcs/formats.h.
//
// The references here are deliberately built differently from the implementation: format values
// come from std::ldexp on the decoded fields, and rounding picks between the two bracketing
// representable values (found by binary search in a table) by comparing against their midpoint.
// Every such midpoint has at most 13 significant bits, so it and the comparison are exact in double.
#include "kcs/formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace {

using kcs::Round;

constexpr Round kModes[] = {Round::rint, Round::rhaz, Round::trunc};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string dstr(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g (%a)", x, x);
  return buf;
}

// Reports at most a few failures per test so that a systematic bug does not print a million lines.
class FailBudget {
 public:
  bool take() { return ++count_ <= 8; }
  int count() const { return count_; }

 private:
  int count_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Independent reference
// ---------------------------------------------------------------------------------------------

double ref_bf16_value(uint16_t b) {
  const int e = (b >> 7) & 0xFF;
  const int mant = b & 0x7F;
  double v;
  if (e == 0xFF) {
    v = mant == 0 ? std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(mant), -133);
  } else {
    v = std::ldexp(static_cast<double>(128 + mant), e - 134);
  }
  return (b & 0x8000) != 0 ? -v : v;
}

double ref_fp16_value(uint16_t h) {
  const int e = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  double v;
  if (e == 0x1F) {
    v = mant == 0 ? std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(mant), -24);
  } else {
    v = std::ldexp(static_cast<double>(1024 + mant), e - 25);
  }
  return (h & 0x8000) != 0 ? -v : v;
}

// OCP E4M3FN: S.EEEE.MMM, bias 7, E=0 subnormal (mant * 2^-9), S.1111.111 NaN.
double ref_e4m3_value(uint8_t c) {
  const int e = (c >> 3) & 0xF;
  const int mant = c & 0x7;
  double v;
  if (e == 0xF && mant == 0x7) {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    v = std::ldexp(static_cast<double>(mant), -9);
  } else {
    v = std::ldexp(1.0 + mant / 8.0, e - 7);
  }
  return (c & 0x80) != 0 ? -v : v;
}

// Ascending non-negative magnitudes indexed by magnitude pattern, plus one extra entry: the next
// value the format would have with an unbounded exponent (the overflow candidate).
struct Table {
  std::vector<double> vals;
  uint32_t max_finite;  // pattern of the largest finite magnitude (== vals.size() - 2)
};

const Table& bf16_table() {
  static const Table t = [] {
    Table r;
    for (uint32_t u = 0; u < 0x7F80; ++u) r.vals.push_back(ref_bf16_value(static_cast<uint16_t>(u)));
    r.vals.push_back(std::ldexp(1.0, 128));
    r.max_finite = 0x7F7F;
    return r;
  }();
  return t;
}

const Table& fp16_table() {
  static const Table t = [] {
    Table r;
    for (uint32_t u = 0; u < 0x7C00; ++u) r.vals.push_back(ref_fp16_value(static_cast<uint16_t>(u)));
    r.vals.push_back(65536.0);
    r.max_finite = 0x7BFF;
    return r;
  }();
  return t;
}

const Table& e4m3_table() {
  static const Table t = [] {
    Table r;
    for (uint32_t u = 0; u < 0x7F; ++u) r.vals.push_back(ref_e4m3_value(static_cast<uint8_t>(u)));
    r.vals.push_back(480.0);  // 1.875 * 2^8: what S.1111.111 would be if it were not NaN
    r.max_finite = 0x7E;
    return r;
  }();
  return t;
}

const Table& e2m1_table() {
  static const Table t = [] {
    Table r;
    r.vals = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0};
    r.max_finite = 7;
    return r;
  }();
  return t;
}

// Index of |x| rounded by mode among t.vals (unbounded exponent above: anything at or past the
// extra entry returns its index, i.e. "overflow").
uint32_t ref_round_index(const Table& t, double ax, Round r) {
  // Plain binary search for the last v[i] <= ax (v[0] == 0 <= ax); hand-written so that the
  // millions of calls stay fast in unoptimized builds too.
  const double* v = t.vals.data();
  const auto n = static_cast<uint32_t>(t.vals.size());
  uint32_t i = 0, j = n;  // invariant: v[i] <= ax, and v[j] > ax or j == n
  while (j - i > 1) {
    const uint32_t k = i + (j - i) / 2;
    if (v[k] <= ax) {
      i = k;
    } else {
      j = k;
    }
  }
  if (i + 1 == n || v[i] == ax || r == Round::trunc) return i;
  const double mid = 0.5 * (v[i] + v[i + 1]);
  if (ax < mid) return i;
  if (ax > mid) return i + 1;
  if (r == Round::rhaz) return i + 1;
  return (i & 1) == 0 ? i : i + 1;
}

uint16_t ref_encode16(const Table& t, uint16_t inf_bits, uint16_t qnan, double x, Round r) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return static_cast<uint16_t>(sign | qnan);
  if (std::isinf(x)) return static_cast<uint16_t>(sign | inf_bits);
  uint32_t idx = ref_round_index(t, std::fabs(x), r);
  if (idx > t.max_finite) idx = (r == Round::trunc) ? t.max_finite : inf_bits;
  return static_cast<uint16_t>(sign | idx);
}

uint16_t ref_bf16(double x, Round r) { return ref_encode16(bf16_table(), 0x7F80, 0x7FC0, x, r); }
uint16_t ref_fp16(double x, Round r) { return ref_encode16(fp16_table(), 0x7C00, 0x7E00, x, r); }

uint8_t ref_e4m3(double x, Round r, bool sat) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const uint8_t ovf = sat ? 0x7E : 0x7F;
  if (std::isnan(x)) return static_cast<uint8_t>(sign | 0x7F);
  if (std::isinf(x)) return static_cast<uint8_t>(sign | ovf);
  uint32_t idx = ref_round_index(e4m3_table(), std::fabs(x), r);
  if (idx > 0x7E) idx = (r == Round::trunc) ? 0x7E : ovf;
  return static_cast<uint8_t>(sign | idx);
}

uint8_t ref_e2m1(double x, Round r) {
  if (std::isnan(x)) return 0x7;
  const uint8_t sign = std::signbit(x) ? 0x8 : 0;
  uint32_t idx = std::isinf(x) ? 7 : ref_round_index(e2m1_table(), std::fabs(x), r);
  if (idx > 7) idx = 7;
  return static_cast<uint8_t>(sign | idx);
}

// binary32 by mode: bracket with the C cast and nextafterf, then decide at the midpoint (two
// adjacent floats' midpoint has 25 significant bits: exact in double).
float ref_f32(double x, Round r) {
  if (std::isnan(x) || std::isinf(x)) return static_cast<float>(x);
  const double ax = std::fabs(x);
  const double two128 = std::ldexp(1.0, 128);
  const float kInf = std::numeric_limits<float>::infinity();
  float res;
  if (ax >= two128) {
    res = r == Round::trunc ? FLT_MAX : kInf;
  } else {
    const float c = static_cast<float>(ax);
    double lo, hi;
    if (std::isinf(c) || static_cast<double>(c) < ax) {
      lo = std::isinf(c) ? static_cast<double>(FLT_MAX) : static_cast<double>(c);
      hi = lo == static_cast<double>(FLT_MAX) ? two128
                                              : static_cast<double>(std::nextafter(c, kInf));
    } else {
      hi = static_cast<double>(c);
      lo = static_cast<double>(std::nextafter(c, 0.0f));
    }
    if (static_cast<double>(c) == ax) {
      res = c;
    } else {
      EXPECT_TRUE(lo < ax && ax < hi) << dstr(x);
      const double mid = 0.5 * (lo + hi);
      double pick;
      if (r == Round::trunc || ax < mid) {
        pick = lo;
      } else if (ax > mid || r == Round::rhaz) {
        pick = hi;
      } else {  // tie, even significand
        const uint32_t lob = kcs::f32_bits(static_cast<float>(lo));
        pick = (lob & 1) == 0 ? lo : hi;
      }
      res = pick == two128 ? kInf : static_cast<float>(pick);
    }
  }
  return std::signbit(x) ? -res : res;
}

// Spec §6.3 step 3: the K4 staging kernel's custom E4M3 encode, transcribed literally.
uint8_t staging_e4m3_enc(float s) {
  const uint32_t u = kcs::f32_bits(s);
  const int E = static_cast<int>((u >> 23) & 0xFF);
  const uint32_t F = u & 0x7FFFFF;
  const int er = E - 120;
  uint32_t mant;
  int e;
  if (er >= 1) {
    mant = F >> 20;
    const uint32_t guard = (F >> 19) & 1;
    const uint32_t sticky = F & 0x7FFFF;
    if (guard != 0 && (sticky != 0 || (mant & 1) != 0)) ++mant;
    e = er;
  } else {
    const int sh = 1 - er;
    const uint64_t full = (uint64_t{1} << 23) | F;
    const int shift = sh + 20;
    mant = shift >= 64 ? 0 : static_cast<uint32_t>(full >> shift);
    const int gpos = sh + 19;
    const uint64_t guard = gpos >= 64 ? 0 : (full >> gpos) & 1;
    const uint64_t sticky = gpos >= 64 ? full : (full & ((uint64_t{1} << gpos) - 1));
    if (guard != 0 && (sticky != 0 || (mant & 1) != 0)) ++mant;
    e = 0;
  }
  if (mant == 8) {
    mant = 0;
    ++e;
  }
  e = std::min(std::max(e, 0), 15);
  return static_cast<uint8_t>((static_cast<uint32_t>(e) << 3) | mant);
}

// Spec §6.3 step 6: E2M1 index by counting thresholds (ties away from zero).
uint8_t staging_e2m1_code(float w) {
  static constexpr float kT[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  uint8_t idx = 0;
  for (float t : kT) idx = static_cast<uint8_t>(idx + (std::fabs(w) >= t ? 1 : 0));
  return static_cast<uint8_t>((w < 0 ? 0x8 : 0) | idx);
}

// Random doubles with exponent uniform in [elo, ehi] (unbiased), random sign and mantissa.
double rand_double(std::mt19937_64& rng, int elo, int ehi) {
  std::uniform_int_distribution<int> de(elo, ehi);
  const uint64_t bits = rng();
  const uint64_t e = static_cast<uint64_t>(de(rng) + 1023);
  return kcs::f64_from_bits((bits & 0x800FFFFFFFFFFFFFull) | (e << 52));
}

float rand_float(std::mt19937_64& rng, int elo, int ehi) {
  std::uniform_int_distribution<int> de(elo, ehi);
  const auto bits = static_cast<uint32_t>(rng());
  const auto e = static_cast<uint32_t>(de(rng) + 127);
  return kcs::f32_from_bits((bits & 0x807FFFFFu) | (e << 23));
}

// Doubles within a few ulps of a random midpoint of the table (hits ties and near-ties).
double rand_near_mid(std::mt19937_64& rng, const Table& t) {
  std::uniform_int_distribution<uint32_t> di(0, t.max_finite);
  const uint32_t i = di(rng);
  const double mid = 0.5 * (t.vals[i] + t.vals[i + 1]);
  const auto k = static_cast<int64_t>(rng() % 7) - 3;
  const double x = kcs::f64_from_bits(static_cast<uint64_t>(static_cast<int64_t>(kcs::f64_bits(mid)) + k));
  return (rng() & 1) != 0 ? -x : x;
}

// ---------------------------------------------------------------------------------------------
// Generic 16-bit format descriptor, so BF16 and FP16 share the exhaustive tests.
// ---------------------------------------------------------------------------------------------

struct Fmt16 {
  const char* name;
  const Table& (*table)();
  uint16_t inf_bits;
  uint16_t qnan;
  double (*ref_value)(uint16_t);
  float (*to_float)(uint16_t);
  uint16_t (*from_float)(float, Round);
  uint16_t (*from_double)(double, Round);
  bool (*is_nan)(uint16_t);
  bool (*is_inf)(uint16_t);
  uint16_t (*ref)(double, Round);
};

const Fmt16 kBf16 = {"bf16",          bf16_table,          0x7F80,           0x7FC0,
                     ref_bf16_value,  kcs::bf16_to_float,  kcs::bf16_from_float,
                     kcs::bf16_from_double, kcs::is_nan_bf16, kcs::is_inf_bf16, ref_bf16};
const Fmt16 kFp16 = {"fp16",          fp16_table,          0x7C00,           0x7E00,
                     ref_fp16_value,  kcs::fp16_to_float,  kcs::fp16_from_float,
                     kcs::fp16_from_double, kcs::is_nan_fp16, kcs::is_inf_fp16, ref_fp16};

void PrintTo(const Fmt16& f, std::ostream* os) { *os << f.name; }

class Formats16 : public ::testing::TestWithParam<Fmt16> {};

INSTANTIATE_TEST_SUITE_P(Both, Formats16, ::testing::Values(kBf16, kFp16),
                         [](const ::testing::TestParamInfo<Fmt16>& i) {
                           return std::string(i.param.name);
                         });

// Decode all 65,536 patterns against ldexp; NaN/Inf classification; exact round trip in every
// mode from float and from double; NaN -> canonical quiet NaN with the sign kept.
TEST_P(Formats16, AllPatternsDecodeAndRoundTrip) {
  const Fmt16& f = GetParam();
  FailBudget fb;
  int nans = 0, infs = 0;
  for (uint32_t u = 0; u <= 0xFFFF; ++u) {
    const auto b = static_cast<uint16_t>(u);
    const double want = f.ref_value(b);
    const float got = f.to_float(b);
    const bool nan = std::isnan(want);
    nans += nan ? 1 : 0;
    infs += std::isinf(want) ? 1 : 0;
    if (f.is_nan(b) != nan || f.is_inf(b) != std::isinf(want)) {
      if (fb.take()) ADD_FAILURE() << f.name << " classify " << hex(u);
    }
    if (nan) {
      if (!std::isnan(got) && fb.take()) ADD_FAILURE() << f.name << " decode NaN " << hex(u);
      if (std::signbit(got) != ((u & 0x8000) != 0) && fb.take())
        ADD_FAILURE() << f.name << " NaN sign " << hex(u);
      const auto canon = static_cast<uint16_t>((u & 0x8000) | f.qnan);
      for (Round r : kModes) {
        if (f.from_float(got, r) != canon || f.from_double(static_cast<double>(got), r) != canon ||
            f.from_double(want, r) != (f.qnan | 0u) + (std::signbit(want) ? 0x8000u : 0u)) {
          if (fb.take()) ADD_FAILURE() << f.name << " NaN encode " << hex(u) << " " << kcs::round_name(r);
        }
      }
      continue;
    }
    // Bitwise compare so -0 vs +0 counts.
    if (kcs::f64_bits(static_cast<double>(got)) != kcs::f64_bits(want)) {
      if (fb.take()) ADD_FAILURE() << f.name << " decode " << hex(u) << " got " << dstr(got) << " want " << dstr(want);
    }
    for (Round r : kModes) {
      const uint16_t a = f.from_float(got, r);
      const uint16_t d = f.from_double(want, r);
      if (a != b || d != b) {
        if (fb.take())
          ADD_FAILURE() << f.name << " round trip " << hex(u) << " " << kcs::round_name(r) << " float->" << hex(a)
                        << " double->" << hex(d);
      }
    }
  }
  EXPECT_EQ(infs, 2);
  EXPECT_EQ(nans, 2 * (0x7FFF - f.inf_bits));
  EXPECT_EQ(fb.count(), 0);
}

TEST(Formats16Decode, BitLevel) {
  for (uint32_t u = 0; u <= 0xFFFF; ++u) {
    ASSERT_EQ(kcs::f32_bits(kcs::bf16_to_float(static_cast<uint16_t>(u))), u << 16);
  }
  EXPECT_EQ(kcs::fp16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(kcs::fp16_to_float(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(kcs::fp16_to_float(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(kcs::fp16_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(kcs::fp16_to_float(0x3C00), 1.0f);
  EXPECT_EQ(kcs::fp16_to_float(0xC000), -2.0f);
  EXPECT_EQ(kcs::f32_bits(kcs::fp16_to_float(0x8000)), 0x80000000u);
  EXPECT_EQ(kcs::f32_bits(kcs::fp16_to_float(0x7C00)), 0x7F800000u);
  EXPECT_EQ(kcs::f32_bits(kcs::fp16_to_float(0xFC00)), 0xFF800000u);
  EXPECT_EQ(kcs::f32_bits(kcs::fp16_to_float(0x7E00)), 0x7FC00000u);
  EXPECT_EQ(kcs::bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(kcs::bf16_to_float(0x0001), std::ldexp(1.0f, -133));
  EXPECT_EQ(kcs::bf16_to_float(0x7F7F), std::ldexp(255.0f, 120));
}

// ord16 over all non-NaN patterns, sorted by value: strictly increasing except ±0 (both 0).
TEST_P(Formats16, Ord16Monotone) {
  const Fmt16& f = GetParam();
  std::vector<std::pair<double, uint16_t>> v;
  for (uint32_t u = 0; u <= 0xFFFF; ++u) {
    const auto b = static_cast<uint16_t>(u);
    if (!f.is_nan(b)) v.emplace_back(f.ref_value(b), b);
  }
  std::sort(v.begin(), v.end());
  ASSERT_EQ(v.size(), 65536u - 2u * (0x7FFFu - f.inf_bits));
  int zeros = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    const int32_t a = kcs::ord16(v[i].second), b = kcs::ord16(v[i + 1].second);
    if (v[i].first == v[i + 1].first) {
      ASSERT_EQ(v[i].first, 0.0);
      ASSERT_EQ(a, 0);
      ASSERT_EQ(b, 0);
      ++zeros;
    } else {
      ASSERT_EQ(b, a + 1) << hex(v[i].second) << " " << hex(v[i + 1].second);  // adjacent: 1 ulp
    }
  }
  EXPECT_EQ(zeros, 1);
  EXPECT_EQ(kcs::ord16(f.inf_bits), f.inf_bits);
  EXPECT_EQ(kcs::ord16(static_cast<uint16_t>(f.inf_bits | 0x8000)), -f.inf_bits);
  // d_ulp across zero (§0.3): smallest subnormals of opposite sign are 2 apart.
  EXPECT_EQ(kcs::ord16(0x0001) - kcs::ord16(0x8001), 2);
}

// Every exact midpoint between adjacent patterns (subnormal, normal, and max finite <-> Inf),
// both signs, from float and from double, and one ulp of the source type either side.
TEST_P(Formats16, AllMidpointsEveryMode) {
  const Fmt16& f = GetParam();
  const Table& t = f.table();
  FailBudget fb;
  for (uint32_t lo = 0; lo <= t.max_finite; ++lo) {
    const uint32_t hi = lo + 1;  // == inf_bits for the last one
    const double mid = 0.5 * (t.vals[lo] + t.vals[hi]);
    ASSERT_EQ(static_cast<double>(static_cast<float>(mid)), mid);
    const double dn_d = std::nextafter(mid, 0.0);
    const double up_d = std::nextafter(mid, HUGE_VAL);
    const float midf = static_cast<float>(mid);
    const float dn_f = std::nextafter(midf, 0.0f);
    const float up_f = std::nextafter(midf, HUGE_VALF);
    for (int neg = 0; neg < 2; ++neg) {
      const double s = neg != 0 ? -1.0 : 1.0;
      const uint32_t sb = neg != 0 ? 0x8000u : 0u;
      for (Round r : kModes) {
        const uint32_t tie = r == Round::trunc ? lo : r == Round::rhaz ? hi : ((lo & 1) == 0 ? lo : hi);
        const uint32_t above = r == Round::trunc ? lo : hi;
        const struct {
          const char* what;
          uint16_t got;
          uint32_t want;
        } checks[] = {
            {"mid/d", f.from_double(s * mid, r), tie},
            {"mid/f", f.from_float(static_cast<float>(s) * midf, r), tie},
            {"below/d", f.from_double(s * dn_d, r), lo},
            {"below/f", f.from_float(static_cast<float>(s) * dn_f, r), lo},
            {"above/d", f.from_double(s * up_d, r), above},
            {"above/f", f.from_float(static_cast<float>(s) * up_f, r), above},
        };
        for (const auto& c : checks) {
          if (c.got != (c.want | sb) && fb.take())
            ADD_FAILURE() << f.name << " " << c.what << " lo=" << hex(lo) << " sign=" << neg << " "
                          << kcs::round_name(r) << " got " << hex(c.got) << " want " << hex(c.want | sb);
        }
      }
    }
  }
  EXPECT_EQ(fb.count(), 0);
}

// Values at and beyond the overflow boundary, Inf and zero.
TEST_P(Formats16, OverflowInfZero) {
  const Fmt16& f = GetParam();
  const Table& t = f.table();
  const auto maxf = static_cast<uint16_t>(t.max_finite);
  const double beyond = t.vals.back();  // 2^(emax+1)
  for (int neg = 0; neg < 2; ++neg) {
    const double s = neg != 0 ? -1.0 : 1.0;
    const auto sb = static_cast<uint16_t>(neg != 0 ? 0x8000 : 0);
    for (double x : {beyond, 2 * beyond, 1e300, DBL_MAX, static_cast<double>(FLT_MAX)}) {
      if (x < beyond) continue;  // FLT_MAX is below bf16's 2^128
      EXPECT_EQ(f.from_double(s * x, Round::rint), sb | f.inf_bits) << x;
      EXPECT_EQ(f.from_double(s * x, Round::rhaz), sb | f.inf_bits) << x;
      EXPECT_EQ(f.from_double(s * x, Round::trunc), sb | maxf) << x;
    }
    const float fmax = FLT_MAX;
    EXPECT_EQ(f.from_float(static_cast<float>(s) * fmax, Round::rint), sb | f.inf_bits);
    EXPECT_EQ(f.from_float(static_cast<float>(s) * fmax, Round::rhaz), sb | f.inf_bits);
    EXPECT_EQ(f.from_float(static_cast<float>(s) * fmax, Round::trunc), sb | maxf);
    for (Round r : kModes) {
      EXPECT_EQ(f.from_double(s * HUGE_VAL, r), sb | f.inf_bits);
      EXPECT_EQ(f.from_float(static_cast<float>(s) * HUGE_VALF, r), sb | f.inf_bits);
      EXPECT_EQ(f.from_double(s * 0.0, r), sb);
      EXPECT_EQ(f.from_float(static_cast<float>(s) * 0.0f, r), sb);
      // Far below half the smallest subnormal: zero of the right sign (no flush of larger ones).
      EXPECT_EQ(f.from_double(s * 1e-300, r), sb);
      EXPECT_EQ(f.from_double(s * 4.9406564584124654e-324, r), sb);  // double denormal min
      EXPECT_EQ(f.from_float(static_cast<float>(s) * 1e-45f, r), sb);
      // Max finite is exact in every mode.
      EXPECT_EQ(f.from_double(s * t.vals[maxf], r), sb | maxf);
    }
  }
  // NaN payloads and signs.
  const double qn = std::numeric_limits<double>::quiet_NaN();
  const double sn = std::numeric_limits<double>::signaling_NaN();
  for (Round r : kModes) {
    EXPECT_EQ(f.from_double(qn, r), f.qnan);
    EXPECT_EQ(f.from_double(-qn, r), f.qnan | 0x8000);
    EXPECT_EQ(f.from_double(sn, r), f.qnan);
    EXPECT_EQ(f.from_double(kcs::f64_from_bits(0xFFF0000000000001ull), r), f.qnan | 0x8000);
    EXPECT_EQ(f.from_float(kcs::f32_from_bits(0x7F800001u), r), f.qnan);
    EXPECT_EQ(f.from_float(kcs::f32_from_bits(0xFFFFFFFFu), r), f.qnan | 0x8000);
  }
}

// Double rounding: doubles a hair off a 16-bit midpoint that float rounding moves onto the
// midpoint (or onto the upper neighbour). Direct rounding must ignore the float step, and the
// float path must actually differ, proving the test would catch a via-float implementation.
TEST_P(Formats16, DoubleRoundingEveryPattern) {
  const Fmt16& f = GetParam();
  const Table& t = f.table();
  FailBudget fb;
  int rint_diffs = 0, evens = 0;
  for (uint32_t lo = 0; lo <= t.max_finite; ++lo) {
    const uint32_t hi = lo + 1;
    const double mid = 0.5 * (t.vals[lo] + t.vals[hi]);
    const double tiny_mid = std::ldexp(1.0, std::ilogb(mid) - 40);
    const double tiny_hi = std::ldexp(1.0, std::ilogb(t.vals[hi]) - 40);
    const double up = mid + tiny_mid, dn = mid - tiny_mid, below_hi = t.vals[hi] - tiny_hi;
    ASSERT_EQ(static_cast<double>(static_cast<float>(up)), mid);
    ASSERT_EQ(static_cast<double>(static_cast<float>(dn)), mid);
    const float bh = static_cast<float>(below_hi);
    ASSERT_TRUE(static_cast<double>(bh) == t.vals[hi] || std::isinf(bh));
    for (int neg = 0; neg < 2; ++neg) {
      const double s = neg != 0 ? -1.0 : 1.0;
      const uint32_t sb = neg != 0 ? 0x8000u : 0u;
      // rint: just above the midpoint -> hi; via float it is a tie -> even.
      const uint16_t a = f.from_double(s * up, Round::rint);
      const uint16_t af = f.from_float(static_cast<float>(s * up), Round::rint);
      // rhaz: just below the midpoint -> lo; via float it is a tie -> away -> hi.
      const uint16_t b = f.from_double(s * dn, Round::rhaz);
      const uint16_t bf = f.from_float(static_cast<float>(s * dn), Round::rhaz);
      // trunc: just below hi -> lo; via float it becomes hi (or Inf) first.
      const uint16_t c = f.from_double(s * below_hi, Round::trunc);
      const uint16_t cf = f.from_float(static_cast<float>(s * below_hi), Round::trunc);
      if ((a != (hi | sb) || b != (lo | sb) || c != (lo | sb)) && fb.take())
        ADD_FAILURE() << f.name << " direct lo=" << hex(lo) << " neg=" << neg << " " << hex(a) << " "
                      << hex(b) << " " << hex(c);
      // (At the top, trunc of the float-rounded 2^(emax+1) saturates to max finite for fp16, so
      // there is no visible difference there; bf16's float step already overflows to Inf.)
      const bool top = lo == t.max_finite && !std::isinf(bh);
      if ((bf == b || (cf == c && !top)) && fb.take())
        ADD_FAILURE() << f.name << " expected a double-rounding difference at lo=" << hex(lo);
      if (neg == 0) {
        evens += (lo & 1) == 0 ? 1 : 0;
        rint_diffs += af != a ? 1 : 0;
        if ((af != a) != ((lo & 1) == 0) && fb.take())
          ADD_FAILURE() << f.name << " rint via float lo=" << hex(lo);
      }
    }
  }
  EXPECT_EQ(rint_diffs, evens);
  EXPECT_EQ(fb.count(), 0);
}

TEST(DoubleRounding, NamedExamples) {
  // 1 + 2^-8 is the bf16 midpoint between 1.0 (0x3F80, even) and 1 + 2^-7.
  const double xb = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30);
  EXPECT_EQ(kcs::bf16_from_double(xb), 0x3F81);
  EXPECT_EQ(kcs::bf16_from_float(static_cast<float>(xb)), 0x3F80);  // the wrong, twice-rounded answer
  EXPECT_EQ(kcs::bf16_from_double(-xb), 0xBF81);
  // fp16: 1 + 2^-11 is the midpoint between 1.0 (0x3C00) and 1 + 2^-10.
  const double xh = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(kcs::fp16_from_double(xh), 0x3C01);
  EXPECT_EQ(kcs::fp16_from_float(static_cast<float>(xh)), 0x3C00);
  // fp16 subnormal: 2^-25 (half the smallest subnormal) plus a hair rounds up to 0x0001.
  const double xs = std::ldexp(1.0, -25) + std::ldexp(1.0, -70);
  EXPECT_EQ(kcs::fp16_from_double(xs), 0x0001);
  EXPECT_EQ(kcs::fp16_from_float(static_cast<float>(xs)), 0x0000);
  EXPECT_EQ(kcs::fp16_from_double(std::ldexp(1.0, -25)), 0x0000);
  EXPECT_EQ(kcs::fp16_from_double(std::ldexp(1.0, -25), Round::rhaz), 0x0001);
  // E4M3: 1.0625 is the tie between 1.0 (0x38) and 1.125.
  const double xe = 1.0625 + std::ldexp(1.0, -40);
  EXPECT_EQ(kcs::e4m3_from_double(xe), 0x39);
  EXPECT_EQ(kcs::e4m3_from_float(static_cast<float>(xe)), 0x38);
  // E2M1: 2.5 + a hair -> 3 directly.
  const double x2 = 2.5 + std::ldexp(1.0, -40);
  EXPECT_EQ(kcs::e2m1_from_double(x2), 0x5);
  EXPECT_EQ(kcs::e2m1_from_float(static_cast<float>(x2)), 0x4);
}

// Randomized: float inputs (uniform bit patterns, and exponents concentrated on the format's
// range) against the reference, every mode. The bf16 float path is a separate bit trick, so it
// is also checked against the generic double path.
TEST_P(Formats16, RandomFloatsVsReference) {
  const Fmt16& f = GetParam();
  std::mt19937_64 rng(0x5eed0001u + f.inf_bits);
  FailBudget fb;
  const int elo = f.inf_bits == 0x7F80 ? -140 : -27;
  const int ehi = f.inf_bits == 0x7F80 ? 127 : 16;
  constexpr int kN = 1000000;
  for (int i = 0; i < 2 * kN; ++i) {
    const float x = i < kN ? kcs::f32_from_bits(static_cast<uint32_t>(rng())) : rand_float(rng, elo, ehi);
    for (Round r : kModes) {
      const uint16_t got = f.from_float(x, r);
      const uint16_t want = f.ref(static_cast<double>(x), r);
      const uint16_t viad = f.from_double(static_cast<double>(x), r);
      if ((got != want || viad != want) && fb.take())
        ADD_FAILURE() << f.name << " x=" << dstr(x) << " " << kcs::round_name(r) << " got " << hex(got)
                      << " double-path " << hex(viad) << " want " << hex(want);
    }
  }
  EXPECT_EQ(fb.count(), 0);
}

// Randomized: double inputs straight to the format, against the reference.
TEST_P(Formats16, RandomDoublesVsReference) {
  const Fmt16& f = GetParam();
  const Table& t = f.table();
  std::mt19937_64 rng(0x5eed0002u + f.inf_bits);
  FailBudget fb;
  const int elo = f.inf_bits == 0x7F80 ? -136 : -27;
  const int ehi = f.inf_bits == 0x7F80 ? 128 : 16;
  constexpr int kN = 300000;
  for (int i = 0; i < 3 * kN; ++i) {
    double x;
    if (i < kN) {
      x = kcs::f64_from_bits(rng());
    } else if (i < 2 * kN) {
      x = rand_double(rng, elo, ehi);
    } else {
      x = rand_near_mid(rng, t);
    }
    for (Round r : kModes) {
      const uint16_t got = f.from_double(x, r);
      const uint16_t want = f.ref(x, r);
      if (got != want && fb.take())
        ADD_FAILURE() << f.name << " x=" << dstr(x) << " " << kcs::round_name(r) << " got " << hex(got)
                      << " want " << hex(want);
    }
  }
  EXPECT_EQ(fb.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// binary32 from double
// ---------------------------------------------------------------------------------------------

TEST(F32FromDouble, RandomVsReference) {
  std::mt19937_64 rng(0x5eed0003u);
  FailBudget fb;
  constexpr int kN = 300000;
  for (int i = 0; i < 3 * kN; ++i) {
    double x;
    if (i < kN) {
      x = kcs::f64_from_bits(rng());
    } else if (i < 2 * kN) {
      x = rand_double(rng, -152, 129);
    } else {
      // Near a float midpoint: a random float plus half its ulp, nudged by a few double ulps.
      const float c = rand_float(rng, -149, 127);
      const double m = 0.5 * (static_cast<double>(c) + static_cast<double>(std::nextafter(c, HUGE_VALF)));
      if (std::isinf(m)) continue;
      const auto k = static_cast<int64_t>(rng() % 7) - 3;
      x = kcs::f64_from_bits(static_cast<uint64_t>(static_cast<int64_t>(kcs::f64_bits(m)) + k));
    }
    for (Round r : kModes) {
      const float got = kcs::f32_from_double(x, r);
      const float want = ref_f32(x, r);
      if (kcs::f32_bits(got) != kcs::f32_bits(want) && !(std::isnan(got) && std::isnan(want)) && fb.take())
        ADD_FAILURE() << "x=" << dstr(x) << " " << kcs::round_name(r) << " got " << dstr(got) << " want "
                      << dstr(want);
    }
    if (kcs::f32_bits(kcs::f32_from_double(x)) != kcs::f32_bits(static_cast<float>(x)) && fb.take())
      ADD_FAILURE() << "rint is not the C cast at " << dstr(x);
  }
  EXPECT_EQ(fb.count(), 0);
}

TEST(F32FromDouble, Boundaries) {
  const double half_min = std::ldexp(1.0, -150);  // tie between 0 and the smallest subnormal
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(half_min, Round::rint)), 0u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(half_min, Round::rhaz)), 1u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(half_min, Round::trunc)), 0u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(-half_min, Round::rhaz)), 0x80000001u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(-half_min, Round::rint)), 0x80000000u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(std::nextafter(half_min, 1.0), Round::rint)), 1u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(3 * half_min, Round::rint)), 2u);  // tie -> even
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(3 * half_min, Round::rhaz)), 2u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(3 * half_min, Round::trunc)), 1u);
  EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(5e-324, Round::rhaz)), 0u);
  const double fmax_mid = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(kcs::f32_from_double(fmax_mid, Round::rint), inf);
  EXPECT_EQ(kcs::f32_from_double(fmax_mid, Round::rhaz), inf);
  EXPECT_EQ(kcs::f32_from_double(fmax_mid, Round::trunc), FLT_MAX);
  EXPECT_EQ(kcs::f32_from_double(-fmax_mid, Round::trunc), -FLT_MAX);
  EXPECT_EQ(kcs::f32_from_double(std::nextafter(fmax_mid, 0.0), Round::rhaz), FLT_MAX);
  EXPECT_EQ(kcs::f32_from_double(DBL_MAX, Round::trunc), FLT_MAX);
  EXPECT_EQ(kcs::f32_from_double(-DBL_MAX, Round::rhaz), -inf);
  for (Round r : kModes) {
    EXPECT_EQ(kcs::f32_from_double(HUGE_VAL, r), inf);
    EXPECT_EQ(kcs::f32_from_double(-HUGE_VAL, r), -inf);
    EXPECT_EQ(kcs::f32_bits(kcs::f32_from_double(-0.0, r)), 0x80000000u);
    const float n = kcs::f32_from_double(-std::numeric_limits<double>::quiet_NaN(), r);
    EXPECT_TRUE(std::isnan(n));
    EXPECT_TRUE(std::signbit(n));
  }
}

// ---------------------------------------------------------------------------------------------
// E4M3
// ---------------------------------------------------------------------------------------------

TEST(E4M3, AllCodesDecodeAndRoundTrip) {
  int nans = 0;
  for (uint32_t u = 0; u < 256; ++u) {
    const auto c = static_cast<uint8_t>(u);
    const double want = ref_e4m3_value(c);
    const float got = kcs::e4m3_to_float(c);
    if (std::isnan(want)) {
      ++nans;
      EXPECT_TRUE(std::isnan(got)) << hex(u);
      EXPECT_EQ(std::signbit(got), (u & 0x80) != 0) << hex(u);
      for (Round r : kModes) {
        for (bool sat : {true, false}) {
          EXPECT_EQ(kcs::e4m3_from_float(got, r, sat), u) << hex(u);
          EXPECT_EQ(kcs::e4m3_from_double(static_cast<double>(got), r, sat), u) << hex(u);
        }
      }
      continue;
    }
    EXPECT_EQ(kcs::f64_bits(static_cast<double>(got)), kcs::f64_bits(want)) << hex(u);
    for (Round r : kModes) {
      for (bool sat : {true, false}) {
        EXPECT_EQ(kcs::e4m3_from_float(got, r, sat), u) << hex(u) << kcs::round_name(r) << sat;
        EXPECT_EQ(kcs::e4m3_from_double(want, r, sat), u) << hex(u) << kcs::round_name(r) << sat;
      }
    }
  }
  EXPECT_EQ(nans, 2);
  // Spot values from the OCP table.
  EXPECT_EQ(kcs::e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(kcs::e4m3_to_float(0xFE), -448.0f);
  EXPECT_EQ(kcs::e4m3_to_float(0x38), 1.0f);
  EXPECT_EQ(kcs::e4m3_to_float(0x08), std::ldexp(1.0f, -6));  // min normal
  EXPECT_EQ(kcs::e4m3_to_float(0x07), std::ldexp(7.0f, -9));  // max subnormal
  EXPECT_EQ(kcs::e4m3_to_float(0x01), std::ldexp(1.0f, -9));  // min subnormal
  EXPECT_EQ(kcs::e4m3_to_float(0x77), 240.0f);
  EXPECT_EQ(kcs::e4m3_to_float(0x78), 256.0f);
  EXPECT_EQ(kcs::f32_bits(kcs::e4m3_to_float(0x80)), 0x80000000u);
}

TEST(E4M3, AllMidpointsEveryMode) {
  const Table& t = e4m3_table();
  for (uint32_t lo = 0; lo <= 0x7E; ++lo) {
    const uint32_t hi = lo + 1;  // 0x7F here is the virtual 480: overflow
    const double mid = 0.5 * (t.vals[lo] + t.vals[hi]);
    for (int neg = 0; neg < 2; ++neg) {
      const double s = neg != 0 ? -1.0 : 1.0;
      const uint32_t sb = neg != 0 ? 0x80u : 0u;
      for (bool sat : {true, false}) {
        auto fix = [&](uint32_t idx, Round r) {
          if (idx <= 0x7E) return idx | sb;
          return (r == Round::trunc || sat ? 0x7Eu : 0x7Fu) | sb;
        };
        for (Round r : kModes) {
          const uint32_t tie = r == Round::trunc ? lo : r == Round::rhaz ? hi : ((lo & 1) == 0 ? lo : hi);
          const uint32_t above = r == Round::trunc ? lo : hi;
          const std::string ctx = hex(lo) + " " + kcs::round_name(r) + (sat ? " sat" : " nosat") + (neg ? " neg" : "");
          EXPECT_EQ(kcs::e4m3_from_double(s * mid, r, sat), fix(tie, r)) << ctx;
          EXPECT_EQ(kcs::e4m3_from_float(static_cast<float>(s * mid), r, sat), fix(tie, r)) << ctx;
          EXPECT_EQ(kcs::e4m3_from_double(s * std::nextafter(mid, 0.0), r, sat), fix(lo, r)) << ctx;
          EXPECT_EQ(kcs::e4m3_from_float(static_cast<float>(s) * std::nextafter(static_cast<float>(mid), 0.0f), r, sat),
                    fix(lo, r))
              << ctx;
          EXPECT_EQ(kcs::e4m3_from_double(s * std::nextafter(mid, HUGE_VAL), r, sat), fix(above, r)) << ctx;
        }
      }
    }
  }
}

TEST(E4M3, OverflowSaturationAndSpecials) {
  struct Case {
    double x;
    Round r;
    uint8_t sat, nosat;
  };
  const Case cases[] = {
      {448.0, Round::rint, 0x7E, 0x7E},   {450.0, Round::rint, 0x7E, 0x7E},
      {450.0, Round::rhaz, 0x7E, 0x7E},   {450.0, Round::trunc, 0x7E, 0x7E},
      {464.0, Round::rint, 0x7E, 0x7E},  // tie with odd 0x7F(480) -> even 448
      {464.0, Round::rhaz, 0x7E, 0x7F},   {464.0, Round::trunc, 0x7E, 0x7E},
      {470.0, Round::rint, 0x7E, 0x7F},   {470.0, Round::trunc, 0x7E, 0x7E},
      {479.0, Round::trunc, 0x7E, 0x7E},  {480.0, Round::trunc, 0x7E, 0x7E},
      {1e6, Round::rint, 0x7E, 0x7F},     {1e6, Round::rhaz, 0x7E, 0x7F},
      {1e6, Round::trunc, 0x7E, 0x7E},    {DBL_MAX, Round::rint, 0x7E, 0x7F},
      {HUGE_VAL, Round::rint, 0x7E, 0x7F}, {HUGE_VAL, Round::rhaz, 0x7E, 0x7F},
      {HUGE_VAL, Round::trunc, 0x7E, 0x7F},
  };
  for (const Case& c : cases) {
    for (int neg = 0; neg < 2; ++neg) {
      const double x = neg != 0 ? -c.x : c.x;
      const auto sb = static_cast<uint8_t>(neg != 0 ? 0x80 : 0);
      EXPECT_EQ(kcs::e4m3_from_double(x, c.r, true), c.sat | sb) << x << " " << kcs::round_name(c.r);
      EXPECT_EQ(kcs::e4m3_from_double(x, c.r, false), c.nosat | sb) << x << " " << kcs::round_name(c.r);
      if (std::fabs(x) <= FLT_MAX || std::isinf(x)) {
        EXPECT_EQ(kcs::e4m3_from_float(static_cast<float>(x), c.r, true), c.sat | sb) << x;
        EXPECT_EQ(kcs::e4m3_from_float(static_cast<float>(x), c.r, false), c.nosat | sb) << x;
      }
    }
  }
  for (Round r : kModes) {
    for (bool sat : {true, false}) {
      EXPECT_EQ(kcs::e4m3_from_float(std::numeric_limits<float>::quiet_NaN(), r, sat), 0x7F);
      EXPECT_EQ(kcs::e4m3_from_float(-std::numeric_limits<float>::quiet_NaN(), r, sat), 0xFF);
      EXPECT_EQ(kcs::e4m3_from_double(std::numeric_limits<double>::signaling_NaN(), r, sat), 0x7F);
      EXPECT_EQ(kcs::e4m3_from_float(0.0f, r, sat), 0x00);
      EXPECT_EQ(kcs::e4m3_from_float(-0.0f, r, sat), 0x80);
      EXPECT_EQ(kcs::e4m3_from_double(-std::ldexp(1.0, -11), r, sat), 0x80);  // underflow keeps sign
      EXPECT_EQ(kcs::e4m3_from_double(1e-300, r, sat), 0x00);
    }
  }
}

TEST(E4M3, Subnormals) {
  const double q = std::ldexp(1.0, -10);  // half the subnormal step 2^-9
  EXPECT_EQ(kcs::e4m3_from_double(2 * q), 0x01);
  EXPECT_EQ(kcs::e4m3_from_double(q, Round::rint), 0x00);
  EXPECT_EQ(kcs::e4m3_from_double(q, Round::rhaz), 0x01);
  EXPECT_EQ(kcs::e4m3_from_double(q, Round::trunc), 0x00);
  EXPECT_EQ(kcs::e4m3_from_double(3 * q, Round::rint), 0x02);
  EXPECT_EQ(kcs::e4m3_from_double(3 * q, Round::rhaz), 0x02);
  EXPECT_EQ(kcs::e4m3_from_double(3 * q, Round::trunc), 0x01);
  EXPECT_EQ(kcs::e4m3_from_double(-5 * q, Round::rint), 0x82);
  EXPECT_EQ(kcs::e4m3_from_double(15 * q, Round::rint), 0x08);   // 7.5 steps: tie 0x07|0x08 -> even
  EXPECT_EQ(kcs::e4m3_from_double(15 * q, Round::trunc), 0x07);
  EXPECT_EQ(kcs::e4m3_from_double(std::nextafter(q, 1.0), Round::rint), 0x01);
  EXPECT_EQ(kcs::e4m3_from_double(std::nextafter(q, 0.0), Round::rhaz), 0x00);
}

TEST(E4M3, RandomVsReference) {
  std::mt19937_64 rng(0x5eed0004u);
  FailBudget fb;
  constexpr int kN = 200000;
  for (int i = 0; i < 3 * kN; ++i) {
    double x;
    if (i < kN) {
      x = static_cast<double>(kcs::f32_from_bits(static_cast<uint32_t>(rng())));
    } else if (i < 2 * kN) {
      x = rand_double(rng, -12, 10);
    } else {
      x = rand_near_mid(rng, e4m3_table());
    }
    for (Round r : kModes) {
      for (bool sat : {true, false}) {
        const uint8_t got = kcs::e4m3_from_double(x, r, sat);
        const uint8_t want = ref_e4m3(x, r, sat);
        const uint8_t gotf = kcs::e4m3_from_float(static_cast<float>(x), r, sat);
        const uint8_t wantf = ref_e4m3(static_cast<double>(static_cast<float>(x)), r, sat);
        if ((got != want || gotf != wantf) && fb.take())
          ADD_FAILURE() << "x=" << dstr(x) << " " << kcs::round_name(r) << " sat=" << sat << " got " << hex(got)
                        << " want " << hex(want) << " float: " << hex(gotf) << " vs " << hex(wantf);
      }
    }
  }
  EXPECT_EQ(fb.count(), 0);
}

// Spec §6.4: for scale <= 464 the staging kernel's encode equals correctly rounded RNE E4M3
// with saturation; §10.6 gives two tie vectors.
TEST(E4M3, MatchesStagingEncodeInRange) {
  EXPECT_EQ(kcs::e4m3_from_float(1.0625f), 0x38);
  EXPECT_EQ(kcs::e4m3_from_float(1.1875f), 0x3A);
  EXPECT_EQ(kcs::e4m3_from_float(6.375f / 6.0f), 0x38);  // §10.6: amax 6.375
  EXPECT_EQ(kcs::e4m3_from_float(7.125f / 6.0f), 0x3A);  // §10.6: amax 7.125
  EXPECT_EQ(staging_e4m3_enc(1.0625f), 0x38);
  EXPECT_EQ(staging_e4m3_enc(1.1875f), 0x3A);
  FailBudget fb;
  auto check = [&](float s) {
    const uint8_t want = staging_e4m3_enc(s);
    const uint8_t got = kcs::e4m3_from_float(s, Round::rint, true);
    if (got != want && fb.take()) ADD_FAILURE() << "s=" << dstr(s) << " got " << hex(got) << " staging " << hex(want);
  };
  // Structured: every exponent up to 464's, every top-9-bit mantissa, low bits around the
  // guard positions used by the normal (bit 19) and subnormal (bits 20..23) paths.
  for (uint32_t e = 0; e <= 135; ++e) {
    for (uint32_t top = 0; top < 512; ++top) {
      for (uint32_t low : {0u, 1u, 0x3FFFu, 0x2000u, 0x1FFFu}) {
        const float s = kcs::f32_from_bits((e << 23) | (top << 14) | low);
        if (s <= 464.0f) check(s);
      }
    }
  }
  std::mt19937_64 rng(0x5eed0005u);
  for (int i = 0; i < 500000; ++i) {
    const float s = kcs::f32_from_bits(static_cast<uint32_t>(rng() % 0x43E80001u));  // [0, 464]
    check(s);
  }
  EXPECT_EQ(fb.count(), 0);
  // Beyond 464 the staging kernel produces 0x7F (its "480") and then garbage (§6.4); kcs saturates.
  EXPECT_EQ(staging_e4m3_enc(470.0f), 0x7F);
  EXPECT_EQ(kcs::e4m3_from_float(470.0f), 0x7E);
}

// ---------------------------------------------------------------------------------------------
// E2M1
// ---------------------------------------------------------------------------------------------

TEST(E2M1, AllCodesDecodeAndRoundTrip) {
  const float mags[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (uint32_t c = 0; c < 16; ++c) {
    const float want = (c & 8) != 0 ? -mags[c & 7] : mags[c & 7];
    const float got = kcs::e2m1_to_float(static_cast<uint8_t>(c));
    EXPECT_EQ(kcs::f32_bits(got), kcs::f32_bits(want)) << c;
    EXPECT_EQ(kcs::e2m1_to_float(static_cast<uint8_t>(c | 0xF0)), got) << "high bits ignored";
    for (Round r : kModes) {
      EXPECT_EQ(kcs::e2m1_from_float(got, r), c) << c << kcs::round_name(r);
      EXPECT_EQ(kcs::e2m1_from_double(static_cast<double>(got), r), c) << c << kcs::round_name(r);
    }
  }
}

TEST(E2M1, TiesEveryMode) {
  struct Case {
    float x;
    uint8_t rint, rhaz, trunc;
  };
  const Case cases[] = {
      {0.25f, 0x0, 0x1, 0x0}, {0.75f, 0x2, 0x2, 0x1}, {1.25f, 0x2, 0x3, 0x2}, {1.75f, 0x4, 0x4, 0x3},
      {2.5f, 0x4, 0x5, 0x4},  {3.5f, 0x6, 0x6, 0x5},  {5.0f, 0x6, 0x7, 0x6},  {7.0f, 0x7, 0x7, 0x7},
  };
  for (const Case& c : cases) {
    for (int neg = 0; neg < 2; ++neg) {
      const float x = neg != 0 ? -c.x : c.x;
      const uint8_t sb = neg != 0 ? 0x8 : 0x0;
      EXPECT_EQ(kcs::e2m1_from_float(x, Round::rint), c.rint | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(x, Round::rhaz), c.rhaz | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(x, Round::trunc), c.trunc | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_double(static_cast<double>(x), Round::rint), c.rint | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_double(static_cast<double>(x), Round::rhaz), c.rhaz | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_double(static_cast<double>(x), Round::trunc), c.trunc | sb) << x;
      // One float ulp either side of the tie: every mode but trunc follows the nearest value.
      const float dn = std::nextafter(c.x, 0.0f), up = std::nextafter(c.x, HUGE_VALF);
      const float sdn = neg != 0 ? -dn : dn, sup = neg != 0 ? -up : up;
      const Table& t = e2m1_table();
      const auto lo = static_cast<uint8_t>(std::upper_bound(t.vals.begin(), t.vals.end(), static_cast<double>(dn)) -
                                           t.vals.begin() - 1);
      const uint8_t hi = static_cast<uint8_t>(std::min(lo + 1, 7));
      EXPECT_EQ(kcs::e2m1_from_float(sdn, Round::rint), lo | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(sdn, Round::rhaz), lo | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(sup, Round::rint), hi | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(sup, Round::rhaz), hi | sb) << x;
      EXPECT_EQ(kcs::e2m1_from_float(sup, Round::trunc), lo | sb) << x;
    }
  }
}

// Spec §10.6 (K4, scale 1): staging (= rhaz) codes.
TEST(E2M1, Spec10_6Vector) {
  const float in[] = {0.25f, 1.25f, 2.5f, 5.0f, -0.25f, -0.1f};
  const uint8_t want[] = {0x1, 0x3, 0x5, 0x7, 0x9, 0x8};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(kcs::e2m1_from_float(in[i], Round::rhaz), want[i]) << in[i];
    EXPECT_EQ(staging_e2m1_code(in[i]), want[i]) << in[i];
  }
  // Nearest-even (torchao / PTX cvt.rn) gives 0, 1, 2, 4 for the first four (§6.4).
  EXPECT_EQ(kcs::e2m1_from_float(0.25f), 0x0);
  EXPECT_EQ(kcs::e2m1_from_float(1.25f), 0x2);
  EXPECT_EQ(kcs::e2m1_from_float(2.5f), 0x4);
  EXPECT_EQ(kcs::e2m1_from_float(5.0f), 0x6);
  EXPECT_EQ(kcs::e2m1_from_float(-0.1f), 0x8);
}

TEST(E2M1, SaturationAndSpecials) {
  for (Round r : kModes) {
    for (double x : {6.0, 6.5, 7.0, 7.5, 8.0, 100.0, 1e30, DBL_MAX, HUGE_VAL}) {
      EXPECT_EQ(kcs::e2m1_from_double(x, r), 0x7) << x;
      EXPECT_EQ(kcs::e2m1_from_double(-x, r), 0xF) << x;
      if (x <= FLT_MAX || std::isinf(x)) {
        EXPECT_EQ(kcs::e2m1_from_float(static_cast<float>(x), r), 0x7) << x;
        EXPECT_EQ(kcs::e2m1_from_float(static_cast<float>(-x), r), 0xF) << x;
      }
    }
    EXPECT_EQ(kcs::e2m1_from_float(std::numeric_limits<float>::quiet_NaN(), r), 0x7);
    EXPECT_EQ(kcs::e2m1_from_float(-std::numeric_limits<float>::quiet_NaN(), r), 0x7);
    EXPECT_EQ(kcs::e2m1_from_double(std::numeric_limits<double>::quiet_NaN(), r), 0x7);
    EXPECT_EQ(kcs::e2m1_from_float(0.0f, r), 0x0);
    EXPECT_EQ(kcs::e2m1_from_float(-0.0f, r), 0x8);
    EXPECT_EQ(kcs::e2m1_from_float(-0.1f, r), 0x8);
    EXPECT_EQ(kcs::e2m1_from_float(0.1f, r), 0x0);
    EXPECT_EQ(kcs::e2m1_from_double(-1e-300, r), 0x8);
  }
}

// rhaz equals the staging kernel's threshold count (§6.3 step 6) for every nonzero w in
// [-6, 6]; exhaustive over the float patterns near each threshold, random elsewhere.
TEST(E2M1, RhazMatchesStagingThresholds) {
  FailBudget fb;
  auto check = [&](float w) {
    if (w == 0.0f || std::isnan(w)) return;  // -0.0: staging gives 0x0 (w < 0 is false), kcs 0x8
    const float wc = std::min(std::max(w, -6.0f), 6.0f);
    const uint8_t want = staging_e2m1_code(wc);
    if (kcs::e2m1_from_float(w, Round::rhaz) != want && fb.take()) ADD_FAILURE() << "w=" << dstr(w);
  };
  for (float t : {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f}) {
    float a = t, b = t;
    for (int k = 0; k < 1000; ++k) {
      check(a), check(-a), check(b), check(-b);
      a = std::nextafter(a, 0.0f);
      b = std::nextafter(b, HUGE_VALF);
    }
  }
  std::mt19937 rng(0x5eed0006u);
  std::uniform_real_distribution<float> d(-8.0f, 8.0f);
  for (int i = 0; i < 200000; ++i) check(d(rng));
  EXPECT_EQ(fb.count(), 0);
  EXPECT_EQ(staging_e2m1_code(-0.0f), 0x0);
  EXPECT_EQ(kcs::e2m1_from_float(-0.0f, Round::rhaz), 0x8);
}

TEST(E2M1, RandomVsReference) {
  std::mt19937_64 rng(0x5eed0007u);
  FailBudget fb;
  for (int i = 0; i < 300000; ++i) {
    const double x = i % 3 == 0 ? rand_double(rng, -4, 4) : rand_near_mid(rng, e2m1_table());
    for (Round r : kModes) {
      const uint8_t got = kcs::e2m1_from_double(x, r), want = ref_e2m1(x, r);
      if (got != want && fb.take()) ADD_FAILURE() << "x=" << dstr(x) << " " << kcs::round_name(r);
    }
  }
  EXPECT_EQ(fb.count(), 0);
}

TEST(E2M1, Pack) {
  EXPECT_EQ(kcs::pack_e2m1x2(0x1, 0x3), 0x31);
  EXPECT_EQ(kcs::pack_e2m1x2(0xF, 0x8), 0x8F);
  EXPECT_EQ(kcs::pack_e2m1x2(0xF1, 0xE2), 0x21);  // only the low nibbles count
  for (uint32_t a = 0; a < 16; ++a) {
    for (uint32_t b = 0; b < 16; ++b) {
      const uint8_t p = kcs::pack_e2m1x2(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
      EXPECT_EQ(p & 0xF, a);
      EXPECT_EQ(p >> 4, b);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Integer rounding, saturation, ordinals, names
// ---------------------------------------------------------------------------------------------

TEST(RoundToInt, Ties) {
  struct Case {
    double x, rint, rhaz, trunc;
  };
  const double p52 = std::ldexp(1.0, 52);
  const Case cases[] = {
      {0.5, 0.0, 1.0, 0.0},       {1.5, 2.0, 2.0, 1.0},       {2.5, 2.0, 3.0, 2.0},
      {3.5, 4.0, 4.0, 3.0},       {126.5, 126.0, 127.0, 126.0}, {0.49999999999999994, 0.0, 0.0, 0.0},
      {0.7, 1.0, 1.0, 0.0},       {2.0, 2.0, 2.0, 2.0},       {p52 - 0.5, p52, p52, p52 - 1},
      {p52 - 1.5, p52 - 2, p52 - 1, p52 - 2}, {p52, p52, p52, p52}, {p52 + 1, p52 + 1, p52 + 1, p52 + 1},
      {1e300, 1e300, 1e300, 1e300},
  };
  for (const Case& c : cases) {
    for (int neg = 0; neg < 2; ++neg) {
      const double s = neg != 0 ? -1.0 : 1.0;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::rint), s * c.rint) << s * c.x;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::rhaz), s * c.rhaz) << s * c.x;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::trunc), s * c.trunc) << s * c.x;
    }
  }
  const float p23 = std::ldexp(1.0f, 23);
  struct CaseF {
    float x, rint, rhaz, trunc;
  };
  const CaseF fcases[] = {
      {0.5f, 0.0f, 1.0f, 0.0f}, {1.5f, 2.0f, 2.0f, 1.0f}, {2.5f, 2.0f, 3.0f, 2.0f},
      {-126.5f, -126.0f, -127.0f, -126.0f}, {p23 - 0.5f, p23, p23, p23 - 1}, {p23 - 1.5f, p23 - 2, p23 - 1, p23 - 2},
      {p23 + 1, p23 + 1, p23 + 1, p23 + 1}, {3e38f, 3e38f, 3e38f, 3e38f},
  };
  for (const CaseF& c : fcases) {
    for (int neg = 0; neg < 2; ++neg) {
      const float s = neg != 0 ? -1.0f : 1.0f;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::rint), s * c.rint) << s * c.x;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::rhaz), s * c.rhaz) << s * c.x;
      EXPECT_EQ(kcs::round_to_int(s * c.x, Round::trunc), s * c.trunc) << s * c.x;
    }
  }
  for (Round r : kModes) {
    EXPECT_TRUE(std::isnan(kcs::round_to_int(std::numeric_limits<double>::quiet_NaN(), r)));
    EXPECT_TRUE(std::isnan(kcs::round_to_int(std::numeric_limits<float>::quiet_NaN(), r)));
    EXPECT_EQ(kcs::round_to_int(HUGE_VAL, r), HUGE_VAL);
    EXPECT_EQ(kcs::round_to_int(-HUGE_VALF, r), -HUGE_VALF);
    // Sign of zero is kept (like nearbyint): -0.4 -> -0.
    EXPECT_TRUE(std::signbit(kcs::round_to_int(-0.4, r)));
    EXPECT_TRUE(std::signbit(kcs::round_to_int(-0.4f, r)));
    EXPECT_TRUE(std::signbit(kcs::round_to_int(-0.0, r)));
  }
  EXPECT_TRUE(std::signbit(kcs::round_to_int(-0.5, Round::rint)));
  EXPECT_EQ(kcs::round_to_int(-0.5, Round::rhaz), -1.0);
}

// Against the C library (default environment: nearbyint is ties-to-even).
TEST(RoundToInt, RandomVsLibm) {
  std::mt19937_64 rng(0x5eed0008u);
  for (int i = 0; i < 200000; ++i) {
    double x = rand_double(rng, -3, 60);
    if (i % 4 == 0) x = std::ldexp(std::floor(std::ldexp(x, 1)), -1);  // make many exact .5s
    const float xf = rand_float(rng, -3, 28);
    const struct {
      Round r;
      double d;
      float f;
    } want[] = {{Round::rint, std::nearbyint(x), std::nearbyint(xf)},
                {Round::rhaz, std::round(x), std::round(xf)},
                {Round::trunc, std::trunc(x), std::trunc(xf)}};
    for (const auto& w : want) {
      ASSERT_EQ(kcs::f64_bits(kcs::round_to_int(x, w.r)), kcs::f64_bits(w.d)) << dstr(x) << kcs::round_name(w.r);
      ASSERT_EQ(kcs::f32_bits(kcs::round_to_int(xf, w.r)), kcs::f32_bits(w.f)) << dstr(xf) << kcs::round_name(w.r);
    }
  }
}

TEST(Saturation, Sat8) {
  EXPECT_EQ(kcs::sat8(0), 0);
  EXPECT_EQ(kcs::sat8(127), 127);
  EXPECT_EQ(kcs::sat8(128), 127);
  EXPECT_EQ(kcs::sat8(-128), -128);
  EXPECT_EQ(kcs::sat8(-129), -128);
  EXPECT_EQ(kcs::sat8(std::numeric_limits<int64_t>::max()), 127);
  EXPECT_EQ(kcs::sat8(std::numeric_limits<int64_t>::min()), -128);
  for (int64_t v = -300; v <= 300; ++v) EXPECT_EQ(kcs::sat8(v), std::min<int64_t>(127, std::max<int64_t>(-128, v)));
}

TEST(Saturation, ToI32Sat) {
  const int32_t mx = std::numeric_limits<int32_t>::max(), mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(kcs::to_i32_sat(std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(kcs::to_i32_sat(-std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(kcs::to_i32_sat(kcs::f32_from_bits(0x7F800001u)), 0);
  EXPECT_EQ(kcs::to_i32_sat(HUGE_VALF), mx);
  EXPECT_EQ(kcs::to_i32_sat(-HUGE_VALF), mn);
  EXPECT_EQ(kcs::to_i32_sat(1e30f), mx);
  EXPECT_EQ(kcs::to_i32_sat(-1e30f), mn);
  EXPECT_EQ(kcs::to_i32_sat(2147483648.0f), mx);
  EXPECT_EQ(kcs::to_i32_sat(-2147483648.0f), mn);
  EXPECT_EQ(kcs::to_i32_sat(2147483520.0f), 2147483520);  // largest float below 2^31
  EXPECT_EQ(kcs::to_i32_sat(-2147483520.0f), -2147483520);
  EXPECT_EQ(kcs::to_i32_sat(127.0f), 127);
  EXPECT_EQ(kcs::to_i32_sat(-128.0f), -128);
  EXPECT_EQ(kcs::to_i32_sat(-0.0f), 0);
  EXPECT_EQ(kcs::to_i32_sat(2.75f), 2);  // a fraction is truncated (callers pass integral values)
}

TEST(Ordinals, Ord32Ord64) {
  EXPECT_EQ(kcs::ord32(0.0f), 0);
  EXPECT_EQ(kcs::ord32(-0.0f), 0);
  EXPECT_EQ(kcs::ord64(0.0), 0);
  EXPECT_EQ(kcs::ord64(-0.0), 0);
  EXPECT_EQ(kcs::ord32(std::nextafter(0.0f, 1.0f)), 1);
  EXPECT_EQ(kcs::ord32(std::nextafter(0.0f, -1.0f)), -1);
  EXPECT_EQ(kcs::ord32(HUGE_VALF), 0x7F800000);
  EXPECT_EQ(kcs::ord32(-HUGE_VALF), -0x7F800000);
  EXPECT_EQ(kcs::ord64(-HUGE_VAL), -0x7FF0000000000000LL);
  EXPECT_EQ(kcs::ord64(std::nextafter(0.0, -1.0)), -1);
  std::mt19937_64 rng(0x5eed0009u);
  std::vector<float> fs;
  std::vector<double> ds;
  for (int i = 0; i < 100000; ++i) {
    const float f = kcs::f32_from_bits(static_cast<uint32_t>(rng()));
    const double d = kcs::f64_from_bits(rng());
    if (!std::isnan(f)) {
      fs.push_back(f);
      ASSERT_EQ(kcs::ord32(std::nextafter(f, HUGE_VALF)) - kcs::ord32(f), std::isinf(f) && f > 0 ? 0 : 1) << f;
    }
    if (!std::isnan(d)) {
      ds.push_back(d);
      if (d != 0.0 && !std::isinf(d)) {
        ASSERT_EQ(kcs::ord64(std::nextafter(d, HUGE_VAL)) - kcs::ord64(d), 1) << d;
      }
    }
  }
  std::sort(fs.begin(), fs.end());
  std::sort(ds.begin(), ds.end());
  for (size_t i = 0; i + 1 < fs.size(); ++i) {
    ASSERT_EQ(fs[i] < fs[i + 1], kcs::ord32(fs[i]) < kcs::ord32(fs[i + 1]));
  }
  for (size_t i = 0; i + 1 < ds.size(); ++i) {
    ASSERT_EQ(ds[i] < ds[i + 1], kcs::ord64(ds[i]) < kcs::ord64(ds[i + 1]));
  }
}

TEST(Names, RoundNameParse) {
  for (Round r : kModes) {
    Round back = r == Round::rint ? Round::trunc : Round::rint;
    ASSERT_TRUE(kcs::parse_round(kcs::round_name(r), &back));
    EXPECT_EQ(back, r);
  }
  EXPECT_STREQ(kcs::round_name(Round::rint), "rint");
  EXPECT_STREQ(kcs::round_name(Round::rhaz), "rhaz");
  EXPECT_STREQ(kcs::round_name(Round::trunc), "trunc");
  Round out = Round::rhaz;
  EXPECT_FALSE(kcs::parse_round("RINT", &out));
  EXPECT_FALSE(kcs::parse_round("", &out));
  EXPECT_FALSE(kcs::parse_round("rint ", &out));
  EXPECT_EQ(out, Round::rhaz);  // untouched on failure
  EXPECT_TRUE(kcs::parse_round("trunc", nullptr));
}

TEST(BitCast, RoundTrip) {
  EXPECT_EQ(kcs::f32_bits(1.0f), 0x3F800000u);
  EXPECT_EQ(kcs::f64_bits(-2.0), 0xC000000000000000ull);
  EXPECT_EQ(kcs::f32_from_bits(0x40490FDBu), 3.14159274f);
  EXPECT_EQ(kcs::f64_from_bits(0x3FF0000000000000ull), 1.0);
  EXPECT_EQ((kcs::bit_cast<int32_t>(-0.0f)), std::numeric_limits<int32_t>::min());
}

}  // namespace
