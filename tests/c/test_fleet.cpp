// Fleet mode through the C ABI (SPEC §10, issue 13): "fleet" in the options JSON passes through
// the shared spec, and a client started while the backend is down serves the fleet's last known
// good from Redis. Needs the redis-server scripts/test.sh starts (FAILSOFT_TEST_REDIS_URL):
// fails under CI without it, skips otherwise.

#include <cstdlib>
#include <random>

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

std::string redis_url() {
  const char *url = std::getenv("FAILSOFT_TEST_REDIS_URL");
  return url ? url : "";
}

json fleet_options() {
  std::random_device rd;
  return {{"redis_url", redis_url()}, {"prefix", "c-" + std::to_string(rd())}, {"retention_seconds", 60}};
}

#define REQUIRE_REDIS()                                                                          \
  do {                                                                                           \
    if (redis_url().empty()) {                                                                   \
      if (std::getenv("CI")) FAIL() << "CI is set but FAILSOFT_TEST_REDIS_URL is not";          \
      GTEST_SKIP() << "FAILSOFT_TEST_REDIS_URL not set (scripts/test.sh starts a redis-server)"; \
    }                                                                                            \
  } while (0)

}  // namespace

TEST(Fleet, AClientStartedDuringAnOutageServesTheFleetsValue) {
  REQUIRE_REDIS();
  Simulator sim;
  json fleet = fleet_options();
  Client first = make_client(http_options(sim, {{"fleet", fleet}}));
  Read r = get(first.get(), "greeting");
  ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
  sim.fault("*", "refused");
  Client later = make_client(http_options(sim, {{"fleet", fleet}}));
  long long start = now_ms();
  Read v = get(later.get(), "greeting", "\"fb\"");
  long long took = now_ms() - start;
  ASSERT_EQ(v.status, FAILSOFT_OK) << v.error;
  EXPECT_LT(took, 100);
  EXPECT_FALSE(failsoft_value_is_fallback(v.value.get()));
  EXPECT_EQ(data_of(v.value.get()), json({{"text", "hello"}}));
  json status = status_of(later.get());
  EXPECT_EQ(status["fleet"]["store"], "up");
  EXPECT_GE(status["fleet"]["counters"]["adopted"].get<int>(), 1);
  EXPECT_EQ(failsoft_client_invalidate(later.get(), "greeting"), FAILSOFT_OK);
  EXPECT_EQ(sim.count("/kv/greeting"), 1);
}

TEST(Fleet, OptionsAreCheckedByNameAndNeverEchoThePassword) {
  REQUIRE_REDIS();
  Simulator sim;
  failsoft_client *raw = nullptr;
  std::string bad = http_options(sim, {{"fleet", {{"redis_url", "http://app:hunter2@127.0.0.1:1"}}}}).dump();
  EXPECT_EQ(failsoft_client_new(bad.c_str(), &raw), FAILSOFT_INVALID_ARGUMENT);
  std::string msg = failsoft_last_error_message();
  EXPECT_NE(msg.find("fleet.redis_url"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  Client c = make_client(http_options(sim, {{"fleet", {{"redis_url", "redis://app:hunter2@127.0.0.1:1/0"}}}}));
  EXPECT_EQ(status_of(c.get()).dump().find("hunter2"), std::string::npos);
}
