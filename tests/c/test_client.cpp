// Behaviour through the C ABI against failsoft-sim: every error code a read can give, the cold
// deadline, single-flight from 16 threads, snapshots, change callbacks, status, prefetch.

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <vector>

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/failsoft-snap-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

// Each error kind reaches C as its status, with a message naming the key.
struct ErrorCase {
  const char *name;
  const char *mode;  // fault on /kv/greeting (or "*" for refused)
  const char *key;
  failsoft_status expected;
};

class ReadErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ReadErrors, ReachCAsTheirStatus) {
  const ErrorCase &c = GetParam();
  Simulator sim;
  // A short deadline for the hung backend; room for a 17 MiB body elsewhere.
  const bool hang = std::string(c.mode) == "hang";
  Client client = make_client(http_options(sim, {{"cold_deadline_seconds", hang ? 0.3 : 2.0}}));
  if (std::string(c.mode) == "refused")
    sim.fault("*", "refused");
  else if (std::string(c.mode) != "none")
    sim.fault("/kv/greeting", c.mode);
  Read r = get(client.get(), c.key);
  ASSERT_EQ(status_text(r.status), status_text(c.expected));
  EXPECT_EQ(r.value, nullptr);
  EXPECT_EQ(failsoft_last_error_code(), c.expected);
  EXPECT_NE(r.error.find(c.key), std::string::npos) << r.error;
  // With a fallback the same failure is a value carrying that error.
  Read fb = get(client.get(), c.key, "\"fb\"");
  ASSERT_EQ(fb.status, FAILSOFT_OK) << fb.error;
  EXPECT_TRUE(failsoft_value_is_fallback(fb.value.get()));
  EXPECT_EQ(status_text(failsoft_value_error_code(fb.value.get())), status_text(c.expected));
}

INSTANTIATE_TEST_SUITE_P(
    Codes, ReadErrors,
    ::testing::Values(ErrorCase{"not_found", "none", "nope", FAILSOFT_NOT_FOUND},
                      ErrorCase{"unauthorized_401", "401", "greeting", FAILSOFT_UNAUTHORIZED},
                      ErrorCase{"forbidden_403", "403", "greeting", FAILSOFT_UNAUTHORIZED},
                      ErrorCase{"timeout_hang", "hang", "greeting", FAILSOFT_TIMEOUT},
                      ErrorCase{"unavailable_refused", "refused", "greeting", FAILSOFT_UNAVAILABLE},
                      ErrorCase{"unavailable_503", "503", "greeting", FAILSOFT_UNAVAILABLE},
                      ErrorCase{"unavailable_429", "429", "greeting", FAILSOFT_UNAVAILABLE},
                      ErrorCase{"invalid_response_garbage", "garbage", "greeting", FAILSOFT_INVALID_RESPONSE},
                      ErrorCase{"invalid_response_oversized", "oversized", "greeting", FAILSOFT_INVALID_RESPONSE}),
    [](const ::testing::TestParamInfo<ErrorCase> &info) { return std::string(info.param.name); });

TEST(ColdDeadline, AHungBackendCostsExactlyTheColdDeadline) {
  Simulator sim;
  Client client = make_client(http_options(sim, {{"cold_deadline_seconds", 0.25}}));
  sim.fault("/kv/greeting", "hang");
  long long start = now_ms();
  Read r = get(client.get(), "greeting", "\"fb\"");
  long long took = now_ms() - start;
  ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
  EXPECT_STREQ(failsoft_value_source(r.value.get()), "fallback");
  EXPECT_EQ(failsoft_value_error_code(r.value.get()), FAILSOFT_TIMEOUT);
  EXPECT_GE(took, 230);
  EXPECT_LE(took, 500);
  sim.heal("/kv/greeting");  // the hung request is answered: the late value lands in the cache
  ASSERT_TRUE(poll_until(3000, [&] {
    Read again = get(client.get(), "greeting");
    return again.status == FAILSOFT_OK && std::string(failsoft_value_source(again.value.get())) == "fresh";
  }));
}

TEST(SingleFlight, SixteenColdReadersShareOneFetch) {
  Simulator sim;
  Client client = make_client(http_options(sim));
  sim.fault("/kv/greeting", "slow", 500);  // every reader arrives while the fetch is out
  constexpr int kThreads = 16;
  std::mutex m;
  std::condition_variable cv;
  int ready = 0;
  bool go = false;
  std::vector<std::thread> threads;
  std::vector<std::string> results(kThreads);
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(m);
        ready++;
        cv.notify_all();
        cv.wait(lock, [&] { return go; });
      }
      Read r = get(client.get(), "greeting");
      results[i] = r.status == FAILSOFT_OK
                       ? std::string(failsoft_value_source(r.value.get())) + " " + failsoft_value_json(r.value.get())
                       : "error " + r.error;
    });
  }
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return ready == kThreads; });
    go = true;
    cv.notify_all();
  }
  for (auto &t : threads) t.join();
  for (int i = 0; i < kThreads; i++) EXPECT_EQ(results[i], R"(fresh {"text":"hello"})") << "thread " << i;
  EXPECT_EQ(sim.count("/kv/greeting"), 1) << "one fetch for sixteen readers";
  json status = status_of(client.get());
  EXPECT_EQ(status["counters"]["fetches"], 1);
  EXPECT_EQ(status["counters"]["coalesced_waits"], kThreads - 1);
  EXPECT_EQ(status["counters"]["fresh_reads"], kThreads);
}

TEST(Snapshot, ServedAfterARestartWhileTheBackendIsDownAndOnlyForItsSource) {
  Simulator sim;
  TempDir dir;
  json options = http_options(sim, {{"snapshot_dir", dir.path}, {"cold_deadline_seconds", 1}});
  {
    Client first = make_client(options);
    Read r = get(first.get(), "greeting");
    ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
    EXPECT_STREQ(failsoft_value_source(r.value.get()), "fresh");
  }
  ASSERT_FALSE(std::filesystem::is_empty(dir.path)) << "the fetched value was written";
  sim.fault("*", "refused");
  Client restarted = make_client(options);
  Read r = get(restarted.get(), "greeting", R"({"text": "fallback"})");
  ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
  EXPECT_STREQ(failsoft_value_source(r.value.get()), "snapshot");
  EXPECT_FALSE(failsoft_value_is_fallback(r.value.get()));
  EXPECT_EQ(data_of(r.value.get()), json({{"text", "hello"}}));
  int64_t version = 0;
  EXPECT_TRUE(failsoft_value_version(r.value.get(), &version));
  EXPECT_EQ(version, 1);
  EXPECT_GE(failsoft_value_age_seconds(r.value.get()), 0.0);
  EXPECT_EQ(failsoft_value_error_code(r.value.get()), FAILSOFT_UNAVAILABLE);
  // Even without a fallback the snapshot answers.
  Read bare = get(restarted.get(), "greeting");
  ASSERT_EQ(bare.status, FAILSOFT_OK) << bare.error;
  EXPECT_STREQ(failsoft_value_source(bare.value.get()), "snapshot");
  // Another source (another URL) never reads it.
  json other = options;
  other["source"]["url"] = sim.url() + "/other/{key}";
  Client foreign = make_client(other);
  Read f = get(foreign.get(), "greeting", "\"fb\"");
  ASSERT_EQ(f.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_source(f.value.get()), "fallback");
  json status = status_of(restarted.get());
  EXPECT_EQ(status["counters"]["snapshot_reads"], 2);
}

TEST(Snapshot, AFallbackIsNeverWritten) {
  Simulator sim;
  TempDir dir;
  sim.fault("*", "refused");
  Client client = make_client(http_options(sim, {{"snapshot_dir", dir.path}}));
  Read r = get(client.get(), "greeting", "\"fb\"");
  ASSERT_EQ(r.status, FAILSOFT_OK);
  EXPECT_STREQ(failsoft_value_source(r.value.get()), "fallback");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path));
}

struct Changes {
  std::mutex m;
  std::vector<std::tuple<std::string, int64_t, int64_t>> seen;
  std::atomic<int> calls{0};
  std::thread::id caller;
};

extern "C" void record_change(const char *key, int64_t old_version, int64_t new_version, void *user) {
  auto *c = static_cast<Changes *>(user);
  std::lock_guard<std::mutex> lock(c->m);
  c->seen.emplace_back(key, old_version, new_version);
  c->caller = std::this_thread::get_id();
  c->calls++;
}

TEST(OnChange, CalledOnALibraryThreadWithBothVersionsUntilRemoved) {
  Simulator sim;
  Client client = make_client(http_options(sim, {{"ttl_seconds", 0.1}}));
  Changes changes;
  uint64_t id = 0;
  ASSERT_EQ(failsoft_client_on_change(client.get(), record_change, &changes, &id), FAILSOFT_OK);
  Read r = get(client.get(), "greeting");
  ASSERT_EQ(r.status, FAILSOFT_OK);
  sim.set_kv("greeting", {{"text", "v2"}}, 2);
  ASSERT_TRUE(poll_until(3000, [&] {
    get(client.get(), "greeting");
    return changes.calls.load() > 0;
  }));
  {
    std::lock_guard<std::mutex> lock(changes.m);
    ASSERT_EQ(changes.seen.size(), 1u);
    EXPECT_EQ(changes.seen[0], std::make_tuple(std::string("greeting"), int64_t{1}, int64_t{2}));
    EXPECT_NE(changes.caller, std::this_thread::get_id()) << "called on a library thread";
  }
  ASSERT_EQ(failsoft_client_remove_listener(client.get(), id), FAILSOFT_OK);
  EXPECT_EQ(failsoft_client_remove_listener(client.get(), id), FAILSOFT_NOT_FOUND);
  sim.set_kv("greeting", {{"text", "v3"}}, 3);
  ASSERT_TRUE(poll_until(3000, [&] {
    Read again = get(client.get(), "greeting");
    int64_t v = 0;
    return again.status == FAILSOFT_OK && failsoft_value_version(again.value.get(), &v) && v == 3;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(changes.calls.load(), 1) << "never called after removal";
}

TEST(OnChange, AVersionlessSourceReportsNoVersion) {
  Simulator sim;
  char tmpl[] = "/tmp/failsoft-change-XXXXXX.json";
  int fd = mkstemps(tmpl, 5);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string path = tmpl;
  std::ofstream(path) << R"({"k": 1})";
  Client client = make_client({{"source", {{"kind", "file"}, {"path", path}}}, {"ttl_seconds", 0.05}});
  Changes changes;
  ASSERT_EQ(failsoft_client_on_change(client.get(), record_change, &changes, nullptr), FAILSOFT_OK);
  ASSERT_EQ(get(client.get(), "k").status, FAILSOFT_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(path) << R"({"k": 22})";
  ASSERT_TRUE(poll_until(3000, [&] {
    get(client.get(), "k");
    return changes.calls.load() > 0;
  }));
  std::lock_guard<std::mutex> lock(changes.m);
  EXPECT_EQ(changes.seen[0], std::make_tuple(std::string("k"), FAILSOFT_NO_VERSION, FAILSOFT_NO_VERSION));
  std::remove(path.c_str());
}

TEST(OnChange, FreeingTheClientStopsCallbacksSoUserDataMayBeFreed) {
  Simulator sim;
  auto *changes = new Changes;
  failsoft_client *raw = nullptr;
  ASSERT_EQ(failsoft_client_new(http_options(sim, {{"ttl_seconds", 0.05}}).dump().c_str(), &raw), FAILSOFT_OK);
  ASSERT_EQ(failsoft_client_on_change(raw, record_change, changes, nullptr), FAILSOFT_OK);
  Read r = get(raw, "greeting");
  ASSERT_EQ(r.status, FAILSOFT_OK);
  int version = 2;
  // Changes keep coming while the client is freed; afterwards user data is gone (ASan would
  // report a late call).
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) {
      sim.set_kv("greeting", {{"text", "v"}}, version++);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  poll_until(2000, [&] {
    get(raw, "greeting");
    return changes->calls.load() > 0;
  });
  failsoft_client_free(raw);
  delete changes;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  writer.join();
}

TEST(Status, CountsReadsAndTurnsStaleThenReady) {
  Simulator sim;
  Client client = make_client(http_options(sim, {{"ttl_seconds", 0.1}}));
  json st = status_of(client.get());
  EXPECT_EQ(st["state"], "starting");
  EXPECT_EQ(st["keys"], 0);
  for (int i = 0; i < 5; i++) ASSERT_EQ(get(client.get(), "greeting").status, FAILSOFT_OK);
  st = status_of(client.get());
  EXPECT_EQ(st["state"], "ready");
  EXPECT_EQ(st["counters"]["reads"], 5);
  EXPECT_EQ(st["counters"]["fresh_reads"], 5);
  EXPECT_EQ(st["counters"]["fetches"], 1);
  EXPECT_GT(st["counters"]["bytes_fetched"].get<long>(), 0);
  EXPECT_EQ(st["keys"], 1);
  EXPECT_TRUE(st["last_error"].is_null());
  EXPECT_GT(st["since"].get<double>(), 1.6e9);
  sim.fault("/kv/greeting", "503");
  ASSERT_TRUE(poll_until(3000, [&] {
    get(client.get(), "greeting");
    return status_of(client.get())["state"] == "stale";
  }));
  st = status_of(client.get());
  EXPECT_EQ(st["last_error"]["kind"], "Unavailable");
  EXPECT_EQ(st["last_error"]["key"], "greeting");
  EXPECT_EQ(st["last_error"]["status"], 503);
  sim.heal("/kv/greeting");
  ASSERT_TRUE(poll_until(5000, [&] {
    get(client.get(), "greeting");
    return status_of(client.get())["state"] == "ready";
  }));
}

TEST(Prefetch, ReportsEveryKeyAndHonoursItsDeadline) {
  Simulator sim;
  Client client = make_client(http_options(sim));
  const char *keys[] = {"greeting", "settings", "plain"};
  char *raw = nullptr;
  ASSERT_EQ(failsoft_prefetch(client.get(), keys, 3, 2.0, &raw), FAILSOFT_OK) << status_text(FAILSOFT_OK);
  String report(raw);
  EXPECT_EQ(json::parse(report.get()),
            json::parse(R"({"ok": true, "succeeded": ["greeting", "settings", "plain"], "failed": []})"));
  EXPECT_EQ(failsoft_last_error_message(), nullptr);
  // Zero keys is a success; NULL report is allowed.
  EXPECT_EQ(failsoft_prefetch(client.get(), nullptr, 0, 0, nullptr), FAILSOFT_OK);
  // A hung key fails with Timeout after the deadline; the others still land.
  sim.fault("/kv/slowpoke", "hang");
  const char *more[] = {"slowpoke", "greeting"};
  long long start = now_ms();
  failsoft_status st = failsoft_prefetch(client.get(), more, 2, 0.2, &raw);
  long long took = now_ms() - start;
  String report2(raw);
  EXPECT_EQ(st, FAILSOFT_TIMEOUT) << status_text(st);
  EXPECT_LE(took, 1000);
  json r2 = json::parse(report2.get());
  EXPECT_EQ(r2["ok"], false);
  EXPECT_EQ(r2["succeeded"], json::array({"greeting"}));
  EXPECT_EQ(r2["failed"][0]["key"], "slowpoke");
  EXPECT_EQ(r2["failed"][0]["kind"], "Timeout");
  EXPECT_NE(std::string(failsoft_last_error_message()).find("slowpoke"), std::string::npos);
  sim.heal("/kv/slowpoke");
}

}  // namespace

// `failsoft pull` (the CLI, another process) writes snapshots that this process, started with the
// backend down, serves before any fallback (issue 8).
TEST(Snapshot, PulledByTheCliAndServedWithTheBackendDown) {
  std::string cli;
  if (const char *env = std::getenv("FAILSOFT_BIN"); env && *env) {
    cli = env;
  } else {
    cli = std::filesystem::path(simulator_binary()).parent_path() / "failsoft";
  }
  if (!file_exists(cli)) GTEST_SKIP() << "the failsoft CLI is not built: " << cli;
  Simulator sim;
  TempDir dir;
  std::string command = "LANGFUSE_PUBLIC_KEY=pk-lf-test LANGFUSE_SECRET_KEY=sk-lf-test '" + cli +
                        "' pull movie-critic --source langfuse --url '" + sim.url() + "' --out '" + dir.path +
                        "' > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  sim.fault("*", "refused");
  json options = {{"source",
                   {{"kind", "langfuse"},
                    {"base_url", sim.url()},
                    {"public_key", "pk-lf-test"},
                    {"secret_key", "sk-lf-test"}}},
                  {"snapshot_dir", dir.path},
                  {"cold_deadline_seconds", 1}};
  Client client = make_client(options);
  failsoft_value *raw = nullptr;
  ASSERT_EQ(failsoft_get_prompt(client.get(), "movie-critic", nullptr, 0, "\"fallback {{movie}}\"", &raw),
            FAILSOFT_OK)
      << failsoft_last_error_message();
  Value prompt(raw);
  EXPECT_STREQ(failsoft_value_source(prompt.get()), "snapshot");
  EXPECT_FALSE(failsoft_value_is_fallback(prompt.get()));
  EXPECT_EQ(data_of(prompt.get())["name"], "movie-critic");
  // The same directory is never read for another public key.
  json other = options;
  other["source"]["public_key"] = "pk-lf-other";
  Client foreign = make_client(other);
  ASSERT_EQ(failsoft_get_prompt(foreign.get(), "movie-critic", nullptr, 0, "\"fallback {{movie}}\"", &raw),
            FAILSOFT_OK);
  Value fb(raw);
  EXPECT_TRUE(failsoft_value_is_fallback(fb.get()));
}
