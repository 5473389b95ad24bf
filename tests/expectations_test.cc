// Expectation lists (kcs run --expect): parsing refuses what it must, verdicts move as documented,
// and a plug-in that is not there still yields a backend that records why on every call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conformance/runner/expectations.h"
#include "kcs/plugin_backend.h"

namespace kcs {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

json entry(json e) { return {{"kcs_expectations", 1}, {"entries", json::array({e})}}; }

std::string parse_error(const json& j) {
  try {
    parse_expectations(j, "x.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Expectations, ParsesEntriesAndMatchesFirst) {
  json j = {{"kcs_expectations", 1},
            {"backend", "gpu"},
            {"entries",
             {{{"case", "q8.ties.*"}, {"expect", "unsupported"}, {"reason", "no ties"}},
              {{"case", "q8.*"}, {"expect", "xfail"}, {"reason", "bug"}, {"link", "https://t/1"}},
              {{"case", "rope.*"}, {"backend", "*"}, {"expect", "xfail"}, {"reason", "any backend"}}}}};
  Expectations x = parse_expectations(j, "x.json");
  ASSERT_EQ(x.entries.size(), 3u);
  EXPECT_EQ(x.find("q8.ties.rows=2", "gpu")->expect, Verdict::unsupported);
  EXPECT_EQ(x.find("q8.random.rows=4", "gpu")->link, "https://t/1");
  EXPECT_EQ(x.find("q8.random.rows=4", "reference"), nullptr);  // the file's backend applies
  EXPECT_NE(x.find("rope.x", "reference"), nullptr);
  EXPECT_EQ(x.find("hadamard.x", "gpu"), nullptr);
}

TEST(Expectations, RefusesEntriesWithoutReasonAndTypos) {
  EXPECT_THAT(parse_error(entry({{"case", "q8.*"}, {"expect", "xfail"}})), HasSubstr("entry 0 (q8.*) has no 'reason'"));
  EXPECT_THAT(parse_error(entry({{"case", "q8.*"}, {"expect", "xfail"}, {"reason", "  "}})), HasSubstr("no 'reason'"));
  EXPECT_THAT(parse_error(entry({{"case", "q8.*"}, {"expect", "skip"}, {"reason", "r"}})),
              HasSubstr("'expect' must be \"xfail\" or \"unsupported\""));
  EXPECT_THAT(parse_error(entry({{"case", "q8.*"}, {"expect", "xfail"}, {"reason", "r"}, {"reson", "r"}})),
              HasSubstr("unknown key 'reson'"));
  EXPECT_THAT(parse_error(entry({{"expect", "xfail"}, {"reason", "r"}})), HasSubstr("has no 'case' pattern"));
  EXPECT_THAT(parse_error(json{{"entries", json::array()}}), HasSubstr("kcs_expectations"));
}

TEST(Expectations, XfailIsStrict) {
  Expectation e;
  e.case_pattern = "q8.*";
  e.reason = "bug";
  e.link = "https://t/1";
  RunRecord failed;
  failed.verdict = Verdict::failed;
  failed.reason = "codes: mismatch";
  apply_xfail(e, "x.json", failed);
  EXPECT_EQ(failed.verdict, Verdict::xfail);
  EXPECT_THAT(failed.reason, HasSubstr("expected failure: bug (https://t/1); observed: codes: mismatch"));
  RunRecord error;
  error.verdict = Verdict::error;
  apply_xfail(e, "x.json", error);
  EXPECT_EQ(error.verdict, Verdict::xfail);
  RunRecord passed;
  passed.verdict = Verdict::passed;
  apply_xfail(e, "x.json", passed);
  EXPECT_EQ(passed.verdict, Verdict::failed);
  EXPECT_THAT(passed.reason, HasSubstr("unexpected pass"));
  RunRecord skipped;
  skipped.verdict = Verdict::skipped;
  apply_xfail(e, "x.json", skipped);
  EXPECT_EQ(skipped.verdict, Verdict::skipped);
  EXPECT_STREQ(verdict_name(Verdict::xfail), "xfail");
  EXPECT_STREQ(verdict_name(Verdict::unsupported), "unsupported");
}

TEST(PluginBackend, MissingLibraryFailsEveryCallWithTheReason) {
  auto b = PluginBackend::load("/nonexistent/libnothing.so");
  EXPECT_EQ(b->name(), "nothing");
  EXPECT_THAT(b->load_error(), HasSubstr("dlopen failed"));
  EXPECT_TRUE(b->supports("q8"));  // so that each case records the error
  EXPECT_TRUE(b->availability().runnable);
  EXPECT_NE(as_plugin(*b), nullptr);
  EXPECT_EQ(as_plugin(*make_builtin_backend("reference")), nullptr);
}

}  // namespace
}  // namespace kcs
