// The shared template vectors (tests/scenarios/templates.json, format in
// tests/scenarios/README.md) run through failsoft_compile / failsoft_compile_chat.

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

class TemplateVector : public ::testing::TestWithParam<json> {};

TEST_P(TemplateVector, CompilesThroughTheCAbi) {
  const json &c = GetParam();
  const bool chat = c.contains("messages");
  const std::string vars = c["variables"].dump();
  const bool strict = c["strict"].get<bool>();

  if (c.contains("variables_used")) {
    char *raw = nullptr;
    failsoft_status st = chat ? failsoft_chat_variables(c["messages"].dump().c_str(), &raw)
                              : failsoft_template_variables(c["template"].get<std::string>().c_str(), &raw);
    String names(raw);
    ASSERT_EQ(st, FAILSOFT_OK) << status_text(st);
    EXPECT_EQ(json::parse(names.get()), c["variables_used"]);
  }

  char *raw = nullptr;
  failsoft_status st;
  if (chat) {
    std::string placeholders = c.contains("placeholders") ? c["placeholders"].dump() : std::string();
    st = failsoft_compile_chat(c["messages"].dump().c_str(), vars.c_str(),
                               c.contains("placeholders") ? placeholders.c_str() : nullptr, strict, &raw);
  } else {
    st = failsoft_compile(c["template"].get<std::string>().c_str(), vars.c_str(), strict, &raw);
  }
  String out(raw);
  if (c["error"].is_null()) {
    ASSERT_EQ(st, FAILSOFT_OK) << status_text(st);
    ASSERT_NE(raw, nullptr);
    if (chat)
      EXPECT_EQ(json::parse(out.get()), c["expected"]);
    else
      EXPECT_EQ(std::string(out.get()), c["expected"].get<std::string>());
  } else {
    expect_vector_error(st, raw, c["error"]);
  }
}

INSTANTIATE_TEST_SUITE_P(Templates, TemplateVector,
                         ::testing::ValuesIn(vector_cases("tests/scenarios/templates.json")), vector_case_name);

}  // namespace
