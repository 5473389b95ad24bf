// Owning, 64-byte aligned, dense row-major tensors.
//
// Element access is typed by the caller (data<uint16_t>() for BF16 patterns, ...): a tensor knows
// its logical dtype, and at<T>() checks that T has the storage size of that dtype.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kcs/dtype.h"
#include "kcs/status.h"

namespace kcs {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[4, 128]"
int64_t shape_numel(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled
  // A tensor over memory it does not own (a call's guarded arena); a copy of it owns its memory.
  static Tensor view(DType dtype, Shape shape, void* data);
  Tensor(const Tensor& o);
  Tensor& operator=(const Tensor& o);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return numel_ == 0; }
  // Rows = product of all but the last dimension; row_len = the last dimension.
  int64_t rows() const;
  int64_t row_len() const { return shape_.empty() ? 1 : shape_.back(); }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <class T>
  T* data() {
    check_elem_size(sizeof(T));
    return static_cast<T*>(raw());
  }
  template <class T>
  const T* data() const {
    check_elem_size(sizeof(T));
    return static_cast<const T*>(raw());
  }

  // Fill every byte with `byte` (poisoning outputs before a call, so unwritten elements show).
  void fill_bytes(uint8_t byte);
  bool same_bytes(const Tensor& o) const;  // dtype, shape and every byte equal

 private:
  struct Free {
    Free() noexcept : owned(true) {}
    explicit Free(bool own) noexcept : owned(own) {}
    bool owned;
    void operator()(void* p) const {
      if (owned) std::free(p);
    }
  };
  void check_elem_size(size_t s) const;

  DType dtype_ = DType::u8;
  Shape shape_;
  int64_t numel_ = 0;
  std::unique_ptr<uint8_t, Free> data_;
};

// Tensors of one kernel call, by the names of its declaration.
using TensorMap = std::map<std::string, Tensor>;

}  // namespace kcs
