// The shared scenarios (tests/scenarios/cache.json, llm.json, config.json; format in
// tests/scenarios/README.md) run through the C ABI, each against a new failsoft-sim.

#include <vector>

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

const json &cache_file() {
  static const json file = load_json("tests/scenarios/cache.json");
  return file;
}

// "" when `value` meets `expect` (source, is_fallback, version, value, error), else what differs.
std::string mismatch(const failsoft_value *value, const json &expect) {
  std::ostringstream why;
  if (expect.contains("source") && expect["source"] != failsoft_value_source(value))
    why << "source " << failsoft_value_source(value) << " != " << expect["source"] << "; ";
  if (expect.contains("is_fallback") && expect["is_fallback"].get<bool>() != failsoft_value_is_fallback(value))
    why << "is_fallback " << failsoft_value_is_fallback(value) << "; ";
  if (expect.contains("version")) {
    int64_t version = 0;
    bool has = failsoft_value_version(value, &version);
    json got = has ? json(version) : json();
    if (got != expect["version"]) why << "version " << got << " != " << expect["version"] << "; ";
    if (!has && version != FAILSOFT_NO_VERSION) why << "no version but out_version " << version << "; ";
  }
  if (expect.contains("value") && data_of(value) != expect["value"])
    why << "value " << failsoft_value_json(value) << " != " << expect["value"] << "; ";
  if (expect.contains("error")) {
    failsoft_status code = failsoft_value_error_code(value);
    if (code != status_of_kind(expect["error"].get<std::string>()))
      why << "error " << failsoft_status_name(code) << " != " << expect["error"] << " ("
          << (failsoft_value_error_message(value) ? failsoft_value_error_message(value) : "no message")
          << "); ";
    else if (failsoft_value_error_message(value) == nullptr)
      why << "error code without a message; ";
  }
  return why.str();
}

// "" when the client's status meets `until`'s status_state / status_error.
std::string status_mismatch(failsoft_client *client, const json &until) {
  json st = status_of(client);
  std::ostringstream why;
  if (until.contains("status_state") && st["state"] != until["status_state"])
    why << "state " << st["state"] << " != " << until["status_state"] << "; ";
  if (until.contains("status_error")) {
    json kind = st["last_error"].is_object() ? st["last_error"]["kind"] : json();
    if (kind != until["status_error"]) why << "last_error " << kind << " != " << until["status_error"] << "; ";
  }
  return why.str();
}

std::string fallback_text(const json &step) {
  return step.contains("fallback") ? step["fallback"].dump() : std::string();
}

class CacheScenario : public ::testing::TestWithParam<json> {};

TEST_P(CacheScenario, RunsThroughTheCAbi) {
  const json &scenario = GetParam();
  Simulator sim(cache_file()["fixture"]);
  Client client = make_client(http_options(sim, scenario["client"]));
  int index = 0;
  for (const json &step : scenario["steps"]) {
    SCOPED_TRACE("step " + std::to_string(index++) + ": " + step.dump());
    const std::string op = step["op"];
    const std::string fallback = fallback_text(step);
    const char *fb = step.contains("fallback") ? fallback.c_str() : nullptr;
    if (op == "get") {
      int repeat = step.value("repeat", 1);
      for (int i = 0; i < repeat; i++) {
        long long start = now_ms();
        Read r = get(client.get(), step["key"], fb);
        long long took = now_ms() - start;
        if (step.contains("max_ms")) {
          EXPECT_LE(took, step["max_ms"].get<long long>()) << "read " << i;
        }
        if (step.contains("min_ms")) {
          EXPECT_GE(took, step["min_ms"].get<long long>()) << "read " << i;
        }
        if (step.contains("expect_error")) {
          ASSERT_EQ(status_text(r.status), status_text(status_of_kind(step["expect_error"])))
              << "read " << i;
          EXPECT_EQ(r.value, nullptr);
          EXPECT_NE(r.error.find(step["key"].get<std::string>()), std::string::npos)
              << "the error names the key: " << r.error;
        } else {
          ASSERT_EQ(r.status, FAILSOFT_OK) << "read " << i << ": " << r.error;
          if (step.contains("expect")) {
            ASSERT_EQ(mismatch(r.value.get(), step["expect"]), "") << "read " << i;
          }
        }
      }
    } else if (op == "poll") {
      const json &until = step["until"];
      std::string last;
      bool ok = poll_until(step["timeout_ms"], [&] {
        if (step.contains("key")) {
          Read r = get(client.get(), step["key"], fb);
          if (r.status != FAILSOFT_OK) {
            last = "read failed: " + r.error;
            return false;
          }
          last = mismatch(r.value.get(), until);
          if (!last.empty()) return false;
        }
        last = status_mismatch(client.get(), until);
        return last.empty();
      });
      ASSERT_TRUE(ok) << "never held: " << last;
    } else if (op == "fault") {
      sim.fault(step["route"], step["mode"].is_string() ? step["mode"].get<std::string>() : step["mode"].dump(),
                step.value("delay_ms", 0));
    } else if (op == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(step["ms"].get<int>()));
    } else if (op == "set_kv") {
      sim.set_kv(step["key"], step["value"], step.value("version", json()));
    } else if (op == "delete_kv") {
      sim.delete_kv(step["key"]);
    } else if (op == "count") {
      EXPECT_EQ(sim.count(step["path"]), step["expect"].get<long>());
    } else if (op == "status") {
      EXPECT_EQ(status_of(client.get())["state"], step["expect"]["state"]);
    } else if (op == "prefetch") {
      std::vector<std::string> keys = step["keys"];
      std::vector<const char *> ptrs;
      for (auto &k : keys) ptrs.push_back(k.c_str());
      char *raw = nullptr;
      failsoft_status st = failsoft_prefetch(client.get(), ptrs.data(), ptrs.size(), 0.0, &raw);
      String report_text(raw);
      ASSERT_NE(raw, nullptr) << "a report is written whenever the arguments are valid";
      json report = json::parse(report_text.get());
      if (!step.contains("expect_error")) {
        ASSERT_EQ(st, FAILSOFT_OK) << status_text(st);
        EXPECT_EQ(report["ok"], true);
        EXPECT_EQ(report["succeeded"].size(), keys.size());
      } else {
        std::string message = failsoft_last_error_message() ? failsoft_last_error_message() : "";
        ASSERT_NE(st, FAILSOFT_OK);
        EXPECT_EQ(report["ok"], false);
        bool kind_found = false;
        for (auto &f : report["failed"]) kind_found |= f["kind"] == step["expect_error"];
        EXPECT_TRUE(kind_found) << report.dump();
        EXPECT_EQ(st, status_of_kind(report["failed"][0]["kind"])) << "the status is the first failure's";
        if (step.contains("error_mentions")) {
          EXPECT_NE(message.find(step["error_mentions"].get<std::string>()), std::string::npos) << message;
        }
      }
    } else {
      FAIL() << "unknown op " << op;
    }
    if (HasFatalFailure()) return;
  }
}

std::vector<json> scenarios() {
  std::vector<json> out;
  for (const json &s : cache_file()["scenarios"]) out.push_back(s);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cache, CacheScenario, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<json> &info) {
                           return test_name(info.param["name"].get<std::string>());
                         });

}  // namespace

// ---------------------------------------------------------------------------------------------
// tests/scenarios/llm.json: LLM fallback under provider faults (SPEC §8), through the C ABI.

namespace {

const json &llm_file() {
  static const json file = load_json("tests/scenarios/llm.json");
  return file;
}

struct LlmRun {
  std::string text;
  int restarts_seen = 0;
};

bool llm_on_chunk(const char *chunk_json, void *user_data) {
  auto *run = static_cast<LlmRun *>(user_data);
  json chunk = json::parse(chunk_json);
  if (chunk.value("object", "") == "failsoft.stream.restart") {
    run->restarts_seen++;
    run->text.clear();  // the text so far belongs to an abandoned answer
    return true;
  }
  if (chunk.contains("choices") && !chunk["choices"].empty()) {
    const json &delta = chunk["choices"][0]["delta"];
    if (delta.contains("content") && delta["content"].is_string()) run->text += delta["content"].get<std::string>();
  }
  return true;
}

class LlmScenario : public ::testing::TestWithParam<json> {};

TEST_P(LlmScenario, RunsThroughTheCAbi) {
  const json &scenario = GetParam();
  const json &expect = scenario["expect"];
  const std::string name = scenario["name"];
  Simulator sim(llm_file()["fixture"]);
  if (scenario.contains("reply")) sim.control("POST", "/_sim/openai", {{"reply", scenario["reply"]}});
  const json faults = scenario.value("faults", json::array());
  for (const json &f : faults) sim.control("POST", "/_sim/fault", f);
  // The OpenAI-shaped options (core's llm::Front), as Python and Node build them.
  json options = {{"base_url", sim.url() + "/t/primary/v1"},
                  {"api_key", "sk-scenario-key"},
                  {"fallback_client", {{"base_url", sim.url() + "/t/fallback/v1"}, {"api_key", "sk-scenario-key"}}},
                  {"fallback", scenario.value("fallback", json{{"model", "m"}})}};
  const json extra = scenario.value("options", json::object());  // items() needs it alive
  for (auto &[k, v] : extra.items()) options[k] = v;

  failsoft_llm *raw = nullptr;
  failsoft_status st = failsoft_llm_new(options.dump().c_str(), &raw);
  if (expect.contains("invalid_option")) {
    ASSERT_EQ(st, FAILSOFT_INVALID_ARGUMENT) << name;
    std::string message = failsoft_last_error_message();
    EXPECT_NE(message.find(expect["invalid_option"].get<std::string>()), std::string::npos) << name << ": " << message;
    return;
  }
  ASSERT_EQ(st, FAILSOFT_OK) << name << ": " << status_text(st);
  std::unique_ptr<failsoft_llm, decltype(&failsoft_llm_free)> llm(raw, failsoft_llm_free);
  json request = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};

  LlmRun run;
  failsoft_chat_result *result = nullptr;
  long long started = now_ms();
  if (scenario.value("stream", false)) {
    std::string call = scenario.contains("call") ? scenario["call"].dump() : std::string();
    st = failsoft_llm_chat_stream_with(llm.get(), request.dump().c_str(), call.empty() ? nullptr : call.c_str(),
                                       llm_on_chunk, &run, &result);
  } else {
    st = failsoft_llm_chat(llm.get(), request.dump().c_str(), &result);
  }
  long long took = now_ms() - started;
  std::string message = st == FAILSOFT_OK ? "" : failsoft_last_error_message();
  const char *attempts_text = result ? failsoft_chat_result_attempts_json(result) : failsoft_llm_last_attempts_json();
  json attempts = attempts_text ? json::parse(attempts_text) : json::array();
  // A plain call's result holds the completion; a stream's metadata has none.
  const char *whole_text = result ? failsoft_chat_result_json(result) : nullptr;
  if (whole_text) run.text = json::parse(whole_text)["choices"][0]["message"]["content"];

  if (scenario.contains("max_ms")) {
    EXPECT_LE(took, scenario["max_ms"].get<long long>()) << name;
  }
  if (expect.contains("error_kind")) {
    EXPECT_EQ(st, status_of_kind(expect["error_kind"])) << name << ": " << message;
    EXPECT_NE(message.find(expect.value("error_contains", "")), std::string::npos) << name << ": " << message;
  } else {
    EXPECT_EQ(st, FAILSOFT_OK) << name << ": " << message;
  }
  if (expect.contains("text")) {
    EXPECT_EQ(run.text, expect["text"].get<std::string>()) << name;
  }
  if (expect.contains("text_starts_with")) {
    EXPECT_EQ(run.text.rfind(expect["text_starts_with"].get<std::string>(), 0), 0u) << name << ": " << run.text;
  }
  if (expect.contains("text_ends_with")) {
    std::string end = expect["text_ends_with"];
    EXPECT_TRUE(run.text.size() >= end.size() && run.text.compare(run.text.size() - end.size(), end.size(), end) == 0)
        << name << ": " << run.text;
  }
  if (expect.contains("served_by")) {
    ASSERT_NE(result, nullptr) << name;
    EXPECT_EQ(failsoft_chat_result_served_by_index(result), expect["served_by"].get<int64_t>()) << name;
  }
  if (expect.contains("restarts")) {
    EXPECT_EQ(failsoft_chat_result_restarts(result), expect["restarts"].get<unsigned>()) << name;
    EXPECT_EQ(run.restarts_seen, expect["restarts"].get<int>()) << name;
  }
  if (expect.contains("classes")) {
    json classes = json::array();
    for (const json &a : attempts) classes.push_back(a["class"]);
    EXPECT_EQ(classes, expect["classes"]) << name << ": " << attempts.dump();
  }
  const json hits = expect.value("hits", json::object());
  for (auto &[t, n] : hits.items()) {
    EXPECT_EQ(sim.count("/t/" + t + "/v1/chat/completions"), n.get<long>()) << name << ": hits on " << t;
  }
  if (result) failsoft_chat_result_free(result);
}

std::vector<json> llm_scenarios() {
  std::vector<json> out;
  for (const json &s : llm_file()["scenarios"]) out.push_back(s);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Llm, LlmScenario, ::testing::ValuesIn(llm_scenarios()),
                         [](const auto &info) { return test_name(info.param["name"]); });

}  // namespace

// ---------------------------------------------------------------------------------------------
// tests/scenarios/config.json: typed configuration (SPEC §7), through failsoft_get_config.

namespace {

const json &config_file() {
  static const json file = load_json("tests/scenarios/config.json");
  return file;
}

class ConfigScenario : public ::testing::TestWithParam<json> {};

TEST_P(ConfigScenario, RunsThroughTheCAbi) {
  const json &sc = GetParam();
  const std::string name = sc["name"];
  Simulator sim(config_file()["fixture"]);
  const json faults = sc.value("faults", json::array());
  for (const json &f : faults) sim.control("POST", "/_sim/fault", f);
  json options = {{"source", {{"kind", "opik"}, {"base_url", sim.url()}, {"project_name", "agent"}}},
                  {"cold_deadline_seconds", 2}};
  Client client = make_client(options);
  const std::string env = sc.value("env", ""), version = sc.value("version", "");
  failsoft_value *raw = nullptr;
  failsoft_status st = failsoft_get_config(client.get(), nullptr, sc.contains("env") ? env.c_str() : nullptr,
                                           sc.contains("version") ? version.c_str() : nullptr,
                                           sc["fallback"].dump().c_str(), &raw);
  Value value(raw);
  if (sc.contains("expect_error")) {
    const json &want = sc["expect_error"];
    ASSERT_EQ(status_text(st), status_text(status_of_kind(want["kind"]))) << name;
    EXPECT_EQ(value, nullptr) << name;
    std::string message = failsoft_last_error_message();
    std::vector<std::string> texts;
    if (want.contains("key")) texts.push_back(want["key"]);
    for (const json &t : want.value("contains", json::array())) texts.push_back(t);
    for (const std::string &t : texts) EXPECT_NE(message.find(t), std::string::npos) << name << ": " << message;
    return;
  }
  ASSERT_EQ(st, FAILSOFT_OK) << name << ": " << failsoft_last_error_message();
  const json &expect = sc["expect"];
  EXPECT_EQ(json(failsoft_value_source(value.get())), expect["source"]) << name;
  EXPECT_EQ(failsoft_value_is_fallback(value.get()), expect["source"] == "fallback") << name;
  json data = data_of(value.get());
  for (auto &[field, want] : expect["value"].items()) EXPECT_EQ(data[field], want) << name << ": " << field;
}

std::vector<json> config_scenarios() {
  std::vector<json> out;
  for (const json &s : config_file()["scenarios"]) out.push_back(s);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Config, ConfigScenario, ::testing::ValuesIn(config_scenarios()),
                         [](const auto &info) { return test_name(info.param["name"]); });

}  // namespace
