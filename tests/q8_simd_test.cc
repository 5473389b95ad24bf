// Differential test of the Q8 SIMD row kernels (optimized/avx512/q8.cc, optimized/avx2/q8.cc)
// against q8_row_reference: codes and scale bits must be identical for every input, every
// (rmode, floor, scale dtype) combination, every row length.
//
// Inputs and outputs live at the very end of an mmap'ed region followed by a PROT_NONE page, so
// a kernel that reads or writes one byte past a row (an unmasked tail) crashes the test.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kcs/cpu.h"
#include "kcs/formats.h"
#include "kcs/kernels/q8.h"
#include "optimized/q8.h"
#include "reference/primitives.h"

namespace kcs {

// Readable parameter values in gtest failure lines ("where GetParam() = avx2").
void PrintTo(Isa isa, std::ostream* os) { *os << isa_name(isa); }

namespace {

// `bytes` usable bytes that end exactly at an inaccessible page.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page;
    total_ = body + page;
    void* m = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + body, page, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
    data_ = base_ + body - bytes;
  }
  ~GuardedBuffer() { munmap(base_, total_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  uint8_t* data() { return data_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t total_ = 0;
};

struct Variant {
  Isa isa;
  void (*rows)(const opt::Q8Rows&, int64_t, int64_t);
  float (*row_f32)(const float*, int64_t, const Q8Params&, int8_t*);
};

Variant variant_of(Isa isa) {
  if (isa == Isa::avx512) return {isa, &opt::q8_rows_avx512, &opt::q8_row_f32_avx512};
  return {isa, &opt::q8_rows_avx2, &opt::q8_row_f32_avx2};
}

// Every (rmode, floor, scale dtype) combination.
struct Combo {
  Q8Params p;
  DType scale;
};

std::vector<Combo> all_combos() {
  std::vector<Combo> v;
  for (Round r : {Round::rint, Round::rhaz})
    for (bool fl : {false, true})
      for (DType s : {DType::fp32, DType::fp16}) {
        Combo c;
        c.p.rmode = r;
        c.p.floor = fl;
        c.scale = s;
        v.push_back(c);
      }
  return v;
}

std::string combo_name(const Combo& c) {
  return std::string(round_name(c.p.rmode)) + (c.p.floor ? " floor=1e-4" : " floor=none") +
         (c.scale == DType::fp16 ? " scale=fp16" : " scale=fp32");
}

// A batch of rows in one input dtype; values are kept as bit patterns.
struct Rows {
  DType dtype = DType::bf16;
  int64_t n = 0;
  std::vector<uint32_t> bits;  // bf16 patterns in the low 16 bits, or fp32 patterns

  int64_t rows() const { return n == 0 ? 0 : static_cast<int64_t>(bits.size()) / n; }
  float value(int64_t i) const {
    const uint32_t b = bits[static_cast<size_t>(i)];
    return dtype == DType::bf16 ? bf16_to_float(static_cast<uint16_t>(b)) : f32_from_bits(b);
  }
  void add_row(const std::vector<float>& v) {  // values already representable in dtype
    for (float f : v) bits.push_back(dtype == DType::bf16 ? (f32_bits(f) >> 16) : f32_bits(f));
  }
};

std::string row_text(const Rows& x, int64_t r) {
  std::ostringstream os;
  os << "row " << r << " [";
  for (int64_t j = 0; j < x.n && j < 12; ++j) os << (j ? ", " : "") << x.value(r * x.n + j);
  os << (x.n > 12 ? ", ...]" : "]");
  return os.str();
}

// Runs the variant over all rows for every combination and compares with the reference.
void expect_same(const Variant& v, const Rows& x, const std::string& what) {
  const int64_t rows = x.rows(), n = x.n;
  const size_t esize = x.dtype == DType::bf16 ? 2 : 4;
  const size_t numel = static_cast<size_t>(rows * n);
  GuardedBuffer xin(numel * esize);
  for (size_t i = 0; i < numel; ++i) {
    if (x.dtype == DType::bf16) {
      const uint16_t b = static_cast<uint16_t>(x.bits[i]);
      std::memcpy(xin.data() + 2 * i, &b, 2);
    } else {
      std::memcpy(xin.data() + 4 * i, &x.bits[i], 4);
    }
  }
  std::vector<float> row(static_cast<size_t>(n));
  std::vector<int8_t> want_codes(numel);
  std::vector<uint32_t> want_scale(static_cast<size_t>(rows));

  for (const Combo& c : all_combos()) {
    SCOPED_TRACE(what + ", " + (x.dtype == DType::bf16 ? "bf16" : "fp32") + " n=" + std::to_string(n) + ", " +
                 combo_name(c) + ", " + isa_name(v.isa));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = x.value(r * n + j);
      const float s = q8_row_reference(row.data(), n, c.p, want_codes.data() + r * n);
      want_scale[static_cast<size_t>(r)] = c.scale == DType::fp16 ? fp16_from_float(s) : f32_bits(s);
    }

    GuardedBuffer codes(numel), scale(static_cast<size_t>(rows) * (c.scale == DType::fp16 ? 2 : 4));
    std::memset(codes.data(), 0x5A, numel);  // poison: an unwritten code shows
    opt::Q8Rows a;
    a.x = xin.data();
    a.x_dtype = x.dtype;
    a.n = n;
    a.params = c.p;
    a.codes = reinterpret_cast<int8_t*>(codes.data());
    a.scale = scale.data();
    a.scale_dtype = c.scale;
    v.rows(a, 0, rows);

    int reported = 0;
    for (int64_t r = 0; r < rows && reported < 5; ++r) {
      uint32_t got_scale = 0;
      if (c.scale == DType::fp16) {
        uint16_t h;
        std::memcpy(&h, scale.data() + 2 * r, 2);
        got_scale = h;
      } else {
        std::memcpy(&got_scale, scale.data() + 4 * r, 4);
      }
      const uint32_t want = want_scale[static_cast<size_t>(r)];
      bool row_bad = got_scale != want;
      if (row_bad)
        ADD_FAILURE() << "scale bits " << std::hex << got_scale << " != reference " << want << std::dec << " at "
                      << row_text(x, r);
      for (int64_t j = 0; j < n; ++j) {
        const int8_t got = static_cast<int8_t>(codes.data()[r * n + j]);
        const int8_t exp = want_codes[static_cast<size_t>(r * n + j)];
        if (got != exp) {
          ADD_FAILURE() << "code " << int(got) << " != reference " << int(exp) << " at element " << j
                        << " (value " << x.value(r * n + j) << ") of " << row_text(x, r);
          row_bad = true;
          break;
        }
      }
      reported += row_bad;
    }

    // The fused-kernel entry point on fp32 rows, one row at a time.
    if (x.dtype == DType::fp32) {
      GuardedBuffer one(static_cast<size_t>(n));
      for (int64_t r = 0; r < rows; ++r) {
        const float* vin = reinterpret_cast<const float*>(xin.data()) + r * n;
        const float s = v.row_f32(vin, n, c.p, reinterpret_cast<int8_t*>(one.data()));
        const uint32_t got = c.scale == DType::fp16 ? fp16_from_float(s) : f32_bits(s);
        ASSERT_EQ(got, want_scale[static_cast<size_t>(r)]) << "row_f32 scale, " << row_text(x, r);
        ASSERT_EQ(0, std::memcmp(one.data(), want_codes.data() + r * n, static_cast<size_t>(n)))
            << "row_f32 codes, " << row_text(x, r);
      }
    }
  }
}

const int64_t kLengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 127, 128, 129, 1536, 7168};

// Rounds to the input format (BF16 rounding keeps values representable).
float in_format(float f, DType d) { return d == DType::bf16 ? bf16_to_float(bf16_from_float(f)) : f; }

class Q8Simd : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    const std::string missing = isa_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << "skipped: " << isa_name(GetParam()) << " " << missing;
    v_ = variant_of(GetParam());
  }
  Variant v_{};
};

// Random rows at magnitudes 1e-30 .. 1e30, normal distribution within a row, plus rows whose
// elements span many binades (tiny y, subnormal inputs next to large ones).
TEST_P(Q8Simd, RandomRowsAllLengths) {
  std::mt19937_64 rng(20240611);
  for (DType d : {DType::bf16, DType::fp32}) {
    for (int64_t n : kLengths) {
      Rows x;
      x.dtype = d;
      x.n = n;
      const int rows = n >= 1536 ? 6 : 24;
      for (int r = 0; r < rows; ++r) {
        const double mag = std::pow(10.0, -30.0 + 60.0 * r / (rows - 1));
        std::normal_distribution<double> nd(0.0, 1.0);
        std::uniform_real_distribution<double> ex(-45.0, 38.0);
        std::vector<float> row(static_cast<size_t>(n));
        for (auto& f : row) {
          const double g = nd(rng);
          f = in_format(static_cast<float>(r % 3 == 2 ? g * std::pow(10.0, ex(rng)) : g * mag), d);
        }
        x.add_row(row);
      }
      expect_same(v_, x, "random");
    }
  }
}

// Random fp32 and bf16 bit patterns: every class of value, NaN payloads and signs included.
TEST_P(Q8Simd, RandomBitPatterns) {
  std::mt19937_64 rng(7);
  for (DType d : {DType::bf16, DType::fp32}) {
    for (int64_t n : kLengths) {
      Rows x;
      x.dtype = d;
      x.n = n;
      const int rows = n >= 1536 ? 4 : 16;
      for (int64_t i = 0; i < rows * n; ++i) {
        uint32_t b = static_cast<uint32_t>(rng());
        // Half the rows: exponent limited to finite normal values so that NaN does not win.
        if ((i / n) % 2 == 0) b = (b & 0x807FFFFFu) | ((0x60u + (b >> 23) % 0x30u) << 23);
        x.bits.push_back(d == DType::bf16 ? (b >> 16) : b);
      }
      expect_same(v_, x, "random bits");
    }
  }
}

// Spec §10.6: s_q = 1 and exact .5 ties, rint and rhaz both checked against the literal codes.
TEST_P(Q8Simd, SpecTieVector) {
  const std::vector<float> tie = {127, 0.5f, 1.5f, 2.5f, -2.5f, 3.5f, 126.5f, -126.5f, 0};
  for (DType d : {DType::bf16, DType::fp32}) {
    Rows x;
    x.dtype = d;
    x.n = static_cast<int64_t>(tie.size());
    x.add_row(tie);
    expect_same(v_, x, "spec 10.6 tie vector");

    GuardedBuffer in(tie.size() * 4);
    std::memcpy(in.data(), tie.data(), tie.size() * 4);
    for (Round r : {Round::rint, Round::rhaz}) {
      Q8Params p;
      p.rmode = r;
      std::vector<int8_t> codes(tie.size());
      const float s = v_.row_f32(reinterpret_cast<const float*>(in.data()), x.n, p, codes.data());
      const std::vector<int8_t> want = r == Round::rint ? std::vector<int8_t>{127, 0, 2, 2, -2, 4, 126, -126, 0}
                                                        : std::vector<int8_t>{127, 1, 2, 3, -3, 4, 127, -127, 0};
      EXPECT_EQ(codes, want) << round_name(r);
      EXPECT_EQ(s, 1.0f);
    }
  }
}

// Every tie k + 0.5 (|k| < 127) at every lane of every row length, scaled by powers of two so
// that s_q = 2^-e stays exact and y still lands on the tie.
TEST_P(Q8Simd, TiesEverywhere) {
  for (DType d : {DType::bf16, DType::fp32}) {
    for (int64_t n : kLengths) {
      if (n < 2) continue;
      Rows x;
      x.dtype = d;
      x.n = n;
      int k = -127;
      for (int e : {-20, -3, 0, 5, 40}) {
        const float sc = std::ldexp(1.0f, e);
        for (int rep = 0; rep < 3; ++rep) {
          std::vector<float> row(static_cast<size_t>(n));
          row[static_cast<size_t>((rep * 7) % n)] = (rep % 2 ? -127.0f : 127.0f) * sc;  // the amax
          for (int64_t j = 0; j < n; ++j) {
            if (j == (rep * 7) % n) continue;
            row[static_cast<size_t>(j)] = (static_cast<float>(k) + 0.5f) * sc;  // bf16-exact: |k+.5| < 128
            if (++k > 126) k = -127;
          }
          x.add_row(row);
        }
      }
      expect_same(v_, x, "ties");
    }
  }
}

// Zero rows (+0 and -0), NaN rows (NaN beats Inf; NaN payloads), Inf rows, subnormal elements
// next to a normal amax, rows below the floor, a row exactly at the floor.
TEST_P(Q8Simd, SpecialRows) {
  const float inf = INFINITY, nan = NAN;
  const float sub = std::ldexp(1.0f, -140);  // fp32 subnormal, also a bf16 subnormal
  for (DType d : {DType::bf16, DType::fp32}) {
    for (int64_t n : kLengths) {
      Rows x;
      x.dtype = d;
      x.n = n;
      auto add = [&](auto gen) {
        std::vector<float> row(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = in_format(gen(j), d);
        x.add_row(row);
      };
      const int64_t last = n - 1;  // put the special element in the tail lane
      add([](int64_t) { return 0.0f; });
      add([](int64_t j) { return j % 2 ? -0.0f : 0.0f; });
      add([&](int64_t j) { return j == last ? nan : 1.0f + static_cast<float>(j); });
      add([&](int64_t j) { return j == last ? -nan : (j == 0 ? inf : 2.5f); });
      add([&](int64_t j) { return j == last ? inf : 3.0f - static_cast<float>(j); });
      add([&](int64_t j) { return j == last ? -inf : (j % 3 ? 0.0f : -5.0f); });
      add([&](int64_t j) { return j == 0 ? inf : (j == last ? -inf : 1.0f); });
      add([&](int64_t j) { return j == last ? 1.0f : sub * static_cast<float>(j % 5); });
      add([&](int64_t j) { return j == last ? -1e-30f : sub * static_cast<float>(j % 7 + 1); });
      add([&](int64_t j) { return (j == last ? 5e-5f : 1e-6f) * (j % 2 ? -1.0f : 1.0f); });  // below floor
      add([&](int64_t j) { return j == last ? kQ8Floor : 3e-5f; });                              // at the floor
      add([&](int64_t j) { return j == last ? -kQ8Floor * 1.5f : 9e-5f; });                      // above it
      add([&](int64_t j) { return j == last ? 65504.0f * 127 : 1.0f; });  // fp16 scale overflows
      add([&](int64_t j) { return j == last ? 3e38f : -1e38f; });
      expect_same(v_, x, "special");

      // NaN payloads the conversion must not leak into the fp16 scale.
      if (d == DType::bf16) {
        Rows y;
        y.dtype = d;
        y.n = n;
        for (uint32_t pat : {0x7FC1u, 0xFFC0u, 0x7F81u, 0xFF8Fu, 0x7FFFu}) {
          for (int64_t j = 0; j < n; ++j) y.bits.push_back(j == last ? pat : 0x3F80u);
        }
        expect_same(v_, y, "nan payloads");
      } else {
        Rows y;
        y.dtype = d;
        y.n = n;
        for (uint32_t pat : {0x7FC00001u, 0xFFC12345u, 0x7F800001u, 0xFFBFFFFFu, 0x7FFFFFFFu}) {
          for (int64_t j = 0; j < n; ++j) y.bits.push_back(j == last ? pat : 0x3F800000u);
        }
        expect_same(v_, y, "nan payloads");
      }
    }
  }
}

// Out of contract (the backend rejects it without a floor: spec §9): amax below 127*2^-126, so
// s_q overflows to Inf and y = +-Inf or NaN. The kernels still have to match the reference; with
// the floor these rows are in contract.
TEST_P(Q8Simd, TinyAmaxRows) {
  for (DType d : {DType::bf16, DType::fp32}) {
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{128}}) {
      Rows x;
      x.dtype = d;
      x.n = n;
      for (float a : {std::ldexp(1.0f, -149), std::ldexp(1.0f, -133), std::ldexp(1.0f, -126),
                      std::ldexp(1.0f, -121), 1e-36f}) {
        std::vector<float> row(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j)
          row[static_cast<size_t>(j)] = in_format(j % 3 == 0 ? a : (j % 3 == 1 ? -a * 0.5f : 0.0f), d);
        x.add_row(row);
      }
      expect_same(v_, x, "tiny amax");
    }
  }
}

// Every BF16 bit pattern as a one-element row (so every possible BF16 amax, both signs): the
// scale path (floor, division, fp16 cast incl. overflow, subnormals, NaN) exhaustively. Then
// every pattern as a lane next to a fixed amax of 1.0, which sweeps y over every BF16 value.
TEST_P(Q8Simd, ExhaustiveBf16) {
  Rows x;
  x.dtype = DType::bf16;
  x.n = 1;
  for (uint32_t b = 0; b < 65536; ++b) x.bits.push_back(b);
  expect_same(v_, x, "every bf16 amax");

  // Rows of 64: lane 0 holds the amax 1.0 (s_q = 127), lanes 1..63 every pattern up to |1.0|.
  std::vector<uint32_t> lanes;
  for (uint32_t b = 0; b < 65536; ++b)
    if ((b & 0x7FFFu) <= 0x3F80u) lanes.push_back(b);
  Rows y;
  y.dtype = DType::bf16;
  y.n = 64;
  for (size_t i = 0; i < lanes.size(); i += 63) {
    y.bits.push_back(0x3F80u);
    for (size_t j = i; j < i + 63; ++j) y.bits.push_back(j < lanes.size() ? lanes[j] : 0u);
  }
  expect_same(v_, y, "every bf16 y");
}

// Row ranges: only rows [begin, end) are written (the adapter splits rows over tiles/threads).
TEST_P(Q8Simd, WritesOnlyItsRows) {
  const int64_t rows = 9, n = 33;
  std::vector<uint16_t> x(static_cast<size_t>(rows * n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = bf16_from_float(static_cast<float>(i % 17) - 8.0f);
  std::vector<int8_t> codes(x.size(), 0x5A);
  std::vector<float> scale(static_cast<size_t>(rows), -7.0f);
  opt::Q8Rows a;
  a.x = x.data();
  a.x_dtype = DType::bf16;
  a.n = n;
  a.codes = codes.data();
  a.scale = scale.data();
  a.scale_dtype = DType::fp32;
  v_.rows(a, 3, 6);
  for (int64_t r = 0; r < rows; ++r) {
    const bool inside = r >= 3 && r < 6;
    EXPECT_EQ(scale[static_cast<size_t>(r)] == -7.0f, !inside) << "row " << r;
    if (inside) continue;
    for (int64_t j = 0; j < n; ++j) ASSERT_EQ(codes[static_cast<size_t>(r * n + j)], 0x5A) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, Q8Simd, ::testing::Values(Isa::avx512, Isa::avx2),
                         [](const ::testing::TestParamInfo<Isa>& i) { return std::string(isa_name(i.param)); });

}  // namespace
}  // namespace kcs
