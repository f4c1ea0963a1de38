// Helpers shared by the GoogleTest suites: owning wrappers over the C handles, error-kind names,
// reading the shared scenario files, polling.
#pragma once

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "failsoft.h"
#include "sim.hpp"

namespace fs_test {

struct ClientDeleter {
  void operator()(failsoft_client *c) const { failsoft_client_free(c); }
};
struct ValueDeleter {
  void operator()(failsoft_value *v) const { failsoft_value_free(v); }
};
struct StringDeleter {
  void operator()(char *s) const { failsoft_string_free(s); }
};
using Client = std::unique_ptr<failsoft_client, ClientDeleter>;
using Value = std::unique_ptr<failsoft_value, ValueDeleter>;
using String = std::unique_ptr<char, StringDeleter>;

// The C status of a core error kind name (`NotFound` -> FAILSOFT_NOT_FOUND), as
// tests/scenarios/README.md asks.
inline failsoft_status status_of_kind(const std::string &kind) {
  if (kind == "NotFound") return FAILSOFT_NOT_FOUND;
  if (kind == "Unauthorized") return FAILSOFT_UNAUTHORIZED;
  if (kind == "Timeout") return FAILSOFT_TIMEOUT;
  if (kind == "Unavailable") return FAILSOFT_UNAVAILABLE;
  if (kind == "InvalidResponse") return FAILSOFT_INVALID_RESPONSE;
  if (kind == "InvalidArgument") return FAILSOFT_INVALID_ARGUMENT;
  throw std::runtime_error("unknown error kind " + kind);
}

inline std::string status_text(int status) {
  const char *msg = failsoft_last_error_message();
  return std::string(failsoft_status_name(status)) + (msg ? std::string(": ") + msg : "");
}

inline Client make_client(const nlohmann::json &options) {
  failsoft_client *raw = nullptr;
  failsoft_status st = failsoft_client_new(options.dump().c_str(), &raw);
  if (st != FAILSOFT_OK) throw std::runtime_error("failsoft_client_new: " + status_text(st));
  return Client(raw);
}

inline nlohmann::json http_options(const Simulator &sim, const nlohmann::json &extra = {}) {
  nlohmann::json o = {{"source", {{"kind", "http"}, {"url", sim.url() + "/kv/{key}"}}}};
  if (extra.is_object()) o.update(extra);
  return o;
}

// A read: the status and, when OK, the value.
struct Read {
  failsoft_status status = FAILSOFT_OK;
  Value value;
  std::string error;  // last error message when the status is not OK
};

inline Read get(failsoft_client *client, const std::string &key, const char *fallback = nullptr) {
  Read r;
  failsoft_value *raw = nullptr;
  r.status = failsoft_get(client, key.c_str(), fallback, &raw);
  r.value.reset(raw);
  if (r.status != FAILSOFT_OK) {
    const char *m = failsoft_last_error_message();
    r.error = m ? m : "";
  }
  return r;
}

inline nlohmann::json data_of(const failsoft_value *v) { return nlohmann::json::parse(failsoft_value_json(v)); }

inline nlohmann::json status_of(failsoft_client *client) {
  char *raw = nullptr;
  if (failsoft_client_status_json(client, &raw) != FAILSOFT_OK) throw std::runtime_error("status");
  String s(raw);
  return nlohmann::json::parse(s.get());
}

inline nlohmann::json load_json(const std::string &relative) {
  std::ifstream in(std::string(FAILSOFT_REPO_DIR) + "/" + relative);
  if (!in) throw std::runtime_error("cannot read " + relative);
  return nlohmann::json::parse(in);
}

// A gtest-safe name: letters, digits and underscores.
inline std::string test_name(const std::string &name) {
  std::string out;
  for (char c : name) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

// The `cases` of a shared vector file, for INSTANTIATE_TEST_SUITE_P.
inline std::vector<nlohmann::json> vector_cases(const std::string &relative) {
  const nlohmann::json file = load_json(relative);  // named: the loop must not outlive it
  std::vector<nlohmann::json> out;
  for (const nlohmann::json &c : file["cases"]) out.push_back(c);
  return out;
}

// A vector case's test name: its `name`, gtest-safe, plus its index (names may collide once made safe).
inline std::string vector_case_name(const ::testing::TestParamInfo<nlohmann::json> &info) {
  return test_name(info.param["name"].get<std::string>()) + "_" + std::to_string(info.index);
}

// A call a vector says must fail (`{"kind", "contains"}`): the kind's status, no output, and a
// last-error message holding every string of `contains`.
inline void expect_vector_error(failsoft_status st, const char *out, const nlohmann::json &error) {
  ASSERT_EQ(st, status_of_kind(error["kind"])) << status_text(st);
  EXPECT_EQ(out, nullptr) << "no output on failure";
  const char *message = failsoft_last_error_message();
  ASSERT_NE(message, nullptr);
  for (const nlohmann::json &part : error["contains"])
    EXPECT_NE(std::string(message).find(part.get<std::string>()), std::string::npos)
        << "message '" << message << "' lacks " << part;
}

inline long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Calls `done` every ~10 ms until it returns true or `timeout_ms` passes.
inline bool poll_until(int timeout_ms, const std::function<bool()> &done) {
  long long until = now_ms() + timeout_ms;
  do {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (now_ms() < until);
  return done();
}

}  // namespace fs_test
