// Logical element types of kcs tensors and their storage.
//
// BF16 and FP16 are stored as uint16 bit patterns (spec §11), E2M1 as packed nibble pairs and the
// NVFP4 block scales as four UE4M3 bytes in an int32, exactly as the kernels lay them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kcs {

enum class DType : uint8_t {
  bf16,
  fp16,
  fp32,
  fp64,
  i8,
  u8,
  i32,
  i64,
  e2m1x2,    // two E2M1 codes per byte, low nibble = even element
  ue4m3x4,   // four UE4M3 scale bytes per int32, little-endian
};

size_t dtype_size(DType t);
// The names used in fixture `dtype` attributes and on the command line ("bfloat16", "float32", ...).
const char* dtype_name(DType t);
bool parse_dtype(std::string_view name, DType* out);
bool dtype_is_float(DType t);  // bf16, fp16, fp32, fp64
bool dtype_is_int(DType t);    // i8, u8, i32, i64

}  // namespace kcs
