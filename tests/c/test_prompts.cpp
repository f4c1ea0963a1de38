// Prompts (Langfuse source) and agent configs (Opik source) through the C ABI, against the
// simulator's default fixture (tests/simulator/README.md).

#include "support/failsoft_test.hpp"

using namespace fs_test;
using nlohmann::json;

namespace {

Read prompt(failsoft_client *c, const char *name, const char *label = nullptr, uint64_t version = 0,
            const char *fallback = nullptr) {
  Read r;
  failsoft_value *raw = nullptr;
  r.status = failsoft_get_prompt(c, name, label, version, fallback, &raw);
  r.value.reset(raw);
  if (r.status != FAILSOFT_OK && failsoft_last_error_message()) r.error = failsoft_last_error_message();
  return r;
}

Read config(failsoft_client *c, const char *project, const char *env, const char *version, const json &fallback) {
  Read r;
  failsoft_value *raw = nullptr;
  r.status = failsoft_get_config(c, project, env, version, fallback.dump().c_str(), &raw);
  r.value.reset(raw);
  if (r.status != FAILSOFT_OK && failsoft_last_error_message()) r.error = failsoft_last_error_message();
  return r;
}

int64_t version_of(const failsoft_value *v) {
  int64_t out = 0;
  return failsoft_value_version(v, &out) ? out : -1;
}

std::string compile(const failsoft_value *p, const json &vars, bool strict, failsoft_status *status = nullptr) {
  char *raw = nullptr;
  failsoft_status st = failsoft_prompt_compile(p, vars.dump().c_str(), strict, &raw);
  String out(raw);
  if (status) *status = st;
  return st == FAILSOFT_OK ? std::string(out.get()) : status_text(st);
}

json langfuse_options(const Simulator &sim, const char *secret = "sk-lf-test") {
  return {{"source",
           {{"kind", "langfuse"}, {"base_url", sim.url()}, {"public_key", "pk-lf-test"}, {"secret_key", secret}}},
          {"cold_deadline_seconds", 2}};
}

json opik_options(const Simulator &sim) {
  return {{"source", {{"kind", "opik"}, {"base_url", sim.url()}, {"project_name", "my-agent"}}},
          {"cold_deadline_seconds", 2}};
}

TEST(Prompts, TextPromptByDefaultLabelLabelAndVersion) {
  Simulator sim;
  Client c = make_client(langfuse_options(sim));
  Read p = prompt(c.get(), "movie-critic");
  ASSERT_EQ(p.status, FAILSOFT_OK) << p.error;
  EXPECT_STREQ(failsoft_value_source(p.value.get()), "fresh");
  EXPECT_EQ(version_of(p.value.get()), 1);
  json data = data_of(p.value.get());
  EXPECT_EQ(data["name"], "movie-critic");
  EXPECT_EQ(data["type"], "text");
  EXPECT_EQ(data["prompt"], "Do you like {{movie}}?");
  EXPECT_EQ(data["config"]["temperature"], 0.7);
  EXPECT_EQ(data["labels"], json::array({"production"}));
  EXPECT_EQ(compile(p.value.get(), {{"movie", "Dune"}}, true), "Do you like Dune?");

  Read production = prompt(c.get(), "movie-critic", "production");
  ASSERT_EQ(production.status, FAILSOFT_OK);
  EXPECT_EQ(version_of(production.value.get()), 1);
  EXPECT_EQ(sim.count("/api/public/v2/prompts/movie-critic"), 1) << "no label and production are one key";

  Read staging = prompt(c.get(), "movie-critic", "staging");
  ASSERT_EQ(staging.status, FAILSOFT_OK) << staging.error;
  EXPECT_EQ(version_of(staging.value.get()), 2);
  failsoft_status st;
  compile(staging.value.get(), {{"movie", "Dune"}}, true, &st);
  EXPECT_EQ(st, FAILSOFT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("criticLevel"), std::string::npos);

  Read v1 = prompt(c.get(), "movie-critic", nullptr, 1);
  ASSERT_EQ(v1.status, FAILSOFT_OK) << v1.error;
  EXPECT_EQ(data_of(v1.value.get())["prompt"], "Do you like {{movie}}?");

  Read special = prompt(c.get(), "folder/x y \xc3\xbc");
  ASSERT_EQ(special.status, FAILSOFT_OK) << special.error;
  EXPECT_EQ(compile(special.value.get(), {{"thing", "chars"}}, true), "Special chars");
}

TEST(Prompts, ChatPromptCompilesWithPlaceholders) {
  Simulator sim;
  Client c = make_client(langfuse_options(sim));
  Read p = prompt(c.get(), "chat-agent");
  ASSERT_EQ(p.status, FAILSOFT_OK) << p.error;
  EXPECT_EQ(data_of(p.value.get())["type"], "chat");
  char *raw = nullptr;
  ASSERT_EQ(failsoft_prompt_compile_chat(p.value.get(), R"({"role": "a critic", "question": "Dune?"})",
                                         R"({"history": [{"role": "user", "content": "hi"}]})", true, &raw),
            FAILSOFT_OK)
      << status_text(FAILSOFT_OK);
  String messages(raw);
  json m = json::parse(messages.get());
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["content"], "You are a critic.");
  EXPECT_EQ(m[1], json({{"role", "user"}, {"content", "hi"}}));
  EXPECT_EQ(m[2]["content"], "Dune?");
  EXPECT_EQ(failsoft_prompt_compile_chat(p.value.get(), R"({"role": "x", "question": "y"})", nullptr, true, &raw),
            FAILSOFT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(failsoft_last_error_message()).find("history"), std::string::npos);
  failsoft_status st;
  compile(p.value.get(), json::object(), false, &st);
  EXPECT_EQ(st, FAILSOFT_INVALID_ARGUMENT) << "a chat prompt is compiled with compile_chat";
}

TEST(Prompts, FallbackWhenTheBackendIsDownAndItIsCheckedAlways) {
  Simulator sim;
  Client c = make_client(langfuse_options(sim));
  EXPECT_EQ(prompt(c.get(), "movie-critic", nullptr, 0, "3").status, FAILSOFT_INVALID_ARGUMENT)
      << "a fallback that is not a prompt is refused even when the backend answers";
  EXPECT_EQ(prompt(c.get(), "movie-critic", "staging", 2).status, FAILSOFT_INVALID_ARGUMENT)
      << "label and version together";
  EXPECT_EQ(prompt(c.get(), "movie-critic", "Bad Label").status, FAILSOFT_INVALID_ARGUMENT);
  sim.fault("*", "refused");
  Read fb = prompt(c.get(), "movie-critic", nullptr, 0, R"js("Do you like {{movie}}? (offline)")js");
  ASSERT_EQ(fb.status, FAILSOFT_OK) << fb.error;
  EXPECT_TRUE(failsoft_value_is_fallback(fb.value.get()));
  EXPECT_EQ(version_of(fb.value.get()), -1) << "a fallback has no version";
  EXPECT_EQ(data_of(fb.value.get())["version"], 0);
  EXPECT_EQ(failsoft_value_error_code(fb.value.get()), FAILSOFT_UNAVAILABLE);
  EXPECT_EQ(compile(fb.value.get(), {{"movie", "Dune"}}, true), "Do you like Dune? (offline)");
  Read chat_fb = prompt(c.get(), "chat-agent", nullptr, 0, R"([{"role": "system", "content": "Be {{role}}"}])");
  ASSERT_EQ(chat_fb.status, FAILSOFT_OK) << chat_fb.error;
  EXPECT_EQ(data_of(chat_fb.value.get())["type"], "chat");
  EXPECT_EQ(prompt(c.get(), "chat-agent").status, FAILSOFT_UNAVAILABLE);
}

TEST(Prompts, ErrorCodes) {
  Simulator sim;
  Client good = make_client(langfuse_options(sim));
  Read missing = prompt(good.get(), "no-such-prompt");
  EXPECT_EQ(missing.status, FAILSOFT_NOT_FOUND) << missing.error;
  EXPECT_NE(missing.error.find("no-such-prompt"), std::string::npos);
  Client bad = make_client(langfuse_options(sim, "sk-wrong"));
  Read refused = prompt(bad.get(), "movie-critic");
  EXPECT_EQ(refused.status, FAILSOFT_UNAUTHORIZED) << refused.error;
  EXPECT_EQ(refused.error.find("sk-wrong"), std::string::npos) << "no secret in messages: " << refused.error;
}

TEST(Configs, ReadByDefaultEnvEnvAndVersion) {
  Simulator sim;
  Client c = make_client(opik_options(sim));
  json fallback = {{"model", "fallback-model"}, {"max_tokens", 1}, {"temperature", 0.0}, {"use_tools", false}};
  Read prod = config(c.get(), nullptr, nullptr, nullptr, fallback);
  ASSERT_EQ(prod.status, FAILSOFT_OK) << prod.error;
  EXPECT_STREQ(failsoft_value_source(prod.value.get()), "fresh");
  json data = data_of(prod.value.get());
  EXPECT_EQ(data["model"], "gpt-4o-mini");
  EXPECT_EQ(data["max_tokens"], 256);
  EXPECT_EQ(data["temperature"], 0.2);
  EXPECT_EQ(data["use_tools"], true);

  Read staging = config(c.get(), "my-agent", "staging", nullptr, fallback);
  ASSERT_EQ(staging.status, FAILSOFT_OK) << staging.error;
  EXPECT_EQ(data_of(staging.value.get())["model"], "gpt-4o");
  Read latest = config(c.get(), nullptr, nullptr, "latest", fallback);
  ASSERT_EQ(latest.status, FAILSOFT_OK) << latest.error;
  EXPECT_EQ(data_of(latest.value.get())["max_tokens"], 512);
  Read v1 = config(c.get(), nullptr, nullptr, "1", fallback);
  ASSERT_EQ(v1.status, FAILSOFT_OK) << v1.error;
  EXPECT_EQ(data_of(v1.value.get())["model"], "gpt-4o-mini");

  EXPECT_EQ(config(c.get(), nullptr, "prod", "v1", fallback).status, FAILSOFT_INVALID_ARGUMENT);
  Read no_env = config(c.get(), nullptr, "nope", nullptr, fallback);
  EXPECT_EQ(no_env.status, FAILSOFT_NOT_FOUND) << no_env.error;
  json more = fallback;
  more["not_on_the_backend"] = "x";
  Read lacking = config(c.get(), nullptr, "staging", nullptr, more);
  EXPECT_EQ(lacking.status, FAILSOFT_INVALID_RESPONSE) << lacking.error;
  EXPECT_NE(lacking.error.find("not_on_the_backend"), std::string::npos) << lacking.error;
}

TEST(Configs, CreatedFromTheFallbackWhenTheProjectHasNone) {
  Simulator sim;
  Client c = make_client(opik_options(sim));
  json fallback = {{"model", "seeded"}, {"tools", json::array({"search"})}};
  Read created = config(c.get(), "empty-agent", nullptr, nullptr, fallback);
  ASSERT_EQ(created.status, FAILSOFT_OK) << created.error;
  EXPECT_FALSE(failsoft_value_is_fallback(created.value.get()));
  EXPECT_EQ(data_of(created.value.get()), fallback);
  json state = sim.control("GET", "/_sim/state");
  bool found = false;
  for (auto &p : state["opik"]["projects"]) found |= p["name"] == "empty-agent" && !p["blueprints"].empty();
  EXPECT_TRUE(found) << "the blueprint was created at the backend";
}

TEST(Configs, FallbackWhileTheBackendIsDown) {
  Simulator sim;
  sim.fault("*", "refused");
  Client c = make_client(opik_options(sim));
  json fallback = {{"model", "fallback-model"}};
  Read r = config(c.get(), nullptr, nullptr, nullptr, fallback);
  ASSERT_EQ(r.status, FAILSOFT_OK) << r.error;
  EXPECT_TRUE(failsoft_value_is_fallback(r.value.get()));
  EXPECT_EQ(data_of(r.value.get()), fallback);
  EXPECT_EQ(failsoft_value_error_code(r.value.get()), FAILSOFT_UNAVAILABLE);
}

}  // namespace
