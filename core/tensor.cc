#include "kcs/tensor.h"

#include <cstring>
#include <sstream>

namespace kcs {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension in shape " + shape_str(s));
    if (d != 0 && n > INT64_MAX / d) throw Error("shape " + shape_str(s) + " overflows int64");
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  size_t bytes = nbytes();
  if (numel_ > 0 && bytes / dtype_size(dtype_) != static_cast<size_t>(numel_))
    throw Error("tensor of shape " + shape_str(shape_) + " is too large");
  // Round up to the alignment and never allocate 0 bytes, so raw() is always a valid pointer.
  size_t alloc = (bytes + 63) / 64 * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw Error("out of memory allocating " + std::to_string(alloc) + " bytes for " + shape_str(shape_));
  std::memset(p, 0, alloc);
  data_.reset(static_cast<uint8_t*>(p));
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.data_ = std::unique_ptr<uint8_t, Free>(static_cast<uint8_t*>(data), Free{false});
  return t;
}

Tensor::Tensor(const Tensor& o) : Tensor(o.dtype_, o.shape_) {
  if (o.data_) std::memcpy(raw(), o.raw(), nbytes());
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) *this = Tensor(o);
  return *this;
}

int64_t Tensor::rows() const {
  if (shape_.empty()) return 1;
  int64_t last = shape_.back();
  return last == 0 ? 0 : numel_ / last;
}

void Tensor::fill_bytes(uint8_t byte) {
  if (data_) std::memset(raw(), byte, nbytes());
}

bool Tensor::same_bytes(const Tensor& o) const {
  if (dtype_ != o.dtype_ || shape_ != o.shape_) return false;
  if (nbytes() == 0) return true;
  return std::memcmp(raw(), o.raw(), nbytes()) == 0;
}

void Tensor::check_elem_size(size_t s) const {
  if (s != dtype_size(dtype_))
    throw Error(std::string("typed access of size ") + std::to_string(s) + " to a " + dtype_name(dtype_) +
                " tensor");
}

}  // namespace kcs
