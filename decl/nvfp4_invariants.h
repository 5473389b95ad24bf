// Invariants of NVFP4 outputs (spec §6.3) shared by the nvfp4_quant and nvfp4_stage declarations:
// x_sf holds UE4M3 scale bytes four per int32 word (little-endian), x_fp4 two E2M1 codes per byte.
#pragma once

#include <string>

#include "kcs/check.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "kcs/tensor.h"

namespace kcs {

// Bit 7 of every UE4M3 scale byte is 0 (spec §6.3 step 3). The exact contract alone would not see
// 0xFF where 0x7F is expected: both are the E4M3 NaN pattern, and NaN matches NaN. row_word names
// a row in messages ("row", "token").
CheckResult nvfp4_scale_bytes_unsigned(const Tensor& sf, const std::string& row_word);

// The codes are the staging coding of x against the implementation's OWN scale bytes (steps 4-7
// from its x_sf): when x_sf differs from the reference this tells a scale-only bug from codes that
// are wrong on their own. `rule` is the check's contract text.
CheckResult nvfp4_codes_match_own_scales(const Tensor& x, const Tensor& fp4, const Tensor& sf, E2m1Ties ties,
                                         const std::string& row_word, const std::string& rule);

}  // namespace kcs
