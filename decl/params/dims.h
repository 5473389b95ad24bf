// The dimension lists of the kernels whose checks and parameters both read every dimension: one
// name list per kernel, read in one walk of the problem's map (DimReader), shared by decl/<k>.cc
// and decl/params/<k>.cc so that a check reads the dimensions once and never lists them again.
#pragma once

#include <cstdint>

#include "kcs/decl.h"
#include "kcs/kernels/compressor.h"
#include "kcs/kernels/mla_prolog.h"

namespace kcs {

enum MlaDim { kMlaT, kMlaH, kMlaQLora, kMlaN1, kMlaNope, kMlaRope, kMlaKvLora, kMlaNq, kMlaNkv, kMlaDqN, kMlaQs,
              kMlaBlockNum, kMlaBlockSize, kMlaDims };
void mla_prolog_read_dims(const Problem& p, int64_t (&v)[kMlaDims]);
MlaPrologDims mla_prolog_dims(const Problem& p, const int64_t (&v)[kMlaDims]);

enum CompressorDim { kCmpNBlocks, kCmpN, kCmpM, kCmpC, kCmpCI, kCmpNope, kCmpRope, kCmpG, kCmpMP, kCmpP, kCmpDims };
void compressor_read_dims(const Problem& p, int64_t (&v)[kCmpDims]);

}  // namespace kcs
