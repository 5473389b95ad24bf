// One line per fused kernel with stages (conformance/stages/<id>.cc).
#include <map>

#include "conformance/runner/stages.h"

namespace kcs {

// Defined in conformance/stages/<id>.cc.
// (none yet)
std::vector<Stage> v4_indexer_stages(const Bundle& fused);

StagesFn find_stages(const std::string& kernel) {
  static const std::map<std::string, StagesFn> table = {
      {"v4_indexer", &v4_indexer_stages},
  };
  auto it = table.find(kernel);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace kcs
