// One line naming the likely cause of a failed comparison when its differing elements fit a
// pattern (issue 19 "failures that name their cause"): exact ties, every difference toward zero,
// only the last block along the first dimension, differences confined to the format's subnormal
// range. Called by compare_tensor on a failure; empty when no pattern fits.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "conformance/compare/compare.h"

namespace kcs {

std::string diagnose(const Tensor& expected, const Tensor& actual, const CompareContext* ctx,
                     const std::vector<uint8_t>* row_mask, const Metrics& m);

// Across cases: the failing cases of one backend differ from the passing ones in exactly one
// attribute value ("the differences follow one attribute: eps appears unused"). Each entry is
// (attributes of the case, failed). Empty when no attribute separates them.
std::string diagnose_attribute(const std::vector<std::pair<std::map<std::string, std::string>, bool>>& cases);

}  // namespace kcs
