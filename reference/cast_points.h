// Named cast and rounding points of the reference (issue 19). Every storage cast and quantizer
// rounding of the reference goes through cast_round(site, declared) with a site name of the form
// "<kernel>.<what>", so that conformance/mutants can run the reference with ONE site's rounding
// changed (truncation, ties away, ties to even) and prove that the ci tier catches it. Outside a
// mutant run the setting is inactive and cast_round returns `declared` after one thread-local
// load. Discovery: with `record` set, every site reached is listed with its declared mode.
#pragma once

#include <map>
#include <string>

#include "kcs/formats.h"

namespace kcs::ref {

struct CastMutation {
  bool active = false;         // fast-path flag: false = every site rounds as declared
  std::string site;            // the mutated site, "<scope>/<site>" inside a CastScope
  Round round = Round::rint;   // the mode it uses instead of its declared one
  bool record = false;         // discovery: fill `seen`
  long hits = 0;               // how often the mutated site was reached
  const char* scope = nullptr; // set by CastScope: a fused kernel's stage around a shared primitive
  std::map<std::string, Round> seen;  // site -> declared mode (record only)
};

inline thread_local CastMutation g_cast_mutation;

// Names the stage of a fused kernel around a shared primitive (K1's key quantizer calls the same
// Q8 row function as its q quantizer): its sites read "<scope>/<site>".
class CastScope {
 public:
  explicit CastScope(const char* scope) : prev_(g_cast_mutation.scope) { g_cast_mutation.scope = scope; }
  ~CastScope() { g_cast_mutation.scope = prev_; }
  CastScope(const CastScope&) = delete;
  CastScope& operator=(const CastScope&) = delete;

 private:
  const char* prev_;
};

inline Round cast_round(const char* site, Round declared) {
  CastMutation& m = g_cast_mutation;
  if (!m.active) return declared;
  const std::string full = m.scope ? std::string(m.scope) + "/" + site : std::string(site);
  if (m.record) m.seen.emplace(full, declared);
  if (full == m.site) {
    ++m.hits;
    return m.round;
  }
  return declared;
}

// The format encoders with a site name; same results as the unnamed ones unless mutated.
inline uint16_t bf16_at(const char* site, double x, Round r = Round::rint) {
  return bf16_from_double(x, cast_round(site, r));
}
inline uint16_t bf16_at_f(const char* site, float x, Round r = Round::rint) {
  return bf16_from_float(x, cast_round(site, r));
}
inline uint16_t fp16_at(const char* site, double x, Round r = Round::rint) {
  return fp16_from_double(x, cast_round(site, r));
}
inline uint16_t fp16_at_f(const char* site, float x, Round r = Round::rint) {
  return fp16_from_float(x, cast_round(site, r));
}
inline float f32_at(const char* site, double x, Round r = Round::rint) {
  return f32_from_double(x, cast_round(site, r));
}
inline float round_int_at(const char* site, float x, Round r) { return round_to_int(x, cast_round(site, r)); }

}  // namespace kcs::ref
