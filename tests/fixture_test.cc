// Fixture bundles (spec §11): round trips of every dtype, zero-size tensors, byte-identical
// output, and every way a file can be wrong (each error must name the file and the object).
//
// FixtureH5py.WritesPythonProbe also writes the files that tests/fixture_h5py_test.py checks
// with h5py + numpy (driven by tests/fixture_h5py_test.cmake through KCS_H5PY_OUT).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/fixture/bundle_detail.h"
#include "conformance/fixture/h5.h"
#include "kcs/formats.h"

// libhdf5 1.10 leaks metadata-cache entries on some error paths for corrupted files (see
// RandomByteChangesNeverCrash). Whatever it still tracks is freed at exit, so a leak reported
// inside it is its own; kcs's handles are checked instead by the open-object count in TearDown.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }

namespace {

namespace fs = std::filesystem;
using kcs::AttrDecl;
using kcs::Bundle;
using kcs::Contract;
using kcs::DType;
using kcs::Error;
using kcs::KernelDecl;
using kcs::Problem;
using kcs::Role;
using kcs::Shape;
using kcs::Tensor;
using kcs::TensorMap;
using testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

// Deterministic bytes (an LCG), so round trips compare real content, NaN patterns included.
void fill_pattern(Tensor& t, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) {
    s = s * 1664525u + 1013904223u;
    p[i] = static_cast<uint8_t>(s >> 24);
  }
}

const KernelDecl& q8() { return kcs::kernel_or_throw("q8"); }

Bundle q8_bundle(int64_t rows, int64_t n, const std::string& x_dtype = "bfloat16",
                 const std::string& scale_dtype = "float32") {
  Bundle b;
  b.case_id = "q8_test_" + std::to_string(rows) + "x" + std::to_string(n);
  b.tier = "smoke";
  b.generator = "kcs fixture_test";
  b.seed = 0xDEADBEEFCAFEull;
  Problem p;
  p.dims = {{"rows", rows}, {"n", n}};
  p.attrs = {{"x_dtype", x_dtype}, {"scale_dtype", scale_dtype}, {"round_mode", "rhaz"}};
  b.problem = kcs::complete_problem(q8(), p);
  uint32_t seed = 1;
  for (const auto& td : q8().tensors) {
    Tensor t = kcs::make_tensor(q8(), b.problem, td.name);
    fill_pattern(t, seed++);
    (td.role == Role::in ? b.inputs : b.outputs).emplace(td.name, std::move(t));
  }
  return b;
}

// Field by field rather than aggregate init, so the test does not depend on TensorDecl's layout.
kcs::TensorDecl tensor(const std::string& name, Role role, DType dtype, std::vector<std::string> shape) {
  kcs::TensorDecl t;
  t.name = name;
  t.role = role;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (role != Role::in) t.contract = Contract::Exact();
  return t;
}

AttrDecl attr(const std::string& name, AttrDecl::Kind kind, const std::string& def,
              std::vector<std::string> choices = {}) {
  AttrDecl a;
  a.name = name;
  a.kind = kind;
  a.default_value = def;
  a.choices = std::move(choices);
  return a;
}

// A kernel the registry does not hold: every dtype, an inout tensor, integer/real attributes.
const KernelDecl& probe_decl() {
  static const KernelDecl d = [] {
    KernelDecl k;
    k.id = "kcs_probe";
    k.title = "fixture schema probe (tests only)";
    k.dims.resize(2);
    k.dims[0].name = "rows";
    k.dims[1].name = "n";
    k.dims[1].min = 4;
    k.attrs = {attr("start_pos", AttrDecl::Kind::integer, "0"), attr("eps", AttrDecl::Kind::real, "1e-6"),
               attr("mode", AttrDecl::Kind::choice, "fast", {"fast", "slow"})};
    k.tensors = {
        tensor("a_bf16", Role::in, DType::bf16, {"rows", "n"}),
        tensor("b_fp16", Role::in, DType::fp16, {"rows", "n"}),
        tensor("c_fp32", Role::in, DType::fp32, {"rows", "n"}),
        tensor("d_fp64", Role::in, DType::fp64, {"rows", "n"}),
        tensor("e_i8", Role::in, DType::i8, {"rows", "n"}),
        tensor("f_u8", Role::in, DType::u8, {"rows", "n"}),
        tensor("g_i32", Role::in, DType::i32, {"rows", "n"}),
        tensor("h_i64", Role::in, DType::i64, {"rows", "n"}),
        tensor("i_e2m1", Role::in, DType::e2m1x2, {"rows", "n/2"}),
        tensor("j_sf", Role::in, DType::ue4m3x4, {"rows", "n/4"}),
        tensor("o_fp32", Role::out, DType::fp32, {"rows", "n"}),
        tensor("cache", Role::inout, DType::bf16, {"rows", "n"}),
    };
    return k;
  }();
  return d;
}

const KernelDecl* probe_lookup(const std::string& id) {
  return id == "kcs_probe" ? &probe_decl() : kcs::find_kernel(id);
}

Bundle probe_bundle(int64_t rows, int64_t n = 8) {
  const KernelDecl& d = probe_decl();
  Bundle b;
  b.case_id = "probe_" + std::to_string(rows);
  b.tier = "ci";
  b.generator = "kcs fixture_test";
  b.seed = 7;
  Problem p;
  p.dims = {{"rows", rows}, {"n", n}};
  p.attrs = {{"start_pos", "-42"}, {"eps", "1e-5"}, {"mode", "slow"}};
  b.problem = kcs::complete_problem(d, p);
  uint32_t seed = 100;
  for (const auto& td : d.tensors) {
    Tensor t = kcs::make_tensor(d, b.problem, td.name);
    fill_pattern(t, seed++);
    switch (td.role) {
      case Role::in:
        b.inputs.emplace(td.name, std::move(t));
        break;
      case Role::out:
        b.outputs.emplace(td.name, std::move(t));
        break;
      case Role::inout: {
        Tensor after = t;
        fill_pattern(after, seed++);
        std::vector<uint8_t> mask(static_cast<size_t>(t.rows()));
        for (size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<uint8_t>(i % 3 == 1);
        b.touched[td.name] = mask;
        b.inout_before.emplace(td.name, std::move(t));
        b.inout_after.emplace(td.name, std::move(after));
        break;
      }
    }
  }
  return b;
}

void expect_same(const TensorMap& a, const TensorMap& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [n, t] : a) {
    auto it = b.find(n);
    ASSERT_NE(it, b.end()) << what << " lacks " << n;
    EXPECT_EQ(kcs::dtype_name(t.dtype()), std::string(kcs::dtype_name(it->second.dtype()))) << what << "/" << n;
    EXPECT_EQ(t.shape(), it->second.shape()) << what << "/" << n;
    EXPECT_TRUE(t.same_bytes(it->second)) << what << "/" << n << " differs";
  }
}

void expect_same(const Bundle& a, const Bundle& b) {
  EXPECT_EQ(a.case_id, b.case_id);
  EXPECT_EQ(a.tier, b.tier);
  EXPECT_EQ(a.generator, b.generator);
  EXPECT_EQ(a.spec_version, b.spec_version);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.problem.kernel, b.problem.kernel);
  EXPECT_EQ(a.problem.dims, b.problem.dims);
  expect_same(a.inputs, b.inputs, "inputs");
  expect_same(a.outputs, b.outputs, "outputs");
  expect_same(a.inout_before, b.inout_before, "inout_before");
  expect_same(a.inout_after, b.inout_after, "inout_after");
  EXPECT_EQ(a.touched, b.touched);
  expect_same(a.prerounding, b.prerounding, "prerounding");
  expect_same(a.budget, b.budget, "budget");
  expect_same(a.intermediates, b.intermediates, "intermediates");
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------------------------
// Editing files behind the writer's back (to build the broken files the reader must refuse)
// ---------------------------------------------------------------------------------------------

kcs::h5::Object open_rw(const std::string& path) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) throw Error("test: cannot reopen " + path);
  return {kcs::h5::Handle(f, &H5Fclose), kcs::h5::Loc{f, path, "/"}};
}

kcs::h5::Object open_obj(const kcs::h5::Object& file, const std::string& object) {
  hid_t o = H5Oopen(file.handle.get(), object.c_str(), H5P_DEFAULT);
  if (o < 0) throw Error("test: cannot open " + object);
  return {kcs::h5::Handle(o, &H5Oclose), kcs::h5::Loc{o, file.loc.file, object}};
}

void delete_link(const std::string& path, const std::string& object) {
  auto f = open_rw(path);
  ASSERT_GE(H5Ldelete(f.handle.get(), object.c_str(), H5P_DEFAULT), 0) << object;
}

void delete_attr(const std::string& path, const std::string& object, const std::string& name) {
  auto f = open_rw(path);
  auto o = open_obj(f, object);
  ASSERT_GE(H5Adelete(o.handle.get(), name.c_str()), 0) << object << " " << name;
}

void set_str_attr(const std::string& path, const std::string& object, const std::string& name,
                  const std::string& value) {
  auto f = open_rw(path);
  auto o = open_obj(f, object);
  if (H5Aexists(o.handle.get(), name.c_str()) > 0) H5Adelete(o.handle.get(), name.c_str());
  kcs::h5::write_str_attr(o.loc, name, value);
}

void set_i64_attr(const std::string& path, const std::string& object, const std::string& name, int64_t value) {
  auto f = open_rw(path);
  auto o = open_obj(f, object);
  if (H5Aexists(o.handle.get(), name.c_str()) > 0) H5Adelete(o.handle.get(), name.c_str());
  kcs::h5::write_i64_attr(o.loc, name, value);
}

// Replaces group/name by `t` written with the regular encoding, then optionally overrides `dtype`.
void replace_dataset(const std::string& path, const std::string& group, const std::string& name, const Tensor& t,
                     const std::string& dtype_attr = "") {
  {
    auto f = open_rw(path);
    auto g = open_obj(f, group);
    if (H5Lexists(g.handle.get(), name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(g.handle.get(), name.c_str(), H5P_DEFAULT);
    kcs::h5::write_tensor(g.loc, name, t);
  }
  if (!dtype_attr.empty()) set_str_attr(path, group + "/" + name, "dtype", dtype_attr);
}

// A dataset whose storage type is `type` but whose dtype attribute says `dtype_attr`.
void replace_with_raw(const std::string& path, const std::string& group, const std::string& name, hid_t type,
                      std::vector<hsize_t> dims, const std::string& dtype_attr) {
  auto f = open_rw(path);
  auto g = open_obj(f, group);
  if (H5Lexists(g.handle.get(), name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(g.handle.get(), name.c_str(), H5P_DEFAULT);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(g.handle.get(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  // Written (zeros): the reader refuses a dataset that holds no data.
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  std::vector<uint8_t> zeros(std::max<size_t>(n * H5Tget_size(type), 1), 0);
  ASSERT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()), 0);
  kcs::h5::write_str_attr(kcs::h5::Loc{ds, path, group + "/" + name}, "dtype", dtype_attr);
  H5Dclose(ds);
  H5Sclose(space);
}

// ---------------------------------------------------------------------------------------------
// Fixture: a private directory per test
// ---------------------------------------------------------------------------------------------

class Fixture : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / ("kcs_fixture_" + std::string(info->test_suite_name()) + "_" + info->name() +
                                           "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    // Every handle the reader/writer opened is closed again, errors included.
    EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0) << "HDF5 files or objects left open";
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `b` and expects read_bundle to fail with a message naming the file and each of `needles`.
  template <class Edit>
  void expect_read_error(const std::string& name, const Bundle& b, Edit edit, const std::vector<std::string>& needles) {
    const std::string p = path(name);
    kcs::fixture::write_bundle(p, b, *probe_lookup(b.problem.kernel));
    edit(p);
    try {
      kcs::fixture::read_bundle(p, &probe_lookup);
      ADD_FAILURE() << "read_bundle accepted " << name;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_THAT(msg, HasSubstr(p)) << "the message must name the file";
      for (const auto& n : needles) EXPECT_THAT(msg, HasSubstr(n));
    }
  }

  fs::path dir_;
};

using FixtureRoundTrip = Fixture;
using FixtureErrors = Fixture;
using FixtureWrite = Fixture;
using FixtureOutputs = Fixture;
using FixtureH5py = Fixture;

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

TEST_F(FixtureRoundTrip, CompleteQ8Bundle) {
  for (const auto& [xd, sd] : {std::pair<const char*, const char*>{"bfloat16", "float32"}, {"float32", "float16"}}) {
    Bundle b = q8_bundle(5, 48, xd, sd);
    Tensor pre(DType::fp32, {5, 48});
    fill_pattern(pre, 9);
    b.prerounding.emplace("y", pre);
    Tensor pre64(DType::fp64, {5});
    fill_pattern(pre64, 10);
    b.prerounding.emplace("amax", pre64);
    Tensor budget(DType::fp64, {5, 48});
    fill_pattern(budget, 11);
    b.budget.emplace("y", budget);
    Tensor inter(DType::i32, {5, 48});
    fill_pattern(inter, 12);
    b.intermediates.emplace("y_int", inter);
    const std::string p = path(std::string("q8_") + xd + ".h5");
    kcs::write_bundle(p, b);
    EXPECT_FALSE(fs::exists(p + ".tmp"));
    const Bundle r = kcs::read_bundle(p);
    expect_same(b, r);
    EXPECT_EQ(r.problem.attrs, b.problem.attrs);
    EXPECT_EQ(r.spec_version, kcs::kSpecVersion);
  }
}

TEST_F(FixtureRoundTrip, EveryDtypeInoutAndScalarAttrs) {
  Bundle b = probe_bundle(6, 32);
  Tensor sf(DType::ue4m3x4, {6, 2});
  fill_pattern(sf, 3);
  b.intermediates.emplace("sf", sf);
  Tensor e2(DType::e2m1x2, {6, 16});
  fill_pattern(e2, 4);
  b.intermediates.emplace("e2", e2);
  Tensor h(DType::fp16, {6});
  fill_pattern(h, 5);
  b.prerounding.emplace("h", h);
  const std::string p = path("probe.h5");
  kcs::fixture::write_bundle(p, b, probe_decl());
  const Bundle r = kcs::fixture::read_bundle(p, &probe_lookup);
  expect_same(b, r);
  EXPECT_EQ(r.problem.attr("start_pos"), "-42");
  EXPECT_EQ(r.problem.attr("mode"), "slow");
  // Reals come back in their shortest round-trip spelling, as the same double.
  EXPECT_EQ(r.problem.attr("eps"), "1e-05");
  EXPECT_EQ(r.problem.attr_f64("eps"), b.problem.attr_f64("eps"));
}

TEST_F(FixtureRoundTrip, RealAttrsKeepEveryBit) {
  for (const char* v :
       {"0.1", "1e-300", "-3.4028234663852886e+38", "2.2250738585072014e-308", "123456789.125", "nan", "-inf"}) {
    Bundle b = probe_bundle(1);
    b.problem.attrs["eps"] = v;
    const std::string p = path("eps.h5");
    kcs::fixture::write_bundle(p, b, probe_decl());
    const Bundle r = kcs::fixture::read_bundle(p, &probe_lookup);
    EXPECT_EQ(kcs::f64_bits(r.problem.attr_f64("eps")), kcs::f64_bits(b.problem.attr_f64("eps"))) << v;
  }
}

TEST_F(FixtureRoundTrip, LowLevelEveryDtypeAndRank) {
  const DType all[] = {DType::bf16, DType::fp16, DType::fp32, DType::fp64,   DType::i8,
                       DType::u8,   DType::i32,  DType::i64,  DType::e2m1x2, DType::ue4m3x4};
  const Shape shapes[] = {{}, {0}, {7}, {3, 5}, {2, 0, 4}, {2, 3, 4}, {300, 97}};  // the last one is chunked
  const std::string p = path("lowlevel.h5");
  std::vector<std::pair<std::string, Tensor>> written;
  {
    std::lock_guard<std::mutex> g(kcs::h5::lock());
    auto f = kcs::h5::create_file(p);
    uint32_t seed = 1;
    for (DType t : all) {
      for (size_t s = 0; s < std::size(shapes); ++s) {
        Tensor x(t, shapes[s]);
        fill_pattern(x, seed++);
        const std::string name = std::string(kcs::dtype_name(t)) + "_" + std::to_string(s);
        kcs::h5::write_tensor(f.loc, name, x);
        written.emplace_back(name, std::move(x));
      }
    }
  }
  std::lock_guard<std::mutex> g(kcs::h5::lock());
  auto f = kcs::h5::open_file(p);
  for (const auto& [name, x] : written) {
    const DType want = x.dtype();
    const Tensor r = kcs::h5::read_tensor(f.loc, name, &want, &x.shape());
    EXPECT_TRUE(r.same_bytes(x)) << name;
    if (x.dtype() == DType::ue4m3x4) {
      // The byte view holds each scale word's bytes, least significant first.
      const Tensor v = kcs::h5::read_tensor(f.loc, name + "_bytes", nullptr, nullptr);
      ASSERT_EQ(v.dtype(), DType::u8) << name;
      ASSERT_EQ(v.numel(), 4 * x.numel()) << name;
      if (!x.shape().empty()) {
        EXPECT_EQ(v.shape().back(), 4 * x.shape().back()) << name;
      }
      for (int64_t i = 0; i < x.numel(); ++i)
        for (int k = 0; k < 4; ++k)
          ASSERT_EQ(v.data<uint8_t>()[4 * i + k],
                    static_cast<uint8_t>(static_cast<uint32_t>(x.data<int32_t>()[i]) >> (8 * k)))
              << name << " word " << i;
    }
  }
  // Big datasets are chunked + compressed, small ones contiguous.
  for (const char* name : {"float32_6", "float32_3"}) {
    hid_t ds = H5Dopen2(f.handle.get(), name, H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(ds);
    EXPECT_EQ(H5Pget_layout(dcpl), std::string(name) == "float32_6" ? H5D_CHUNKED : H5D_CONTIGUOUS) << name;
    H5Pclose(dcpl);
    H5Dclose(ds);
  }
}

// link_names lists in byte order whatever the storage: compact (up to 8 links) or dense (a
// name B-tree in hash order, which link_names sorts itself; fuzz/README.md says why).
TEST_F(FixtureRoundTrip, LinkNamesInByteOrderCompactAndDense) {
  const std::string p = path("links.h5");
  std::vector<std::string> dense = {"b", "a_bytes", "Z", "a", "_x", "aa", "B", "z9", "z10", "\xc3\xa9", "0", "~"};
  const std::vector<std::string> compact = {"w_bytes", "w", "W"};
  {
    std::lock_guard<std::mutex> g(kcs::h5::lock());
    auto f = kcs::h5::create_file(p);
    auto gd = kcs::h5::create_group(f.loc, "dense");
    auto gc = kcs::h5::create_group(f.loc, "compact");
    const Tensor x(DType::u8, {1});
    for (const auto& n : dense) kcs::h5::write_tensor(gd.loc, n, x);
    for (const auto& n : compact) kcs::h5::write_tensor(gc.loc, n, x);
  }
  std::lock_guard<std::mutex> g(kcs::h5::lock());
  auto f = kcs::h5::open_file(p);
  auto gd = kcs::h5::open_group(f.loc, "dense");
  auto gc = kcs::h5::open_group(f.loc, "compact");
  H5G_info_t info{};
  ASSERT_GE(H5Gget_info(gd.handle.get(), &info), 0);
  EXPECT_EQ(info.storage_type, H5G_STORAGE_TYPE_DENSE);
  ASSERT_GE(H5Gget_info(gc.handle.get(), &info), 0);
  EXPECT_EQ(info.storage_type, H5G_STORAGE_TYPE_COMPACT);
  std::sort(dense.begin(), dense.end());
  EXPECT_EQ(kcs::h5::link_names(gd.loc), dense);
  EXPECT_EQ(kcs::h5::link_names(gc.loc), (std::vector<std::string>{"W", "w", "w_bytes"}));
  EXPECT_EQ(dense.front(), "0");
  EXPECT_EQ(dense.back(), "\xc3\xa9");  // bytes compare unsigned, as HDF5's strcmp did
}

TEST_F(FixtureRoundTrip, ZeroRows) {
  const std::string p = path("q8_zero.h5");
  kcs::write_bundle(p, q8_bundle(0, 16));
  const Bundle r = kcs::read_bundle(p);
  EXPECT_EQ(r.inputs.at("x").shape(), (Shape{0, 16}));
  EXPECT_EQ(r.outputs.at("scale").shape(), (Shape{0, 1}));
  expect_same(q8_bundle(0, 16), r);

  const Bundle pb = probe_bundle(0);
  ASSERT_TRUE(pb.touched.at("cache").empty());
  const std::string pp = path("probe_zero.h5");
  kcs::fixture::write_bundle(pp, pb, probe_decl());
  expect_same(pb, kcs::fixture::read_bundle(pp, &probe_lookup));
}

TEST_F(FixtureRoundTrip, LargeBundleIsChunkedAndRoundTrips) {
  Bundle b = q8_bundle(257, 512);  // x is 257 KiB: chunked along rows
  // Smooth content compresses; the file must come out smaller than the raw bytes.
  uint16_t* x = b.inputs.at("x").data<uint16_t>();
  for (int64_t i = 0; i < 257 * 512; ++i) x[i] = kcs::bf16_from_float(static_cast<float>(i % 512) * 0.25f);
  const std::string p = path("q8_large.h5");
  kcs::write_bundle(p, b);
  expect_same(b, kcs::read_bundle(p));
  EXPECT_LT(fs::file_size(p), 257u * 512u * 2u);
}

TEST_F(FixtureRoundTrip, IdenticalContentGivesIdenticalBytes) {
  Bundle b = probe_bundle(40, 1024);  // includes chunked datasets
  b.intermediates.emplace("sf", Tensor(DType::ue4m3x4, {40, 3}));
  kcs::fixture::write_bundle(path("a.h5"), b, probe_decl());
  // Object times would differ across a second boundary; they must not be recorded at all.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  kcs::fixture::write_bundle(path("b.h5"), b, probe_decl());
  const std::string a = slurp(path("a.h5")), c = slurp(path("b.h5"));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == c) << "two writes of one bundle differ";
}

TEST_F(FixtureRoundTrip, ConcurrentReadersAndWriters) {
  const std::string p = path("shared.h5");
  kcs::write_bundle(p, q8_bundle(9, 32));
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        if (i % 2) {
          ok[i] += kcs::read_bundle(p).inputs.at("x").same_bytes(q8_bundle(9, 32).inputs.at("x"));
        } else {
          const std::string mine = path("w" + std::to_string(i) + ".h5");
          kcs::write_bundle(mine, q8_bundle(3, 16));
          ok[i] += kcs::read_bundle(mine).outputs.count("codes") == 1;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ok[i], 5) << "thread " << i;
}

// ---------------------------------------------------------------------------------------------
// Reader errors
// ---------------------------------------------------------------------------------------------

TEST_F(FixtureErrors, MissingFile) {
  const std::string p = path("nope.h5");
  try {
    kcs::read_bundle(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(p));
    EXPECT_THAT(std::string(e.what()), HasSubstr("cannot open"));
  }
}

TEST_F(FixtureErrors, NotAnHdf5File) {
  for (const std::string& content : {std::string(), std::string("not an hdf5 file\n"), std::string(4096, 'x')}) {
    const std::string p = path("text.h5");
    std::ofstream(p, std::ios::binary) << content;
    try {
      kcs::read_bundle(p);
      ADD_FAILURE() << "accepted " << content.size() << " bytes of text";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(p));
      EXPECT_THAT(std::string(e.what()), HasSubstr("not an HDF5 file"));
    }
  }
}

TEST_F(FixtureErrors, TruncatedCopiesAreRefused) {
  const std::string src = path("full.h5");
  Bundle b = probe_bundle(50, 256);  // a few chunked datasets too
  kcs::fixture::write_bundle(src, b, probe_decl());
  const std::string bytes = slurp(src);
  const size_t n = bytes.size();
  std::vector<size_t> cuts = {0,    1,    7,    8,     9,     64,       100,     511,  512,
                              1000, 2048, 4096, n / 3, n / 2, n - 4096, n - 100, n - 1};
  for (size_t k = 1; k < 16; ++k) cuts.push_back(n * k / 16 + k);
  for (size_t cut : cuts) {
    if (cut >= n) continue;
    const std::string p = path("cut.h5");
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut));
    try {
      kcs::fixture::read_bundle(p, &probe_lookup);
      ADD_FAILURE() << "accepted a copy truncated to " << cut << " of " << n << " bytes";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(p)) << cut;
    }
    try {
      kcs::read_outputs(p, q8(), q8_bundle(1, 16).problem);
      ADD_FAILURE() << "read_outputs accepted a copy truncated to " << cut;
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(p)) << cut;
    }
  }
}

// libhdf5 1.10 trusts the sizes in a global heap collection (where the str attributes live): a
// corrupted size crashed it and a zero one hung it. The reader checks collections first.
TEST_F(FixtureErrors, CorruptGlobalHeapIsRefused) {
  const std::string src = path("src.h5");
  kcs::write_bundle(src, q8_bundle(2, 16));
  const std::string bytes = slurp(src);
  const size_t gcol = bytes.find("GCOL");
  ASSERT_NE(gcol, std::string::npos);
  const size_t first_obj = gcol + 16;  // header: "GCOL", version, 3 reserved, 8-byte size
  struct Edit {
    size_t offset;
    uint64_t value;
    const char* needle;
  };
  for (const Edit& e : {Edit{first_obj + 8, 0x7FFFFFFFull, "holds an object of size"},  // string length
                        Edit{gcol + 8, 1ull << 40, "past the end of the file"},         // collection size
                        Edit{first_obj + 8, 4090, "running past its end"}}) {
    std::string bad = bytes;
    std::memcpy(&bad[e.offset], &e.value, 8);
    const std::string p = path("heap.h5");
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bad;
    try {
      kcs::read_bundle(p);
      ADD_FAILURE() << "accepted a corrupt heap (" << e.needle << ")";
    } catch (const Error& err) {
      EXPECT_THAT(std::string(err.what()), HasSubstr(p));
      EXPECT_THAT(std::string(err.what()), HasSubstr(e.needle));
    }
  }
  // A zero-size free-space record (the free space follows the last object).
  std::string bad = bytes;
  size_t p = first_obj;
  while (bad[p] != 0 || bad[p + 1] != 0) {
    uint64_t size = 0;
    std::memcpy(&size, &bad[p + 8], 8);
    p += 16 + (size + 7) / 8 * 8;
  }
  std::memset(&bad[p + 8], 0, 8);
  std::ofstream(path("heap0.h5"), std::ios::binary | std::ios::trunc) << bad;
  EXPECT_THROW(kcs::read_bundle(path("heap0.h5")), Error);
}

// Random byte changes anywhere in a bundle: read_bundle either succeeds or throws; it must
// never crash or hang (found crashes in libhdf5's global heap before the check above).
TEST_F(FixtureErrors, RandomByteChangesNeverCrash) {
  const std::string src = path("src.h5");
  Bundle b = q8_bundle(4, 16, "bfloat16", "float16");
  b.intermediates.emplace("sf", Tensor(DType::ue4m3x4, {4, 1}));
  kcs::write_bundle(src, b);
  const std::string bytes = slurp(src);
  uint32_t s = 12345;
  auto next = [&] { return s = s * 1664525u + 1013904223u; };
  int refused = 0;
  for (int it = 0; it < 400; ++it) {
    std::string bad = bytes;
    const int flips = 1 + static_cast<int>(next() >> 29);
    for (int k = 0; k < flips; ++k) bad[(next() >> 8) % bad.size()] = static_cast<char>(next() >> 24);
    const std::string p = path("fuzz.h5");
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bad;
    try {
      kcs::read_bundle(p);
    } catch (const Error& e) {
      ++refused;
      EXPECT_THAT(std::string(e.what()), HasSubstr(p));
    }
  }
  EXPECT_GT(refused, 100);  // most changes hit metadata or checks
}

TEST_F(FixtureErrors, MissingDataset) {
  expect_read_error("no_codes.h5", q8_bundle(2, 16), [](const std::string& p) { delete_link(p, "/outputs/codes"); },
                    {"/outputs/codes", "missing dataset"});
  expect_read_error("no_x.h5", q8_bundle(2, 16), [](const std::string& p) { delete_link(p, "/inputs/x"); },
                    {"/inputs/x", "missing dataset"});
  expect_read_error("no_outputs.h5", q8_bundle(2, 16), [](const std::string& p) { delete_link(p, "/outputs"); },
                    {"/outputs", "missing group"});
  expect_read_error("no_after.h5", probe_bundle(3), [](const std::string& p) { delete_link(p, "/inout/cache/after"); },
                    {"/inout/cache/after", "missing dataset"});
  expect_read_error("no_touched.h5", probe_bundle(3),
                    [](const std::string& p) { delete_link(p, "/inout/cache/touched"); },
                    {"/inout/cache/touched", "missing dataset"});
}

TEST_F(FixtureErrors, WrongDtypeAttr) {
  expect_read_error("x_fp16.h5", q8_bundle(2, 16),
                    [](const std::string& p) { set_str_attr(p, "/inputs/x", "dtype", "float16"); },
                    {"/inputs/x", "dtype attribute is 'float16', expected 'bfloat16'"});
  expect_read_error("x_bogus.h5", q8_bundle(2, 16),
                    [](const std::string& p) { set_str_attr(p, "/inputs/x", "dtype", "bfloat17"); },
                    {"/inputs/x", "unknown dtype attribute 'bfloat17'"});
  expect_read_error("x_nodtype.h5", q8_bundle(2, 16),
                    [](const std::string& p) { delete_attr(p, "/inputs/x", "dtype"); },
                    {"/inputs/x", "missing 'dtype' attribute"});
  expect_read_error("x_intdtype.h5", q8_bundle(2, 16),
                    [](const std::string& p) {
                      delete_attr(p, "/inputs/x", "dtype");
                      set_i64_attr(p, "/inputs/x", "dtype", 3);
                    },
                    {"/inputs/x", "attribute 'dtype' is int64, expected a string"});
  // The mode flag says the scale is float32, the file says float16: the declaration wins.
  expect_read_error("scale_mode.h5", q8_bundle(2, 16, "bfloat16", "float16"),
                    [](const std::string& p) { set_str_attr(p, "/", "scale_dtype", "float32"); },
                    {"/outputs/scale", "dtype attribute is 'float16', expected 'float32'"});
}

TEST_F(FixtureErrors, WrongStorageType) {
  expect_read_error("codes_i16.h5", q8_bundle(2, 16),
                    [](const std::string& p) {
                      replace_with_raw(p, "/outputs", "codes", H5T_STD_I16LE, {2, 16}, "int8");
                    },
                    {"/outputs/codes", "stored as int16, expected int8"});
  expect_read_error("x_f32.h5", q8_bundle(2, 16),
                    [](const std::string& p) {
                      replace_with_raw(p, "/inputs", "x", H5T_IEEE_F32LE, {2, 16}, "bfloat16");
                    },
                    {"/inputs/x", "stored as float32, expected uint16"});
  expect_read_error("x_i16.h5", q8_bundle(2, 16),
                    [](const std::string& p) {
                      replace_with_raw(p, "/inputs", "x", H5T_STD_I16LE, {2, 16}, "bfloat16");
                    },
                    {"/inputs/x", "stored as int16, expected uint16"});
  expect_read_error(
      "touched_i8.h5", probe_bundle(3),
      [](const std::string& p) { replace_with_raw(p, "/inout/cache", "touched", H5T_STD_I8LE, {3}, "uint8"); },
      {"/inout/cache/touched", "stored as int8, expected uint8"});
  // Big-endian storage of the right kind is fine: HDF5 converts it.
  const std::string p = path("be.h5");
  kcs::write_bundle(p, q8_bundle(2, 16));
  replace_with_raw(p, "/outputs", "codes", H5T_STD_I8BE, {2, 16}, "int8");
  replace_with_raw(p, "/outputs", "scale", H5T_IEEE_F32BE, {2, 1}, "float32");
  EXPECT_NO_THROW(kcs::read_bundle(p));
}

TEST_F(FixtureErrors, WrongShape) {
  expect_read_error("codes_shape.h5", q8_bundle(2, 16),
                    [](const std::string& p) {
                      replace_dataset(p, "/outputs", "codes", Tensor(DType::i8, {2, 17}));
                    },
                    {"/outputs/codes", "shape [2, 17], expected [2, 16]"});
  expect_read_error("scale_rank.h5", q8_bundle(2, 16),
                    [](const std::string& p) { replace_dataset(p, "/outputs", "scale", Tensor(DType::fp32, {2})); },
                    {"/outputs/scale", "shape [2], expected [2, 1]"});
  // A dims attribute that disagrees with every dataset.
  expect_read_error("rows_attr.h5", q8_bundle(2, 16), [](const std::string& p) { set_i64_attr(p, "/", "rows", 3); },
                    {"/inputs/x", "shape [2, 16], expected [3, 16]"});
}

TEST_F(FixtureErrors, UnknownKernel) {
  expect_read_error("kernel.h5", q8_bundle(2, 16), [](const std::string& p) { set_str_attr(p, "/", "kernel", "q9"); },
                    {"unknown kernel 'q9'"});
  // The public reader consults the registry, which does not hold the test kernel.
  const std::string p = path("probe_public.h5");
  kcs::fixture::write_bundle(p, probe_bundle(2), probe_decl());
  try {
    kcs::read_bundle(p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("unknown kernel 'kcs_probe'"));
    EXPECT_THAT(std::string(e.what()), HasSubstr(p));
  }
}

TEST_F(FixtureErrors, SpecVersion) {
  for (const char* v : {"1.1", "2.0", "1.10", "10.0", "abc", "", "1", "1.", ".1", "1.0beta", "1..0"}) {
    expect_read_error(std::string("v") + v + ".h5", q8_bundle(1, 16),
                      [&](const std::string& p) { set_str_attr(p, "/", "spec_version", v); }, {"spec_version"});
  }
  for (const char* v : {"1.0", "0.9", "1.0.3", "01.0"}) {
    const std::string p = path("ok.h5");
    kcs::write_bundle(p, q8_bundle(1, 16));
    set_str_attr(p, "/", "spec_version", v);
    EXPECT_EQ(kcs::read_bundle(p).spec_version, v);
  }
  expect_read_error("schema.h5", q8_bundle(1, 16),
                    [](const std::string& p) { set_i64_attr(p, "/", "schema_version", 2); }, {"schema_version"});
}

TEST_F(FixtureErrors, MissingOrMistypedAttr) {
  for (const char* a : {"kernel", "spec_version", "case", "tier", "generator", "rng_seed", "rows", "n", "round_mode",
                        "amax_floor", "x_dtype"}) {
    expect_read_error(std::string("no_") + a + ".h5", q8_bundle(1, 16),
                      [&](const std::string& p) { delete_attr(p, "/", a); },
                      {std::string("missing attribute '") + a + "'"});
  }
  expect_read_error("no_eps.h5", probe_bundle(1), [](const std::string& p) { delete_attr(p, "/inputs", "eps"); },
                    {"/inputs", "missing attribute 'eps'"});
  expect_read_error("str_rows.h5", q8_bundle(1, 16), [](const std::string& p) { set_str_attr(p, "/", "rows", "1"); },
                    {"attribute 'rows' is string, expected an integer"});
  expect_read_error("seed_neg.h5", q8_bundle(1, 16), [](const std::string& p) { set_i64_attr(p, "/", "rng_seed", -1); },
                    {"rng_seed", "negative"});
  expect_read_error("mode.h5", q8_bundle(1, 16), [](const std::string& p) { set_str_attr(p, "/", "round_mode", "up"); },
                    {"round_mode = 'up' is not one of rint|rhaz"});
  expect_read_error("tier.h5", q8_bundle(1, 16), [](const std::string& p) { set_str_attr(p, "/", "tier", "weekly"); },
                    {"tier", "weekly"});
  expect_read_error("start_pos.h5", probe_bundle(1),
                    [](const std::string& p) {
                      delete_attr(p, "/inputs", "start_pos");
                      set_str_attr(p, "/inputs", "start_pos", "3");
                    },
                    {"/inputs", "attribute 'start_pos' is string, expected an integer"});
}

TEST_F(FixtureErrors, BadTouchedMask) {
  expect_read_error("touched_2.h5", probe_bundle(4),
                    [](const std::string& p) {
                      Tensor m(DType::u8, {4});
                      m.data<uint8_t>()[2] = 2;
                      replace_dataset(p, "/inout/cache", "touched", m);
                    },
                    {"/inout/cache/touched", "value 2 at row 2"});
  expect_read_error("touched_len.h5", probe_bundle(4),
                    [](const std::string& p) { replace_dataset(p, "/inout/cache", "touched", Tensor(DType::u8, {5})); },
                    {"/inout/cache/touched", "shape [5], expected [4]"});
  expect_read_error("touched_2d.h5", probe_bundle(4),
                    [](const std::string& p) {
                      replace_dataset(p, "/inout/cache", "touched", Tensor(DType::u8, {4, 1}));
                    },
                    {"/inout/cache/touched", "shape [4, 1], expected [4]"});
}

TEST_F(FixtureErrors, UnexpectedDatasetsAndObjects) {
  expect_read_error("extra_out.h5", q8_bundle(1, 16),
                    [](const std::string& p) {
                      replace_dataset(p, "/outputs", "codez", Tensor(DType::i8, {1, 16}));
                    },
                    {"/outputs/codez", "unexpected dataset"});
  expect_read_error("in_as_out.h5", q8_bundle(1, 16),
                    [](const std::string& p) {
                      replace_dataset(p, "/outputs", "x", Tensor(DType::bf16, {1, 16}));
                    },
                    {"/outputs/x", "unexpected dataset"});
  expect_read_error("group_not_ds.h5", q8_bundle(1, 16),
                    [](const std::string& p) {
                      delete_link(p, "/inputs/x");
                      auto f = open_rw(p);
                      H5Gclose(H5Gcreate2(f.handle.get(), "/inputs/x", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
                    },
                    {"/inputs/x", "is not a dataset"});
  expect_read_error("budget_f32.h5", q8_bundle(1, 16),
                    [](const std::string& p) {
                      auto f = open_rw(p);
                      H5Gclose(H5Gcreate2(f.handle.get(), "/budget", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
                      f.handle.close();
                      replace_dataset(p, "/budget", "y", Tensor(DType::fp32, {1}));
                    },
                    {"/budget/y", "not allowed"});
  // Byte views and unknown top-level groups are ignored.
  const std::string p = path("extras.h5");
  kcs::write_bundle(p, q8_bundle(1, 16));
  replace_dataset(p, "/outputs", "codes_bytes", Tensor(DType::u8, {1, 64}));
  {
    auto f = open_rw(p);
    H5Gclose(H5Gcreate2(f.handle.get(), "/notes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  EXPECT_NO_THROW(kcs::read_bundle(p));
}

TEST_F(FixtureErrors, FixedLengthStringAttrsAreAccepted) {
  // h5py writes numpy bytes (np.bytes_) attributes as fixed-length strings.
  const std::string p = path("fixed.h5");
  kcs::write_bundle(p, q8_bundle(2, 16));
  {
    auto f = open_rw(p);
    H5Adelete(f.handle.get(), "kernel");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f.handle.get(), "kernel", t, s, H5P_DEFAULT, H5P_DEFAULT);
    const char buf[8] = {'q', '8', 0, 0, 0, 0, 0, 0};
    H5Awrite(a, t, buf);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
  }
  EXPECT_EQ(kcs::read_bundle(p).problem.kernel, "q8");
}

// ---------------------------------------------------------------------------------------------
// Writer validation: nothing written on error
// ---------------------------------------------------------------------------------------------

TEST_F(FixtureWrite, RefusesInvalidBundlesAndLeavesNoFile) {
  struct Case {
    const char* name;
    std::function<void(Bundle&)> edit;
    const char* needle;
  };
  const std::vector<Case> q8_cases = {
      {"unknown_kernel", [](Bundle& b) { b.problem.kernel = "q9"; }, "unknown kernel 'q9'"},
      {"missing_dim", [](Bundle& b) { b.problem.dims.erase("n"); }, "dimension 'n' is missing"},
      {"bad_mode", [](Bundle& b) { b.problem.attrs["round_mode"] = "up"; }, "round_mode"},
      {"missing_output", [](Bundle& b) { b.outputs.erase("scale"); }, "'scale'"},
      {"output_in_inputs", [](Bundle& b) { b.inputs.emplace("codes", b.outputs.at("codes")); }, "inputs holds 'codes'"},
      {"undeclared", [](Bundle& b) { b.outputs.emplace("zzz", Tensor(DType::u8, {1})); }, "does not declare"},
      {"wrong_dtype",
       [](Bundle& b) {
         b.inputs["x"] = Tensor(DType::fp32, {2, 16});
       },
       "dtype float32, expected bfloat16"},
      {"wrong_shape",
       [](Bundle& b) {
         b.outputs["codes"] = Tensor(DType::i8, {2, 15});
       },
       "expected [2, 16]"},
      {"tier", [](Bundle& b) { b.tier = "weekly"; }, "tier"},
      {"case", [](Bundle& b) { b.case_id.clear(); }, "case id"},
      {"spec", [](Bundle& b) { b.spec_version = "1.1"; }, "newer"},
      {"budget_f32", [](Bundle& b) { b.budget.emplace("y", Tensor(DType::fp32, {1})); }, "budget['y']"},
      {"pre_int", [](Bundle& b) { b.prerounding.emplace("y", Tensor(DType::i32, {1})); }, "prerounding['y']"},
      {"bad_name", [](Bundle& b) { b.intermediates.emplace("a/b", Tensor(DType::i32, {1})); }, "invalid name 'a/b'"},
      {"bytes_clash",
       [](Bundle& b) {
         b.intermediates.emplace("sf", Tensor(DType::ue4m3x4, {1}));
         b.intermediates.emplace("sf_bytes", Tensor(DType::u8, {4}));
       },
       "byte view"},
  };
  for (const auto& c : q8_cases) {
    Bundle b = q8_bundle(2, 16);
    c.edit(b);
    const std::string p = path(std::string(c.name) + ".h5");
    try {
      kcs::write_bundle(p, b);
      ADD_FAILURE() << c.name << " was written";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.needle)) << c.name;
      EXPECT_THAT(std::string(e.what()), HasSubstr(p)) << c.name;
    }
    EXPECT_FALSE(fs::exists(p)) << c.name;
    EXPECT_FALSE(fs::exists(p + ".tmp")) << c.name;
  }

  const std::vector<Case> probe_cases = {
      {"no_mask", [](Bundle& b) { b.touched.clear(); }, "touched mask of inout tensor 'cache' is missing"},
      {"mask_len", [](Bundle& b) { b.touched["cache"].push_back(0); }, "touched['cache'] has 5 entries, expected 4"},
      {"mask_val", [](Bundle& b) { b.touched["cache"][1] = 7; }, "touched['cache'][1] = 7"},
      {"no_after", [](Bundle& b) { b.inout_after.clear(); }, "missing from inout_after"},
      {"int_attr", [](Bundle& b) { b.problem.attrs["start_pos"] = "1.5"; }, "start_pos"},
  };
  for (const auto& c : probe_cases) {
    Bundle b = probe_bundle(4);
    c.edit(b);
    const std::string p = path(std::string(c.name) + ".h5");
    try {
      kcs::fixture::write_bundle(p, b, probe_decl());
      ADD_FAILURE() << c.name << " was written";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.needle)) << c.name;
    }
    EXPECT_FALSE(fs::exists(p)) << c.name;
    EXPECT_FALSE(fs::exists(p + ".tmp")) << c.name;
  }
}

TEST_F(FixtureWrite, FailedWriteKeepsExistingFile) {
  const std::string p = path("keep.h5");
  kcs::write_bundle(p, q8_bundle(2, 16));
  const std::string before = slurp(p);
  Bundle bad = q8_bundle(2, 16);
  bad.outputs.erase("codes");
  EXPECT_THROW(kcs::write_bundle(p, bad), Error);
  EXPECT_EQ(slurp(p), before);
  // A write that fails inside HDF5 (the temporary cannot be created) leaves no trace either.
  const std::string q = path("no_such_dir/x.h5");
  EXPECT_THROW(kcs::write_bundle(q, q8_bundle(2, 16)), Error);
  EXPECT_FALSE(fs::exists(q + ".tmp"));
  // Overwriting with a valid bundle replaces it.
  kcs::write_bundle(p, q8_bundle(3, 16));
  EXPECT_EQ(kcs::read_bundle(p).problem.dim("rows"), 3);
}

// ---------------------------------------------------------------------------------------------
// Outputs files
// ---------------------------------------------------------------------------------------------

TEST_F(FixtureOutputs, RoundTripAndErrors) {
  const Bundle b = q8_bundle(3, 32);
  const std::string p = path("out.h5");
  kcs::write_outputs(p, q8(), b.problem, b.case_id, b.outputs);
  expect_same(b.outputs, kcs::read_outputs(p, q8(), b.problem), "outputs");

  // inout tensors go to /outputs too (their state after the call).
  const Bundle pb = probe_bundle(5);
  TensorMap outs = pb.outputs;
  outs.emplace("cache", pb.inout_after.at("cache"));
  const std::string pp = path("probe_out.h5");
  kcs::write_outputs(pp, probe_decl(), pb.problem, pb.case_id, outs);
  expect_same(outs, kcs::read_outputs(pp, probe_decl(), pb.problem), "probe outputs");

  // Writer refusals.
  TensorMap missing = b.outputs;
  missing.erase("scale");
  EXPECT_THROW(kcs::write_outputs(path("w1.h5"), q8(), b.problem, b.case_id, missing), Error);
  TensorMap with_input = b.outputs;
  with_input.emplace("x", b.inputs.at("x"));
  EXPECT_THROW(kcs::write_outputs(path("w2.h5"), q8(), b.problem, b.case_id, with_input), Error);
  EXPECT_THROW(kcs::write_outputs(path("w3.h5"), probe_decl(), pb.problem, pb.case_id, pb.outputs), Error);
  EXPECT_FALSE(fs::exists(path("w1.h5")) || fs::exists(path("w2.h5")) || fs::exists(path("w3.h5")));

  auto expect_error = [&](const std::string& file, const KernelDecl& d, const Problem& prob,
                          const std::vector<std::string>& needles) {
    try {
      kcs::read_outputs(file, d, prob);
      ADD_FAILURE() << "read_outputs accepted " << file;
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(file));
      for (const auto& n : needles) EXPECT_THAT(std::string(e.what()), HasSubstr(n));
    }
  };
  // Outputs of another problem size, of another kernel, or broken.
  expect_error(p, q8(), q8_bundle(4, 32).problem, {"/outputs/codes", "expected [4, 32]"});
  expect_error(pp, q8(), b.problem, {"attribute 'kernel' is 'kcs_probe', expected 'q8'"});
  expect_error(path("absent.h5"), q8(), b.problem, {"cannot open"});
  expect_error(path("bundle.h5"), q8(), b.problem, {"cannot open"});
  kcs::write_bundle(path("bundle.h5"), b);  // a bundle has /outputs too: it reads as an outputs file
  EXPECT_NO_THROW(kcs::read_outputs(path("bundle.h5"), q8(), b.problem));
  set_str_attr(p, "/outputs/codes", "dtype", "uint8");
  expect_error(p, q8(), b.problem, {"/outputs/codes", "expected 'int8'"});
  delete_link(pp, "/outputs/cache");
  expect_error(pp, probe_decl(), pb.problem, {"/outputs/cache", "missing dataset"});
}

// ---------------------------------------------------------------------------------------------
// Files for the h5py check (tests/fixture_h5py_test.py); their content is fixed by construction
// and mirrored in that script. Written to $KCS_H5PY_OUT when set, else to a temporary directory.
// ---------------------------------------------------------------------------------------------

Bundle python_probe_q8() {
  Bundle b;
  b.case_id = "h5py_probe_q8";
  b.tier = "smoke";
  b.generator = "kcs fixture_test";
  b.seed = 1234;
  Problem p;
  p.dims = {{"rows", 3}, {"n", 8}};
  p.attrs = {{"x_dtype", "bfloat16"}, {"scale_dtype", "float16"}};
  b.problem = kcs::complete_problem(q8(), p);
  Tensor x = kcs::make_tensor(q8(), b.problem, "x"), codes = kcs::make_tensor(q8(), b.problem, "codes"),
         scale = kcs::make_tensor(q8(), b.problem, "scale");
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 8; ++j) {
      x.data<uint16_t>()[r * 8 + j] =
          kcs::bf16_from_float(static_cast<float>(j - 4) * 0.5f * static_cast<float>(r + 1));
      codes.data<int8_t>()[r * 8 + j] = static_cast<int8_t>(r * 8 + j - 12);
    }
    scale.data<uint16_t>()[r] = kcs::fp16_from_double(0.25 * (r + 1));
  }
  b.inputs.emplace("x", std::move(x));
  b.outputs.emplace("codes", std::move(codes));
  b.outputs.emplace("scale", std::move(scale));
  Tensor y(DType::fp32, {3, 8});
  for (int i = 0; i < 24; ++i) y.data<float>()[i] = static_cast<float>(i) + 0.5f;
  b.prerounding.emplace("y", std::move(y));
  Tensor a(DType::fp64, {3});
  for (int i = 0; i < 3; ++i) a.data<double>()[i] = i * 1.5;
  b.budget.emplace("amax", std::move(a));
  return b;
}

// Every dtype: element i (row-major) of each tensor is a simple function of i.
Bundle python_probe_all() {
  const KernelDecl& d = probe_decl();
  Bundle b;
  b.case_id = "h5py_probe_all";
  b.tier = "ci";
  b.generator = "kcs fixture_test";
  b.seed = (uint64_t{1} << 63) + 5;  // needs uint64
  Problem p;
  p.dims = {{"rows", 2}, {"n", 8}};
  p.attrs = {{"start_pos", "7"}, {"eps", "1e-5"}, {"mode", "slow"}};
  b.problem = kcs::complete_problem(d, p);
  TensorMap t;
  for (const auto& td : d.tensors) t.emplace(td.name, kcs::make_tensor(d, b.problem, td.name));
  for (int i = 0; i < 16; ++i) {
    t["a_bf16"].data<uint16_t>()[i] = kcs::bf16_from_float(static_cast<float>(i) - 3.5f);
    t["b_fp16"].data<uint16_t>()[i] = kcs::fp16_from_double(i * 0.125 - 1);
    t["c_fp32"].data<float>()[i] = static_cast<float>(i) / 8;
    t["d_fp64"].data<double>()[i] = i / 3.0;
    t["e_i8"].data<int8_t>()[i] = static_cast<int8_t>(i - 4);
    t["f_u8"].data<uint8_t>()[i] = static_cast<uint8_t>(200 + i);
    t["g_i32"].data<int32_t>()[i] = -100000 * i;
    t["h_i64"].data<int64_t>()[i] = (int64_t{1} << 40) + i;
    t["o_fp32"].data<float>()[i] = -static_cast<float>(i);
    t["cache"].data<uint16_t>()[i] = kcs::bf16_from_float(static_cast<float>(i));
  }
  for (int i = 0; i < 8; ++i)
    t["i_e2m1"].data<uint8_t>()[i] = kcs::pack_e2m1x2(static_cast<uint8_t>(i), static_cast<uint8_t>(i + 1));
  for (int i = 0; i < 4; ++i) {
    const uint32_t w = 0x04030201u + 0x01010101u * static_cast<uint32_t>(i);
    t["j_sf"].data<int32_t>()[i] = static_cast<int32_t>(w);
  }
  for (const auto& td : d.tensors) {
    if (td.role == Role::in) b.inputs.emplace(td.name, t.at(td.name));
    if (td.role == Role::out) b.outputs.emplace(td.name, t.at(td.name));
  }
  b.inout_before.emplace("cache", t.at("cache"));
  Tensor after = t.at("cache");
  for (int j = 0; j < 8; ++j) after.data<uint16_t>()[8 + j] = kcs::bf16_from_float(-1.0f);  // row 1 written
  b.inout_after.emplace("cache", std::move(after));
  b.touched["cache"] = {0, 1};
  return b;
}

TEST_F(FixtureH5py, WritesPythonProbe) {
  const char* env = std::getenv("KCS_H5PY_OUT");
  const std::string dir = env && *env ? env : dir_.string();
  fs::create_directories(dir);
  const Bundle q = python_probe_q8(), all = python_probe_all();
  kcs::write_bundle(dir + "/probe_q8.h5", q);
  kcs::fixture::write_bundle(dir + "/probe_all.h5", all, probe_decl());
  kcs::write_outputs(dir + "/probe_q8_outputs.h5", q8(), q.problem, q.case_id, q.outputs);
  expect_same(q, kcs::read_bundle(dir + "/probe_q8.h5"));
  expect_same(all, kcs::fixture::read_bundle(dir + "/probe_all.h5", &probe_lookup));
  expect_same(q.outputs, kcs::read_outputs(dir + "/probe_q8_outputs.h5", q8(), q.problem), "outputs");
}

// ---------------------------------------------------------------------------------------------
// Hostile files (issue 18): each was read, followed or crashed on before the reader refused it.
// ---------------------------------------------------------------------------------------------

class FixtureHostile : public Fixture {
 protected:
  // A q8 outputs file (3 x 32) and the problem it answers.
  std::string outputs_file(const std::string& name) {
    const std::string p = path(name);
    kcs::write_outputs(p, q8(), b_.problem, b_.case_id, b_.outputs);
    return p;
  }
  void expect_refused(const std::string& file, const std::vector<std::string>& needles) {
    try {
      kcs::read_outputs(file, q8(), b_.problem);
      ADD_FAILURE() << "read_outputs accepted " << file;
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(file));
      for (const auto& n : needles) EXPECT_THAT(std::string(e.what()), HasSubstr(n));
    }
  }
  // Deletes /outputs/<name> and lets `make` put something else there.
  void replace(const std::string& file, const std::string& name, const std::function<void(hid_t g)>& make) {
    auto f = open_rw(file);
    auto g = open_obj(f, "/outputs");
    ASSERT_GE(H5Ldelete(g.handle.get(), name.c_str(), H5P_DEFAULT), 0);
    make(g.handle.get());
  }
  // A uint8/int8 dataset `name` in `g` with `dcpl`, written unless `write` is false.
  static void dataset(hid_t g, const std::string& name, hid_t type, std::vector<hsize_t> dims, hid_t dcpl,
                      bool write = true) {
    hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t ds = H5Dcreate2(g, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(ds, 0) << name;
    hsize_t n = 1;
    for (hsize_t d : dims) n *= d;
    if (write) {
      std::vector<uint8_t> bytes(n * H5Tget_size(type), 1);
      ASSERT_GE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), 0);
    }
    kcs::h5::write_str_attr(kcs::h5::Loc{ds, "", name}, "dtype", H5Tget_size(type) == 1 ? "int8" : "float32");
    H5Dclose(ds);
    H5Sclose(space);
  }
  const Bundle b_ = q8_bundle(3, 32, "bfloat16", "float32");
};

TEST_F(FixtureHostile, ExternalLinkIsNotFollowed) {
  const std::string other = outputs_file("other.h5"), p = outputs_file("out.h5");
  replace(p, "codes", [&](hid_t g) { ASSERT_GE(H5Lcreate_external(other.c_str(), "/outputs/codes", g, "codes", H5P_DEFAULT, H5P_DEFAULT), 0); });
  expect_refused(p, {"/outputs/codes", "external link"});
}

TEST_F(FixtureHostile, SoftLinkWhereADatasetIsExpected) {
  const std::string p = outputs_file("out.h5");
  {
    auto f = open_rw(p);
    ASSERT_GE(H5Lcreate_hard(f.handle.get(), "/outputs/codes", f.handle.get(), "/elsewhere", H5P_DEFAULT, H5P_DEFAULT), 0);
  }
  replace(p, "codes", [](hid_t g) { ASSERT_GE(H5Lcreate_soft("/elsewhere", g, "codes", H5P_DEFAULT, H5P_DEFAULT), 0); });
  expect_refused(p, {"/outputs/codes", "soft link"});
}

TEST_F(FixtureHostile, ExternalStorageIsRefused) {
  const std::string p = outputs_file("out.h5"), raw = path("codes.bin");
  std::ofstream(raw, std::ios::binary) << std::string(3 * 32, '\x01');
  replace(p, "codes", [&](hid_t g) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_external(dcpl, raw.c_str(), 0, 3 * 32), 0);
    dataset(g, "codes", H5T_STD_I8LE, {3, 32}, dcpl);
    H5Pclose(dcpl);
  });
  expect_refused(p, {"/outputs/codes", "external storage"});
}

TEST_F(FixtureHostile, VirtualDatasetIsRefused) {
  const std::string other = outputs_file("other.h5"), p = outputs_file("out.h5");
  replace(p, "codes", [&](hid_t g) {
    hsize_t dims[2] = {3, 32};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_virtual(dcpl, space, other.c_str(), "/outputs/codes", space), 0);
    hid_t ds = H5Dcreate2(g, "codes", H5T_STD_I8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    kcs::h5::write_str_attr(kcs::h5::Loc{ds, "", "codes"}, "dtype", "int8");
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  });
  expect_refused(p, {"/outputs/codes", "virtual dataset"});
}

TEST_F(FixtureHostile, UnwrittenDatasetsAreNotReadAsFillValues) {
  const std::string p = outputs_file("out.h5"), q = outputs_file("out_chunked.h5");
  replace(p, "codes", [](hid_t g) { dataset(g, "codes", H5T_STD_I8LE, {3, 32}, H5P_DEFAULT, false); });
  expect_refused(p, {"/outputs/codes", "holds no data"});
  replace(q, "codes", [](hid_t g) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {1, 32};
    H5Pset_chunk(dcpl, 2, chunk);
    dataset(g, "codes", H5T_STD_I8LE, {3, 32}, dcpl, false);
    H5Pclose(dcpl);
  });
  expect_refused(q, {"/outputs/codes", "holds 0 of its 3 chunks"});
}

TEST_F(FixtureHostile, FiltersOtherThanDeflateShuffleFletcherAndHugeChunksAreRefused) {
  const std::string p = outputs_file("out.h5"), q = outputs_file("out2.h5"), ok = outputs_file("ok.h5");
  replace(p, "codes", [](hid_t g) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {3, 32};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_nbit(dcpl);
    dataset(g, "codes", H5T_STD_I8LE, {3, 32}, dcpl);
    H5Pclose(dcpl);
  });
  expect_refused(p, {"/outputs/codes", "filter 5"});
  replace(q, "codes", [](hid_t g) {
    // 16 MiB chunks for a 96-byte dataset (HDF5 allows chunks past the dims of extendible ones).
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {1 << 12, 1 << 12}, dims[2] = {3, 32}, maxdims[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t space = H5Screate_simple(2, dims, maxdims);
    hid_t ds = H5Dcreate2(g, "codes", H5T_STD_I8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    std::vector<int8_t> v(96, 1);
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    kcs::h5::write_str_attr(kcs::h5::Loc{ds, "", "codes"}, "dtype", "int8");
    H5Dclose(ds);
    H5Sclose(space);
    H5Pclose(dcpl);
  });
  expect_refused(q, {"/outputs/codes", "chunks larger than the dataset"});
  // What h5py writes with compression="gzip", shuffle=True, fletcher32=True is read.
  replace(ok, "codes", [](hid_t g) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {2, 32};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    H5Pset_fletcher32(dcpl);
    dataset(g, "codes", H5T_STD_I8LE, {3, 32}, dcpl);
    H5Pclose(dcpl);
  });
  EXPECT_NO_THROW(kcs::read_outputs(ok, q8(), b_.problem));
}

// Heap ids of variable-length strings rewritten in place: libhdf5 1.10 reads them unchecked
// (H5HG_read indexes its object table with the id and copies the object's size into a buffer of
// the string's length).
TEST_F(FixtureHostile, VariableLengthStringsWithForgedHeapIdsAreRefused) {
  struct Case {
    const char* name;
    uint32_t idx_add, len_add;
    const char* needle;
  };
  for (const Case& c : {Case{"idx", 100000, 0, "which it does not hold"}, Case{"len", 0, 4096, "points to a heap object of"}}) {
    SCOPED_TRACE(c.name);
    // Written as h5py writes by default: object headers of the HDF5 1.6 format, which carry no
    // checksum (kcs's own files do, so a change there is refused before any string is read).
    const std::string p = path(std::string("vlen_") + c.name + ".h5");
    {
      hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(f, 0);
      const kcs::h5::Loc root{f, p, "/"};
      kcs::h5::write_str_attr(root, "kernel", "q8");
      kcs::h5::write_str_attr(root, "case", b_.case_id);
      hid_t g = H5Gcreate2(f, "outputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      for (const auto& [name, t] : b_.outputs) kcs::h5::write_tensor(kcs::h5::Loc{g, p, "/outputs"}, name, t);
      H5Gclose(g);
      H5Fclose(f);
    }
    EXPECT_NO_THROW(kcs::read_outputs(p, q8(), b_.problem));
    std::string bytes = slurp(p);
    const size_t gcol = bytes.find("GCOL");
    ASSERT_NE(gcol, std::string::npos);
    std::string addr(8, '\0');
    for (int i = 0; i < 8; ++i) addr[i] = static_cast<char>((static_cast<uint64_t>(gcol) >> (8 * i)) & 0xff);
    int patched = 0;
    for (size_t at = bytes.find(addr, 4); at != std::string::npos; at = bytes.find(addr, at + 1)) {
      if (at + 12 > bytes.size() || at < 4) continue;
      uint32_t idx = 0, len = 0;
      std::memcpy(&idx, &bytes[at + 8], 4);
      std::memcpy(&len, &bytes[at - 4], 4);
      if (idx == 0 || idx > 64 || len == 0 || len > 64) continue;
      idx += c.idx_add;
      len += c.len_add;
      std::memcpy(&bytes[at + 8], &idx, 4);
      std::memcpy(&bytes[at - 4], &len, 4);
      ++patched;
    }
    ASSERT_GT(patched, 0);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    expect_refused(p, {"attribute", c.needle});
  }
}

// A small file declaring 2^30 elements: refused from the dims, before any dataset is touched
// (it once allocated 3 GB); with the limit raised, refused because the chunks are not there.
TEST_F(FixtureHostile, HugeDeclarationIsRefusedBeforeAllocating) {
  const std::string p = path("huge.h5");
  kcs::write_bundle(p, q8_bundle(1, 16));
  const int64_t rows = int64_t{1} << 26, n = 16;
  set_i64_attr(p, "/", "rows", rows);
  {
    auto f = open_rw(p);
    for (const char* g : {"/inputs", "/outputs"}) {
      auto grp = open_obj(f, g);
      for (const char* name : {"x", "codes", "scale"}) {
        if (H5Lexists(grp.handle.get(), name, H5P_DEFAULT) <= 0) continue;
        hid_t ds = H5Dopen2(grp.handle.get(), name, H5P_DEFAULT);
        hid_t type = H5Dget_type(ds);
        const std::string dt = kcs::h5::read_str_attr(kcs::h5::Loc{ds, p, name}, "dtype");
        H5Dclose(ds);
        H5Ldelete(grp.handle.get(), name, H5P_DEFAULT);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        const hsize_t cols = std::string(name) == "scale" ? 1 : n;
        hsize_t dims[2] = {static_cast<hsize_t>(rows), cols}, chunk[2] = {4096, cols};
        H5Pset_chunk(dcpl, 2, chunk);
        hid_t space = H5Screate_simple(2, dims, nullptr);
        ds = H5Dcreate2(grp.handle.get(), name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        kcs::h5::write_str_attr(kcs::h5::Loc{ds, p, name}, "dtype", dt);
        H5Dclose(ds);
        H5Sclose(space);
        H5Pclose(dcpl);
        H5Tclose(type);
      }
    }
  }
  EXPECT_LT(fs::file_size(p), 64u * 1024u);
  try {
    kcs::read_bundle(p);
    ADD_FAILURE() << "read_bundle accepted " << p;
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("above the reader's limit"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("KCS_FIXTURE_MAX_MB"));
  }
  ASSERT_EQ(setenv("KCS_FIXTURE_MAX_MB", "65536", 1), 0);
  try {
    kcs::read_bundle(p);
    ADD_FAILURE() << "read_bundle accepted " << p;
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("chunks (a chunk never written"));
  }
  ASSERT_EQ(setenv("KCS_FIXTURE_MAX_MB", "-1", 1), 0);
  EXPECT_THROW(kcs::read_bundle(p), Error);
  unsetenv("KCS_FIXTURE_MAX_MB");
}

// An 18 KB bundle with a 2 GiB /intermediates dataset: not read at all for scoring (`kcs check`),
// and refused (its chunks are not in the file) when every extra is asked for.
TEST_F(FixtureHostile, HugeUndeclaredDatasetIsNeverRead) {
  const std::string p = path("intermediates.h5");
  const Bundle b = q8_bundle(3, 32);
  kcs::write_bundle(p, b);
  {
    auto f = open_rw(p);
    hid_t g = H5Gcreate2(f.handle.get(), "intermediates", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t dims[1] = {hsize_t{1} << 29}, chunk[1] = {1 << 20};
    H5Pset_chunk(dcpl, 1, chunk);
    dataset(g, "big", H5T_IEEE_F32LE, {dims[0]}, dcpl, false);
    H5Pclose(dcpl);
    H5Gclose(g);
  }
  EXPECT_LT(fs::file_size(p), 64u * 1024u);
  const Bundle r = kcs::read_bundle(p, kcs::BundleExtras::scoring);
  EXPECT_TRUE(r.intermediates.empty());
  expect_same(b.outputs, r.outputs, "outputs");
  try {
    kcs::read_bundle(p);
    ADD_FAILURE() << "read_bundle with extras accepted " << p;
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("/intermediates/big"));
  }
}

}  // namespace
