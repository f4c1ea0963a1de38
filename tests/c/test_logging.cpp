// Secrets never reach the log callback, an error message, status or any JSON the C ABI hands out
// (issue 15, SPEC §4): at level 5 (trace), clients configured with the API keys, Langfuse secret
// key and URL password of tests/scenarios/secrets.json go through a successful read, a 401, a
// refused connection and an LLM fallback; everything captured passes the file's one assertion.

#include <mutex>
#include <string>
#include <vector>

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

struct Captured {
  std::mutex m;
  std::string log;
  int debug_lines = 0;
};

extern "C" void capture_log(int32_t level, const char *target, const char *message, void *user) {
  auto *c = static_cast<Captured *>(user);
  std::lock_guard<std::mutex> lock(c->m);
  c->log += std::to_string(level) + " " + target + " " + message + "\n";
  if (level >= 4 && std::string(target).rfind("failsoft", 0) == 0) c->debug_lines++;
}

// secrets.json's assertion: no forbidden form anywhere, every useful line in the log.
void expect_no_secret_and_useful(const json &scenario, const std::string &log, const std::string &texts) {
  std::string everything = log + "\n" + texts;
  for (const json &f : scenario["forbidden"]) {
    EXPECT_EQ(everything.find(f["text"].get<std::string>()), std::string::npos)
        << "the " << f["form"] << " form of " << f["secret"] << " leaked:\n"
        << everything;
  }
  for (const json &line : scenario["useful_lines"]) {
    EXPECT_NE(log.find(line.get<std::string>()), std::string::npos) << "the log lacks " << line << ":\n" << log;
  }
}

std::string last_error() {
  const char *m = failsoft_last_error_message();
  return m ? m : "";
}

}  // namespace

TEST(Logging, TraceLogErrorsStatusAndResultsHoldNoSecret) {
  const json scenario = load_json("tests/scenarios/secrets.json");
  const json &s = scenario["secrets"];
  Captured captured;
  struct Reset {
    ~Reset() { failsoft_set_log_callback(nullptr, 0, nullptr); }
  } reset;  // never leave a callback pointing at this frame
  ASSERT_EQ(failsoft_set_log_callback(capture_log, 5, &captured), FAILSOFT_OK);
  Simulator sim;
  std::string with_password = sim.url();
  with_password.replace(0, 7, "http://" + scenario["url_user"].get<std::string>() + ":" +
                                  s["url_password"].get<std::string>() + "@");
  std::string texts;

  // A successful read, with a credential header and a password in the URL.
  Client kv = make_client({{"source",
                            {{"kind", "http"},
                             {"url", with_password + "/kv/{key}"},
                             {"headers", {{"Authorization", "Bearer " + s["api_key"].get<std::string>()}}}}}});
  Read ok = get(kv.get(), "greeting");
  ASSERT_EQ(ok.status, FAILSOFT_OK) << ok.error;
  EXPECT_FALSE(failsoft_value_is_fallback(ok.value.get()));
  texts += std::string(failsoft_value_json(ok.value.get())) + "\n";

  // A 401: the simulator knows other Langfuse keys, so ours are sent and refused.
  Client lf = make_client({{"source",
                            {{"kind", "langfuse"},
                             {"base_url", sim.url()},
                             {"public_key", scenario["langfuse_public_key"]},
                             {"secret_key", s["langfuse_secret_key"]}}}});
  failsoft_value *raw = nullptr;
  EXPECT_EQ(failsoft_get_prompt(lf.get(), scenario["prompt"].get<std::string>().c_str(), nullptr, 0, nullptr, &raw),
            FAILSOFT_UNAUTHORIZED);
  EXPECT_NE(last_error().find("401"), std::string::npos) << last_error();
  texts += last_error() + "\n";

  // A refused connection, served from the fallback.
  sim.fault("*", "refused");
  Read refused = get(kv.get(), "settings", "1");
  ASSERT_EQ(refused.status, FAILSOFT_OK) << refused.error;
  EXPECT_TRUE(failsoft_value_is_fallback(refused.value.get()));
  const char *why = failsoft_value_error_message(refused.value.get());
  texts += std::string(why ? why : "") + "\n";
  Read failed = get(kv.get(), "plain");
  EXPECT_NE(failed.status, FAILSOFT_OK);
  texts += failed.error + "\n";
  sim.heal("*");

  // An LLM fallback: the primary (keyed, password in its URL) answers 500, the fallback answers.
  const std::string primary = scenario["llm_primary"], fallback = scenario["llm_fallback"];
  sim.fault("/t/" + primary, "500");
  json llm_options = {{"targets",
                       {{{"base_url", with_password + "/t/" + primary + "/v1"}, {"api_key", s["api_key"]}},
                        {{"base_url", sim.url() + "/t/" + fallback + "/v1"}, {"api_key", s["fallback_api_key"]}}}}};
  failsoft_llm *llm = nullptr;
  ASSERT_EQ(failsoft_llm_new(llm_options.dump().c_str(), &llm), FAILSOFT_OK) << last_error();
  json request = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  failsoft_chat_result *result = nullptr;
  ASSERT_EQ(failsoft_llm_chat(llm, request.dump().c_str(), &result), FAILSOFT_OK) << last_error();
  EXPECT_TRUE(failsoft_chat_result_is_fallback(result));
  char *whole = nullptr;
  ASSERT_EQ(failsoft_chat_result_to_json(result, &whole), FAILSOFT_OK);
  texts += std::string(whole) + "\n" + failsoft_chat_result_attempts_json(result) + "\n" +
           failsoft_chat_result_served_by_base_url(result) + "\n";
  failsoft_string_free(whole);
  char *circuits = nullptr;
  ASSERT_EQ(failsoft_llm_circuit_states_json(llm, &circuits), FAILSOFT_OK);
  texts += std::string(circuits) + "\n";
  failsoft_string_free(circuits);
  failsoft_chat_result_free(result);
  failsoft_llm_free(llm);
  texts += status_of(kv.get()).dump() + "\n" + status_of(lf.get()).dump() + "\n";

  ASSERT_TRUE(poll_until(5000, [&] {
    std::lock_guard<std::mutex> lock(captured.m);
    for (const json &line : scenario["useful_lines"])
      if (captured.log.find(line.get<std::string>()) == std::string::npos) return false;
    return true;
  }));
  ASSERT_EQ(failsoft_set_log_callback(nullptr, 0, nullptr), FAILSOFT_OK);
  std::lock_guard<std::mutex> lock(captured.m);
  expect_no_secret_and_useful(scenario, captured.log, texts);
  // failsoft's own debug lines pass; the HTTP stack's (connections, wire dumps) do not.
  EXPECT_GT(captured.debug_lines, 0) << captured.log;
  EXPECT_EQ(captured.log.find("ureq"), std::string::npos) << captured.log;
}
