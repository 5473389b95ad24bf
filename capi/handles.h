// What the opaque handles of the host C API (include/kcs/kcs.h) hold, and the guard that turns
// every exception into a status and a per-thread message.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"
#include "kcs/kcs.h"

struct kcs_case {
  kcs::CaseSpec spec;
  kcs::Bundle bundle;
  std::vector<std::string> tiles;  // the catalog's tile sweep, first = default
  // Views handed out by kcs_case_tensor, in declaration order.
  std::vector<std::pair<const kcs::TensorDecl*, const kcs::Tensor*>> inputs, expected;
};

struct kcs_score {
  kcs::RunRecord run;
  std::string text;
};

struct kcs_results {
  std::string tier, command;
  std::vector<kcs::RunRecord> runs;
};

namespace kcs::capi {

// An unknown name: KCS_E_NOT_FOUND rather than KCS_E_DATA.
struct NotFound : Error {
  using Error::Error;
};
struct BadArgument : Error {
  using Error::Error;
};

void set_error(const std::string& msg);
char* dup_string(const std::string& s);  // malloc'd, for the char** outputs

template <class F>
kcs_status guard(F&& f) noexcept {
  try {
    f();
    return KCS_OK;
  } catch (const NotFound& e) {
    set_error(e.what());
    return KCS_E_NOT_FOUND;
  } catch (const BadArgument& e) {
    set_error(e.what());
    return KCS_E_ARGUMENT;
  } catch (const Error& e) {
    set_error(e.what());
    return KCS_E_DATA;
  } catch (const std::bad_alloc&) {
    set_error("out of memory");
    return KCS_E_INTERNAL;
  } catch (const std::exception& e) {
    set_error(e.what());
    return KCS_E_INTERNAL;
  } catch (...) {
    set_error("unknown exception");
    return KCS_E_INTERNAL;
  }
}

template <class T>
T& deref(T* p, const char* what) {
  if (!p) throw BadArgument(std::string(what) + " is NULL");
  return *p;
}

// The results file of a set of runs: the one place that writes them (the format `kcs run` uses).
void write_results_file(const std::string& path, const kcs_results& r);

// kcs's multi-line report of one run (kcs_score_text).
std::string run_text(const RunRecord& r);

}  // namespace kcs::capi
