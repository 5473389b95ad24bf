// Grow-only, 64-byte aligned scratch for the fused adapters' per-thread buffers, kept between
// calls (thread_local): fresh pages every call would be page-faulted in each time, which at
// decode sizes costs more than the kernel's work (K1's per-tile buffers, K3's 8 MiB packed wq_b).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "kcs/status.h"

namespace kcs::opt {

class ScratchBuffer {
 public:
  explicit ScratchBuffer(const char* owner) : owner_(owner) {}
  ~ScratchBuffer() { std::free(p_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  // n elements of T; the contents are not kept when the buffer grows.
  template <class T>
  T* get(int64_t n) {
    const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
    if (bytes > cap_) {
      std::free(p_);
      cap_ = 0;
      p_ = std::aligned_alloc(64, bytes);
      if (!p_) throw Error(std::string(owner_) + ": out of memory for " + std::to_string(bytes) + " bytes of scratch");
      cap_ = bytes;
    }
    return static_cast<T*>(p_);
  }

 private:
  const char* owner_;
  void* p_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace kcs::opt
