// Guarded calls: every tensor of a backend call lies in one arena, 64-byte aligned, with guard
// bytes (a position-dependent pattern, at least kGuardBytes) before, between and after them. After
// the call the trusted side checks that every input is byte-for-byte what it handed over and that
// no guard byte changed, naming the tensor and the byte offset. The arena is shared memory when
// the backend runs in a worker process (conformance/runner/isolate.h), plain memory otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kcs/check.h"
#include "kcs/decl.h"
#include "kcs/tensor.h"

namespace kcs {

constexpr size_t kGuardBytes = 4096;

struct ArenaSlot {
  std::string name;
  Role role = Role::in;
  DType dtype = DType::u8;
  Shape shape;
  size_t offset = 0, nbytes = 0;
};

struct ArenaLayout {
  std::vector<ArenaSlot> slots;  // in declaration order
  size_t size = 0;               // bytes, guards included
};

ArenaLayout layout_call(const KernelDecl& decl, const TensorMap& tensors);
// Guard pattern everywhere, then each tensor's bytes in its slot.
void fill_arena(uint8_t* base, const ArenaLayout& l, const TensorMap& tensors);
// Non-owning views of every slot, for an Invocation.
TensorMap arena_views(uint8_t* base, const ArenaLayout& l);
// Failed checks only: "input.<name>" (an input changed) and "guard.<name>" (a guard byte next to
// that tensor changed). `given` is what was copied in.
std::vector<CheckResult> check_arena(const uint8_t* base, const ArenaLayout& l, const TensorMap& given);
// Owning copies of the out and inout tensors after the call.
TensorMap arena_results(const uint8_t* base, const ArenaLayout& l);

// Whether a check is about what the backend did to memory or state that is not its output
// (inputs, guard bytes, writes after returning, the FP environment): evidence on its own, never
// re-run, never excused.
bool is_integrity_check(const std::string& name);

// A failed integrity check (guards, inputs, FP environment): margin inf.
CheckResult integrity_failure(const std::string& name, const std::string& contract, const std::string& message);

}  // namespace kcs
