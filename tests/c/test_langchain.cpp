// The shared LangChain vectors (tests/scenarios/langchain.json, format in
// tests/scenarios/README.md) through failsoft_prompt_langchain, on prompts served as fallbacks
// by a client whose Langfuse is unreachable.

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

// Port 9 refuses connections: every read serves its fallback at once.
Client dead_langfuse() {
  return make_client({{"source",
                       {{"kind", "langfuse"},
                        {"base_url", "http://127.0.0.1:9"},
                        {"public_key", "pk-lf-test"},
                        {"secret_key", "sk-lf-test"}}},
                      {"cold_deadline_seconds", 0.5}});
}

class LangchainVector : public ::testing::TestWithParam<json> {};

TEST_P(LangchainVector, ConvertsAFallbackPromptThroughTheCAbi) {
  const json &c = GetParam();
  Client client = dead_langfuse();
  failsoft_value *raw_value = nullptr;
  ASSERT_EQ(failsoft_get_prompt(client.get(), "lc", nullptr, 0, c["prompt"].dump().c_str(), &raw_value), FAILSOFT_OK)
      << failsoft_last_error_message();
  Value prompt(raw_value);
  ASSERT_STREQ(failsoft_value_source(prompt.get()), "fallback");

  // C takes one object: an entry named after a placeholder fills it, the rest are variables.
  json arguments = c["variables"];
  arguments.update(c["placeholders"]);
  char *raw = nullptr;
  failsoft_status st = failsoft_prompt_langchain(prompt.get(), arguments.dump().c_str(), &raw);
  String out(raw);
  if (c["error"].is_null()) {
    ASSERT_EQ(st, FAILSOFT_OK) << status_text(st);
    ASSERT_NE(raw, nullptr);
    EXPECT_EQ(json::parse(out.get()), c["expected"]);
  } else {
    expect_vector_error(st, raw, c["error"]);
  }
}

INSTANTIATE_TEST_SUITE_P(Langchain, LangchainVector,
                         ::testing::ValuesIn(vector_cases("tests/scenarios/langchain.json")), vector_case_name);

TEST(Langchain, NullVariablesMeanNone) {
  Client client = dead_langfuse();
  failsoft_value *raw_value = nullptr;
  ASSERT_EQ(failsoft_get_prompt(client.get(), "t", nullptr, 0, R"("{\"a\": {{ x }}}")", &raw_value), FAILSOFT_OK);
  Value prompt(raw_value);
  char *raw = nullptr;
  ASSERT_EQ(failsoft_prompt_langchain(prompt.get(), nullptr, &raw), FAILSOFT_OK);
  String out(raw);
  EXPECT_EQ(json::parse(out.get()), json("{{\"a\": {x}}}"));
}

}  // namespace
