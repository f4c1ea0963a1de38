// The ABI's conventions: versions, status names, the thread-local last error, NULL and invalid
// UTF-8 in every argument of every function (FAILSOFT_INVALID_ARGUMENT, never a crash), panics
// caught at the boundary, NULL-safe frees, options errors naming the option.

#include <cmath>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <tuple>
#include <vector>

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

const char *const BAD_UTF8 = "\xff\xfe bad";

// A client over a JSON file (no network), with `greeting` cached.
class Abi : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/failsoft-abi-XXXXXX.json";
    int fd = mkstemps(tmpl, 5);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_) << R"({"greeting": {"text": "hello"}, "plain": "just a string"})";
    client_ = make_client({{"source", {{"kind", "file"}, {"path", path_}}}, {"ttl_seconds", 3600}});
    Read r = get(client_.get(), "greeting");
    ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
    value_ = std::move(r.value);
  }
  void TearDown() override {
    value_.reset();
    client_.reset();
    std::remove(path_.c_str());
  }

  // `status` is INVALID_ARGUMENT and the last error names `what`.
  static void expect_invalid(failsoft_status status, const std::string &what) {
    EXPECT_EQ(status, FAILSOFT_INVALID_ARGUMENT) << failsoft_status_name(status) << " for " << what;
    EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
    const char *m = failsoft_last_error_message();
    ASSERT_NE(m, nullptr) << what;
    EXPECT_NE(std::string(m).find(what), std::string::npos) << "message '" << m << "' names " << what;
  }

  std::string path_;
  Client client_;
  Value value_;
};

TEST(Versions, LibraryAndAbiVersionsMatchTheHeader) {
  EXPECT_EQ(failsoft_abi_version(), static_cast<uint32_t>(FAILSOFT_ABI_VERSION));
  ASSERT_NE(failsoft_version(), nullptr);
  EXPECT_STREQ(failsoft_version(), FAILSOFT_TEST_VERSION);
}

TEST(StatusNames, EveryCodeHasItsNodeName) {
  const std::vector<std::pair<int, const char *>> names = {
      {FAILSOFT_OK, "OK"},
      {FAILSOFT_NOT_FOUND, "NOT_FOUND"},
      {FAILSOFT_UNAUTHORIZED, "UNAUTHORIZED"},
      {FAILSOFT_TIMEOUT, "TIMEOUT"},
      {FAILSOFT_UNAVAILABLE, "UNAVAILABLE"},
      {FAILSOFT_INVALID_RESPONSE, "INVALID_RESPONSE"},
      {FAILSOFT_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
      {FAILSOFT_PANIC, "PANIC"},
  };
  for (auto &[code, name] : names) EXPECT_STREQ(failsoft_status_name(code), name);
  EXPECT_STREQ(failsoft_status_name(99), "UNKNOWN");
  EXPECT_STREQ(failsoft_status_name(-1), "UNKNOWN");
  EXPECT_EQ(FAILSOFT_OK, 0);
  EXPECT_EQ(sizeof(failsoft_status), 4u);
}

TEST(LastError, IsSetOnFailureClearedOnSuccessAndPerThread) {
  failsoft_last_error_clear();
  EXPECT_EQ(failsoft_last_error_message(), nullptr);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_OK);
  char *out = nullptr;
  EXPECT_EQ(failsoft_compile("{{a}}", "{}", true, &out), FAILSOFT_INVALID_ARGUMENT);
  EXPECT_EQ(out, nullptr);
  ASSERT_NE(failsoft_last_error_message(), nullptr);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("missing template variables: a"), std::string::npos);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  std::thread([] { EXPECT_EQ(failsoft_last_error_message(), nullptr) << "another thread has its own"; }).join();
  ASSERT_EQ(failsoft_compile("{{a}}", "{\"a\": 1}", true, &out), FAILSOFT_OK);
  String s(out);
  EXPECT_STREQ(s.get(), "1");
  EXPECT_EQ(failsoft_last_error_message(), nullptr) << "a success clears it";
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_OK);
}

TEST(Frees, IgnoreNull) {
  failsoft_client_free(nullptr);
  failsoft_value_free(nullptr);
  failsoft_string_free(nullptr);
}

TEST(ClientNew, OptionErrorsNameTheOption) {
  failsoft_client *c = reinterpret_cast<failsoft_client *>(0x1);
  EXPECT_EQ(failsoft_client_new(R"({"source": {"kind": "http", "url": "http://h/{key}"}, "ttl": 3})", &c),
            FAILSOFT_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr) << "the out-parameter is NULL on failure";
  EXPECT_NE(std::string(failsoft_last_error_message()).find("ttl"), std::string::npos);
  EXPECT_EQ(failsoft_client_new(R"({"source": {"kind": "ftp"}})", &c), FAILSOFT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("ftp"), std::string::npos);
  EXPECT_EQ(failsoft_client_new(R"({"source": {"kind": "http", "url": "http://h/{key}"}, "ttl_seconds": -1})", &c),
            FAILSOFT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("ttl_seconds"), std::string::npos);
  EXPECT_EQ(failsoft_client_new(R"({"source": {"kind": "http", "url": "http://h/x"}})", &c),
            FAILSOFT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("{key}"), std::string::npos);
  EXPECT_EQ(failsoft_client_new("{not json", &c), FAILSOFT_INVALID_ARGUMENT);
  EXPECT_EQ(failsoft_client_new("[]", &c), FAILSOFT_INVALID_ARGUMENT);
}

TEST_F(Abi, NullOrInvalidUtf8InEveryArgumentIsInvalidArgument) {
  failsoft_client *c = client_.get();
  const failsoft_value *v = value_.get();
  failsoft_client *oc = nullptr;
  failsoft_value *ov = nullptr;
  char *os = nullptr;
  const std::string options = json({{"source", {{"kind", "file"}, {"path", path_}}}}).dump();

  expect_invalid(failsoft_client_new(nullptr, &oc), "options_json");
  expect_invalid(failsoft_client_new(BAD_UTF8, &oc), "options_json");
  expect_invalid(failsoft_client_new(options.c_str(), nullptr), "out_client");
  EXPECT_EQ(oc, nullptr);
  expect_invalid(failsoft_client_close(nullptr), "client");

  expect_invalid(failsoft_get(nullptr, "greeting", nullptr, &ov), "client");
  expect_invalid(failsoft_get(c, nullptr, nullptr, &ov), "key");
  expect_invalid(failsoft_get(c, BAD_UTF8, nullptr, &ov), "key");
  expect_invalid(failsoft_get(c, "greeting", BAD_UTF8, &ov), "fallback_json");
  expect_invalid(failsoft_get(c, "greeting", "{bad json", &ov), "fallback_json");
  expect_invalid(failsoft_get(c, "greeting", nullptr, nullptr), "out_value");
  EXPECT_EQ(ov, nullptr);

  const char *keys[] = {"greeting", nullptr};
  const char *bad_keys[] = {"greeting", BAD_UTF8};
  expect_invalid(failsoft_prefetch(nullptr, keys, 1, 0, &os), "client");
  expect_invalid(failsoft_prefetch(c, nullptr, 1, 0, &os), "keys");
  expect_invalid(failsoft_prefetch(c, keys, 2, 0, &os), "keys[1]");
  expect_invalid(failsoft_prefetch(c, bad_keys, 2, 0, &os), "keys[1]");
  expect_invalid(failsoft_prefetch(c, keys, 1, -1, &os), "deadline_seconds");
  expect_invalid(failsoft_prefetch(c, keys, 1, NAN, &os), "deadline_seconds");
  expect_invalid(failsoft_prefetch(c, keys, 1, INFINITY, &os), "deadline_seconds");
  EXPECT_EQ(os, nullptr) << "no report when the arguments are invalid";

  expect_invalid(failsoft_client_status_json(nullptr, &os), "client");
  expect_invalid(failsoft_client_status_json(c, nullptr), "out_json");
  expect_invalid(failsoft_client_on_change(nullptr, [](const char *, int64_t, int64_t, void *) {}, nullptr, nullptr),
                 "client");
  expect_invalid(failsoft_client_on_change(c, nullptr, nullptr, nullptr), "callback");
  expect_invalid(failsoft_client_remove_listener(nullptr, 0), "client");

  expect_invalid(failsoft_get_prompt(nullptr, "p", nullptr, 0, nullptr, &ov), "client");
  expect_invalid(failsoft_get_prompt(c, nullptr, nullptr, 0, nullptr, &ov), "name");
  expect_invalid(failsoft_get_prompt(c, BAD_UTF8, nullptr, 0, nullptr, &ov), "name");
  expect_invalid(failsoft_get_prompt(c, "p", BAD_UTF8, 0, nullptr, &ov), "label");
  expect_invalid(failsoft_get_prompt(c, "p", nullptr, 0, BAD_UTF8, &ov), "fallback_json");
  expect_invalid(failsoft_get_prompt(c, "p", nullptr, 0, "{bad", &ov), "fallback_json");
  expect_invalid(failsoft_get_prompt(c, "p", nullptr, 0, nullptr, nullptr), "out_value");
  expect_invalid(failsoft_get_config(nullptr, nullptr, nullptr, nullptr, "{}", &ov), "client");
  expect_invalid(failsoft_get_config(c, BAD_UTF8, nullptr, nullptr, "{}", &ov), "project");
  expect_invalid(failsoft_get_config(c, nullptr, BAD_UTF8, nullptr, "{}", &ov), "env");
  expect_invalid(failsoft_get_config(c, nullptr, nullptr, BAD_UTF8, "{}", &ov), "version");
  expect_invalid(failsoft_get_config(c, nullptr, nullptr, nullptr, nullptr, &ov), "fallback_json");
  expect_invalid(failsoft_get_config(c, nullptr, nullptr, nullptr, BAD_UTF8, &ov), "fallback_json");
  expect_invalid(failsoft_get_config(c, nullptr, nullptr, nullptr, "[1]", &ov), "fallback_json");
  expect_invalid(failsoft_get_config(c, nullptr, nullptr, nullptr, "{}", nullptr), "out_value");
  EXPECT_EQ(ov, nullptr);

  expect_invalid(failsoft_prompt_compile(nullptr, "{}", false, &os), "prompt");
  expect_invalid(failsoft_prompt_compile(v, BAD_UTF8, false, &os), "variables_json");
  expect_invalid(failsoft_prompt_compile(v, "{}", false, nullptr), "out_text");
  expect_invalid(failsoft_prompt_compile(v, "{}", false, &os), "not a prompt");
  expect_invalid(failsoft_prompt_compile_chat(nullptr, "{}", "{}", false, &os), "prompt");
  expect_invalid(failsoft_prompt_compile_chat(v, "{}", BAD_UTF8, false, &os), "placeholders_json");
  expect_invalid(failsoft_prompt_compile_chat(v, "{}", "{}", false, nullptr), "out_messages_json");
  expect_invalid(failsoft_prompt_langchain(nullptr, "{}", &os), "prompt");
  expect_invalid(failsoft_prompt_langchain(v, BAD_UTF8, &os), "variables_json");
  expect_invalid(failsoft_prompt_langchain(v, "[1]", &os), "variables_json");
  expect_invalid(failsoft_prompt_langchain(v, "{}", nullptr), "out_json");
  expect_invalid(failsoft_prompt_langchain(v, "{}", &os), "not a prompt");

  expect_invalid(failsoft_compile(nullptr, "{}", false, &os), "template_text");
  expect_invalid(failsoft_compile(BAD_UTF8, "{}", false, &os), "template_text");
  expect_invalid(failsoft_compile("x", BAD_UTF8, false, &os), "variables_json");
  expect_invalid(failsoft_compile("x", "[1]", false, &os), "variables_json");
  expect_invalid(failsoft_compile("x", "{}", false, nullptr), "out_text");
  expect_invalid(failsoft_compile_chat(nullptr, "{}", "{}", false, &os), "messages_json");
  expect_invalid(failsoft_compile_chat(BAD_UTF8, "{}", "{}", false, &os), "messages_json");
  expect_invalid(failsoft_compile_chat("{}", "{}", "{}", false, &os), "messages_json");
  expect_invalid(failsoft_compile_chat("[]", BAD_UTF8, "{}", false, &os), "variables_json");
  expect_invalid(failsoft_compile_chat("[]", "{}", BAD_UTF8, false, &os), "placeholders_json");
  expect_invalid(failsoft_compile_chat("[]", "{}", "{}", false, nullptr), "out_messages_json");
  expect_invalid(failsoft_template_variables(nullptr, &os), "template_text");
  expect_invalid(failsoft_template_variables(BAD_UTF8, &os), "template_text");
  expect_invalid(failsoft_template_variables("x", nullptr), "out_names_json");
  expect_invalid(failsoft_chat_variables(nullptr, &os), "messages_json");
  expect_invalid(failsoft_chat_variables(BAD_UTF8, &os), "messages_json");
  expect_invalid(failsoft_chat_variables("[]", nullptr), "out_names_json");
  EXPECT_EQ(os, nullptr);

  // Accessors return a neutral answer and record the error.
  failsoft_last_error_clear();
  EXPECT_EQ(failsoft_value_json(nullptr), nullptr);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  failsoft_last_error_clear();
  EXPECT_FALSE(failsoft_value_is_fallback(nullptr));
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  failsoft_last_error_clear();
  EXPECT_EQ(failsoft_value_source(nullptr), nullptr);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  failsoft_last_error_clear();
  int64_t version = 42;
  EXPECT_FALSE(failsoft_value_version(nullptr, &version));
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  failsoft_last_error_clear();
  EXPECT_LT(failsoft_value_age_seconds(nullptr), 0);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  EXPECT_EQ(failsoft_value_error_code(nullptr), FAILSOFT_INVALID_ARGUMENT);
  failsoft_last_error_clear();
  EXPECT_EQ(failsoft_value_error_message(nullptr), nullptr);
  EXPECT_EQ(failsoft_last_error_code(), FAILSOFT_INVALID_ARGUMENT);
  expect_invalid(failsoft_value_to_json(nullptr, &os), "value");
  expect_invalid(failsoft_value_to_json(v, nullptr), "out_json");
}

TEST_F(Abi, ValueAccessorsOfAFreshValue) {
  const failsoft_value *v = value_.get();
  EXPECT_STREQ(failsoft_value_json(v), R"({"text":"hello"})");
  EXPECT_EQ(failsoft_value_json(v), failsoft_value_json(v)) << "made once, then borrowed";
  EXPECT_STREQ(failsoft_value_source(v), "fresh");
  EXPECT_FALSE(failsoft_value_is_fallback(v));
  EXPECT_GE(failsoft_value_age_seconds(v), 0.0);
  EXPECT_LT(failsoft_value_age_seconds(v), 5.0);
  EXPECT_EQ(failsoft_value_error_code(v), FAILSOFT_OK);
  EXPECT_EQ(failsoft_value_error_message(v), nullptr);
  int64_t version = 0;
  EXPECT_FALSE(failsoft_value_version(v, &version)) << "the file source has no versions";
  EXPECT_EQ(version, FAILSOFT_NO_VERSION);
  EXPECT_FALSE(failsoft_value_version(v, nullptr));
  char *raw = nullptr;
  ASSERT_EQ(failsoft_value_to_json(v, &raw), FAILSOFT_OK);
  String s(raw);
  json all = json::parse(s.get());
  EXPECT_EQ(all["value"], json({{"text", "hello"}}));
  EXPECT_EQ(all["source"], "fresh");
  EXPECT_EQ(all["is_fallback"], false);
  EXPECT_TRUE(all["error"].is_null());

  Read plain = get(client_.get(), "plain");
  ASSERT_EQ(plain.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_json(plain.value.get()), R"("just a string")");
}

TEST_F(Abi, ValuesOutliveTheirClient) {
  Read r = get(client_.get(), "greeting");
  ASSERT_EQ(r.status, FAILSOFT_OK);
  client_.reset();
  EXPECT_STREQ(failsoft_value_json(r.value.get()), R"({"text":"hello"})");
}

TEST_F(Abi, FallbackIsCheckedEvenWhenTheKeyIsCachedAndServedOnlyWhenNeeded) {
  Read cached = get(client_.get(), "greeting", R"({"text": "fb"})");
  ASSERT_EQ(cached.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_source(cached.value.get()), "fresh");
  EXPECT_EQ(get(client_.get(), "greeting", "{oops").status, FAILSOFT_INVALID_ARGUMENT);
  Read missing = get(client_.get(), "missing", R"({"text": "fb"})");
  ASSERT_EQ(missing.status, FAILSOFT_OK) << missing.error;
  EXPECT_STREQ(failsoft_value_source(missing.value.get()), "fallback");
  EXPECT_TRUE(failsoft_value_is_fallback(missing.value.get()));
  EXPECT_EQ(data_of(missing.value.get()), json({{"text", "fb"}}));
  EXPECT_LT(failsoft_value_age_seconds(missing.value.get()), 0.0) << "a fallback has no age";
  EXPECT_EQ(failsoft_value_error_code(missing.value.get()), FAILSOFT_NOT_FOUND);
  ASSERT_NE(failsoft_value_error_message(missing.value.get()), nullptr);
  EXPECT_NE(std::string(failsoft_value_error_message(missing.value.get())).find("missing"), std::string::npos);
}

TEST_F(Abi, KeysTheSourceCannotServeAreInvalidArgument) {
  Read r = get(client_.get(), "greeting@label:staging");
  EXPECT_EQ(r.status, FAILSOFT_INVALID_ARGUMENT) << r.error;
}

TEST_F(Abi, CloseIsIdempotentAndKeepsServingTheCache) {
  EXPECT_EQ(failsoft_client_close(client_.get()), FAILSOFT_OK);
  EXPECT_EQ(failsoft_client_close(client_.get()), FAILSOFT_OK);
  Read r = get(client_.get(), "greeting");
  ASSERT_EQ(r.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_source(r.value.get()), "fresh");
  Read cold = get(client_.get(), "plain", "\"fb\"");
  ASSERT_EQ(cold.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_source(cold.value.get()), "fallback");
  EXPECT_EQ(failsoft_value_error_code(cold.value.get()), FAILSOFT_UNAVAILABLE);
  EXPECT_EQ(get(client_.get(), "plain").status, FAILSOFT_UNAVAILABLE);
}

TEST_F(Abi, RemovingAnUnknownListenerIsNotFound) {
  EXPECT_EQ(failsoft_client_remove_listener(client_.get(), 12345), FAILSOFT_NOT_FOUND);
}

TEST(Keys, ManyKeysInRotationFromSeveralThreadsEachGetTheirOwnValue) {
  // The ABI memoises the parsed form of the last few keys per thread; more keys than it holds,
  // read in turn from several threads, must each still reach their own value.
  char tmpl[] = "/tmp/failsoft-keys-XXXXXX.json";
  int fd = mkstemps(tmpl, 5);
  ASSERT_GE(fd, 0);
  close(fd);
  json doc;
  for (int i = 0; i < 9; i++) doc["k" + std::to_string(i)] = i;
  std::ofstream(tmpl) << doc.dump();
  Client client = make_client({{"source", {{"kind", "file"}, {"path", tmpl}}}});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 9; i++) {
          int k = (i * (t + 1)) % 9;
          Read r = get(client.get(), "k" + std::to_string(k));
          if (r.status != FAILSOFT_OK || data_of(r.value.get()) != k) wrong++;
        }
      }
    });
  }
  for (auto &th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(get(client.get(), "k1\xff").status, FAILSOFT_INVALID_ARGUMENT);
  Read k1 = get(client.get(), "k1");
  ASSERT_EQ(k1.status, FAILSOFT_OK);
  EXPECT_EQ(data_of(k1.value.get()), 1);
  std::remove(tmpl);
}

struct LogLines {
  std::mutex m;
  std::vector<std::tuple<int, std::string, std::string>> lines;
};

extern "C" void record_log(int32_t level, const char *target, const char *message, void *user) {
  auto *log = static_cast<LogLines *>(user);
  std::lock_guard<std::mutex> lock(log->m);
  log->lines.emplace_back(level, target, message);
}

TEST(Logging, RecordsGoToTheHostCallbackUntilRemoved) {
  LogLines log;
  struct Reset {
    ~Reset() { failsoft_set_log_callback(nullptr, 0, nullptr); }
  } reset;  // never leave a callback pointing at this frame
  EXPECT_EQ(failsoft_set_log_callback(record_log, 9, &log), FAILSOFT_INVALID_ARGUMENT);
  ASSERT_EQ(failsoft_set_log_callback(record_log, 2, &log), FAILSOFT_OK);
  Client client = make_client({{"source", {{"kind", "file"}, {"path", "/nonexistent/failsoft.json"}}}});
  EXPECT_EQ(get(client.get(), "k").status, FAILSOFT_UNAVAILABLE);
  ASSERT_TRUE(poll_until(2000, [&] {
    std::lock_guard<std::mutex> lock(log.m);
    return !log.lines.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(log.m);
    auto &[level, target, message] = log.lines[0];
    EXPECT_EQ(level, 2) << "a failed fetch is a warning";
    EXPECT_EQ(target.rfind("failsoft", 0), 0u) << target;
    EXPECT_NE(message.find("k"), std::string::npos) << message;
  }
  ASSERT_EQ(failsoft_set_log_callback(nullptr, 2, nullptr), FAILSOFT_OK);
  size_t seen = log.lines.size();
  EXPECT_EQ(get(client.get(), "other").status, FAILSOFT_UNAVAILABLE);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log.lines.size(), seen) << "nothing after removal";
}

TEST(Compile, NulInTheResultIsRefusedNotTruncated) {
  char *out = nullptr;
  EXPECT_EQ(failsoft_compile("a{{x}}b", R"({"x": "\u0000"})", false, &out), FAILSOFT_INVALID_ARGUMENT);
  EXPECT_EQ(out, nullptr);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("NUL"), std::string::npos);
}

}  // namespace
