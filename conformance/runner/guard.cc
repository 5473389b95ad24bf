#include "conformance/runner/guard.h"

#include <cmath>
#include <cstring>

namespace kcs {

namespace {

constexpr size_t kAlign = 64;

size_t align_up(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// The guard byte at arena offset i: varies with the position, so that a stray memset or a copy
// of a neighbour's bytes is seen; shared by every arena of the process.
const uint8_t* guard_pattern(size_t n) {
  static std::vector<uint8_t> p;
  if (p.size() < n) {
    const size_t old = p.size();
    p.resize(std::max(n, old * 2));
    for (size_t i = old; i < p.size(); ++i) p[i] = static_cast<uint8_t>((i * 0x9Du + (i >> 8) * 0x3Bu) ^ 0xC6u);
  }
  return p.data();
}

const char* role_word(Role r) { return r == Role::in ? "input" : r == Role::out ? "output" : "in-out tensor"; }

}  // namespace

CheckResult integrity_failure(const std::string& name, const std::string& contract, const std::string& message) {
  CheckResult c;
  c.name = name;
  c.contract = contract;
  c.passed = false;
  c.margin = INFINITY;
  c.message = message;
  return c;
}

ArenaLayout layout_call(const KernelDecl& decl, const TensorMap& tensors) {
  ArenaLayout l;
  size_t at = kGuardBytes;
  for (const auto& td : decl.tensors) {
    const Tensor& t = tensors.at(td.name);
    ArenaSlot s;
    s.name = td.name;
    s.role = td.role;
    s.dtype = t.dtype();
    s.shape = t.shape();
    s.offset = at;
    s.nbytes = t.nbytes();
    l.slots.push_back(s);
    at = align_up(at + s.nbytes) + kGuardBytes;
  }
  l.size = align_up(at);
  return l;
}

void fill_arena(uint8_t* base, const ArenaLayout& l, const TensorMap& tensors) {
  const uint8_t* g = guard_pattern(l.size);
  size_t at = 0;
  for (const auto& s : l.slots) {
    std::memcpy(base + at, g + at, s.offset - at);
    if (s.nbytes) std::memcpy(base + s.offset, tensors.at(s.name).raw(), s.nbytes);
    at = s.offset + s.nbytes;
  }
  std::memcpy(base + at, g + at, l.size - at);
}

TensorMap arena_views(uint8_t* base, const ArenaLayout& l) {
  TensorMap t;
  for (const auto& s : l.slots) t.emplace(s.name, Tensor::view(s.dtype, s.shape, base + s.offset));
  return t;
}

std::vector<CheckResult> check_arena(const uint8_t* base, const ArenaLayout& l, const TensorMap& given) {
  std::vector<CheckResult> out;
  for (const auto& s : l.slots) {
    if (s.role != Role::in || !s.nbytes || std::memcmp(base + s.offset, given.at(s.name).raw(), s.nbytes) == 0)
      continue;
    const uint8_t* want = static_cast<const uint8_t*>(given.at(s.name).raw());
    size_t first = s.nbytes, n = 0;
    for (size_t i = 0; i < s.nbytes; ++i)
      if (base[s.offset + i] != want[i]) n++, first = std::min(first, i);
    out.push_back(integrity_failure("input." + s.name, "unchanged by the call",
                                    "the backend wrote to an input: input '" + s.name + "' was written: byte " +
                                        std::to_string(first) + " is the first of " + std::to_string(n) +
                                        " changed byte(s) of " + std::to_string(s.nbytes)));
  }
  // A changed run in the gap between two slots is blamed on the tensor whose edge it is nearest to
  // (a write past the end of one tensor starts at its end, wherever it stops).
  const uint8_t* g = guard_pattern(l.size);
  auto scan = [&](size_t lo, size_t hi, const ArenaSlot* before, const ArenaSlot* after) {
    size_t first = hi, last = lo, n = 0;
    for (size_t i = lo; i < hi; ++i)
      if (base[i] != g[i]) first = std::min(first, i), last = i, ++n;
    if (!n) return;
    const bool past = before && (!after || first - lo <= hi - 1 - last);
    const ArenaSlot& s = past ? *before : *after;
    const long long a = static_cast<long long>(first) - static_cast<long long>(s.offset);
    const long long b = static_cast<long long>(last) - static_cast<long long>(s.offset);
    const std::string what = std::to_string(n) + (n == 1 ? " byte" : " bytes") + " written " +
                             (past ? "past the end of " : "before the start of ") + role_word(s.role) + " '" +
                             s.name + "' (at byte offset " + std::to_string(a) +
                             (a == b ? "" : " to " + std::to_string(b)) + " of a " + std::to_string(s.nbytes) +
                             "-byte tensor)";
    out.push_back(integrity_failure("guard." + s.name, "no write outside the tensor", what));
  };
  size_t prev_end = 0;
  const ArenaSlot* prev = nullptr;
  for (const auto& s : l.slots) {
    scan(prev_end, s.offset, prev, &s);
    prev_end = s.offset + s.nbytes;
    prev = &s;
  }
  scan(prev_end, l.size, prev, nullptr);
  return out;
}

bool is_integrity_check(const std::string& n) {
  return n.rfind("input.", 0) == 0 || n.rfind("guard.", 0) == 0 || n.rfind("late_write.", 0) == 0 || n == "fp_env";
}

TensorMap arena_results(const uint8_t* base, const ArenaLayout& l) {
  TensorMap t;
  for (const auto& s : l.slots) {
    if (s.role == Role::in) continue;
    Tensor o(s.dtype, s.shape);
    if (s.nbytes) std::memcpy(o.raw(), base + s.offset, s.nbytes);
    t.emplace(s.name, std::move(o));
  }
  return t;
}

}  // namespace kcs
