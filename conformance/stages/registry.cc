// One line per fused kernel with stages (conformance/stages/<id>.cc).
#include <map>

#include "conformance/runner/stages.h"

namespace kcs {

// Defined in conformance/stages/<id>.cc.
std::vector<Stage> indexer_prolog_stages(const Bundle& fused);
std::vector<Stage> nvfp4_stage_stages(const Bundle& fused);
std::vector<Stage> compressor_stages(const Bundle& fused);

StagesFn find_stages(const std::string& kernel) {
  static const std::map<std::string, StagesFn> table = {
      {"indexer_prolog", &indexer_prolog_stages},
      {"nvfp4_stage", &nvfp4_stage_stages},
      {"compressor", &compressor_stages},
  };
  auto it = table.find(kernel);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace kcs
