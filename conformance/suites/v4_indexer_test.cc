// K3 V4 decode indexer conformance (spec §5, §10.5): score under the L6 rule, NEG_FILL and -1
// regions exact, top-k as a set (topk_set), stage-isolated checks of every primitive stage.
#include "conformance/suites/suite.h"

KCS_CONFORMANCE_SUITE(v4_indexer)
KCS_STAGE_SUITE(v4_indexer)
