// Q8 quantizer conformance (spec §1.1): codes and scales bit-exact against the reference.
#include "conformance/suites/suite.h"

KCS_CONFORMANCE_SUITE(q8)
