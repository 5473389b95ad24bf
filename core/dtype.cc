#include "kcs/dtype.h"

namespace kcs {

namespace {
struct Info {
  DType t;
  const char* name;
  size_t size;
};
constexpr Info kInfo[] = {
    {DType::bf16, "bfloat16", 2},        {DType::fp16, "float16", 2},
    {DType::fp32, "float32", 4},         {DType::fp64, "float64", 8},
    {DType::i8, "int8", 1},              {DType::u8, "uint8", 1},
    {DType::i32, "int32", 4},            {DType::i64, "int64", 8},
    {DType::e2m1x2, "e2m1x2_lo_first", 1}, {DType::ue4m3x4, "ue4m3x4_le", 4},
};
const Info& info(DType t) { return kInfo[static_cast<size_t>(t)]; }
}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
const char* dtype_name(DType t) { return info(t).name; }

bool parse_dtype(std::string_view name, DType* out) {
  for (const Info& i : kInfo) {
    if (name == i.name) {
      *out = i.t;
      return true;
    }
  }
  return false;
}

bool dtype_is_float(DType t) {
  return t == DType::bf16 || t == DType::fp16 || t == DType::fp32 || t == DType::fp64;
}
bool dtype_is_int(DType t) {
  return t == DType::i8 || t == DType::u8 || t == DType::i32 || t == DType::i64;
}

}  // namespace kcs
