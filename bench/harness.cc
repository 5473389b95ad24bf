// Shared bench scaffolding (see harness.h).
#include "bench/harness.h"

#include <algorithm>
#include <fstream>
#include <memory>

#include "conformance/runner/catalog.h"
#include "fixtures/generators/generators.h"
#include "kcs/backend.h"
#include "kcs/status.h"

namespace kcs::bench {

namespace {

using ojson = nlohmann::ordered_json;

std::string shapes_path() { return catalog_dir() + "/bench_shapes.json"; }

const ojson& shapes_file() {
  static const ojson j = [] {
    std::ifstream in(shapes_path());
    if (!in) throw Error("cannot read " + shapes_path());
    try {
      return ojson::parse(in);
    } catch (const std::exception& e) {
      throw Error(shapes_path() + ": " + e.what());
    }
  }();
  return j;
}

// Expands the array values of `e` (from key index `at` on) into their product.
void expand(const ojson& e, std::vector<std::string>& keys, size_t at, ojson cur, std::vector<Shape>& out) {
  if (at == keys.size()) {
    out.push_back(Shape{std::move(cur)});
    return;
  }
  const ojson& v = e.at(keys[at]);
  if (!v.is_array()) {
    cur[keys[at]] = v;
    expand(e, keys, at + 1, std::move(cur), out);
    return;
  }
  for (const ojson& x : v) {
    ojson next = cur;
    next[keys[at]] = x;
    expand(e, keys, at + 1, std::move(next), out);
  }
}

}  // namespace

int64_t Shape::i(const std::string& key) const {
  if (!j.contains(key) || !j.at(key).is_number_integer())
    throw Error("bench shape " + j.dump() + ": no integer '" + key + "' (" + shapes_path() + ")");
  return j.at(key).get<int64_t>();
}

std::string Shape::s(const std::string& key) const {
  if (!j.contains(key) || !j.at(key).is_string())
    throw Error("bench shape " + j.dump() + ": no string '" + key + "' (" + shapes_path() + ")");
  return j.at(key).get<std::string>();
}

Dims Shape::dims(const std::vector<std::string>& keys) const {
  Dims d;
  for (const auto& k : keys) d[k] = i(k);
  return d;
}

Attrs Shape::attrs() const {
  Attrs a;
  if (j.contains("attrs"))
    for (const auto& [k, v] : j.at("attrs").items()) a[k] = v.get<std::string>();
  return a;
}

std::string Shape::tail(const std::vector<std::string>& keys) const {
  std::string t;
  for (const auto& k : keys) t += (t.empty() ? "" : "/") + k + ":" + std::to_string(i(k));
  return t;
}

std::vector<Shape> shapes(const std::string& group) {
  const ojson& f = shapes_file();
  if (!f.contains(group) || !f.at(group).is_array()) throw Error(shapes_path() + ": no shape list '" + group + "'");
  std::vector<Shape> out;
  for (const ojson& e : f.at(group)) {
    if (!e.is_object()) throw Error(shapes_path() + ": an entry of '" + group + "' is not an object");
    std::vector<std::string> keys;
    for (const auto& [k, v] : e.items()) keys.push_back(k);
    expand(e, keys, 0, ojson::object(), out);
  }
  return out;
}

const std::vector<int>& thread_counts() {
  static const std::vector<int> t = [] {
    const ojson& f = shapes_file();
    if (!f.contains("threads") || !f.at("threads").is_array()) throw Error(shapes_path() + ": no \"threads\" list");
    return f.at("threads").get<std::vector<int>>();
  }();
  return t;
}

bool skip_unavailable(benchmark::State& st, Impl impl) {
  const std::string why = skip_reason(impl);
  if (!why.empty()) st.SkipWithError(why.c_str());
  return !why.empty();
}

uint64_t xorshift(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

void fill_bf16(uint16_t* x, int64_t count, uint64_t seed, uint32_t exp_lo, uint32_t span) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t r = static_cast<uint32_t>(xorshift(s) >> 32);
    const uint32_t exp = exp_lo + (r >> 8) % span;
    x[i] = static_cast<uint16_t>(((r & 1u) << 15) | (exp << 7) | ((r >> 1) & 0x7Fu));
  }
}

void fill_i8(int8_t* x, int64_t count, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < count; ++i) x[i] = static_cast<int8_t>(xorshift(s) >> 56);
}

int64_t copies_for(double pool_bytes, double per_call_bytes, int64_t at_least) {
  return std::max<int64_t>(at_least, static_cast<int64_t>(pool_bytes / std::max(1.0, per_call_bytes)));
}

std::string row_name(const std::string& family, const std::string& mode, Impl impl, const std::string& tail,
                     int threads) {
  return family + "/" + mode + ":" + impl_name(impl) + "/" + tail + "/threads:" + std::to_string(threads);
}

Problem make_problem(const std::string& kernel, Dims dims, Attrs attrs) {
  const KernelDecl& decl = kernel_or_throw(kernel);
  Problem p;
  p.kernel = kernel;
  p.dims = std::move(dims);
  p.attrs = std::move(attrs);
  p = complete_problem(decl, p);
  if (const Status s = validate_problem(decl, p); !s) throw Error(kernel + " bench problem: " + s.message);
  return p;
}

TensorMap make_tensors(const Problem& p, uint64_t seed) {
  const KernelDecl& decl = kernel_or_throw(p.kernel);
  TensorMap t;
  for (const auto& td : decl.tensors) t[td.name] = make_tensor(decl, p, td.name);
  CaseSpec cs;
  cs.id = "bench";
  cs.scenario = "random";
  cs.problem = p;
  cs.seed = seed;
  cs.params = nlohmann::json::object();
  Rng rng(seed);
  find_generator(p.kernel)(cs, t, rng);
  return t;
}

void bm_api(benchmark::State& st, Impl impl, const ApiBench& b, int threads) {
  if (skip_unavailable(st, impl)) return;
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw(b.problem.kernel);
  bool has_weights = false;
  for (const auto& td : decl.tensors) has_weights |= td.weight;
  std::vector<TensorMap> maps;
  // A kernel with weights runs as a library user serves it: weights prepared once per copy
  // (Backend::prepare), each call through its plan with the other tensors.
  std::vector<std::unique_ptr<Plan>> plans;
  try {
    TensorMap base;
    if (b.fill) {
      for (const auto& td : decl.tensors) base[td.name] = make_tensor(decl, b.problem, td.name);
      b.fill(base);
    } else {
      base = make_tensors(b.problem, 7);
    }
    double per = 0;
    for (const auto& name : b.streamed) per += static_cast<double>(base.at(name).nbytes());
    const int64_t copies = b.pool_bytes > 0 ? copies_for(b.pool_bytes, per) + 1 : 1;
    const size_t n = static_cast<size_t>(b.pool_bytes > 0 ? std::max<int64_t>(2, copies) : 1);
    for (size_t k = 0; k < n; ++k) {
      maps.push_back(base);  // deep copies
      if (!has_weights) continue;
      TensorMap weights;
      for (const auto& td : decl.tensors)
        if (td.weight) weights.insert(maps.back().extract(td.name));
      plans.emplace_back();
      if (Status s = backend->prepare({&decl, &b.problem, &weights, TileConfig{}, threads}, &plans.back()); !s)
        throw Error("prepare: " + s.message);
    }
  } catch (const std::exception& e) {
    st.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &b.problem;
  inv.tensors = &maps[0];
  inv.threads = threads;
  auto call = [&](size_t k) { return has_weights ? plans[k]->run(inv) : backend->run(inv); };
  if (Status first = call(0); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  Status last;
  const double secs = timed_loop(st, threads, static_cast<int64_t>(maps.size()), [&](int64_t k) {
    inv.tensors = &maps[static_cast<size_t>(k)];
    last = call(static_cast<size_t>(k));
  });
  if (b.counters)
    b.counters(st, threads, secs);
  else
    add_roofline_counters(st, b.work, threads, secs);
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
}

}  // namespace kcs::bench
