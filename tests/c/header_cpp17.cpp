// The header from C++17: compiled with -std=c++17 -Wall -Wextra -Werror -pedantic, linked and
// run. The enum is a real C++ enum with an int32_t underlying type; names are not mangled.
#include "failsoft.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>

static_assert(std::is_same_v<std::underlying_type_t<failsoft_status>, int32_t>, "failsoft_status is int32_t");
static_assert(sizeof(failsoft_status) == 4, "failsoft_status is 4 bytes");
static_assert(FAILSOFT_OK == 0, "FAILSOFT_OK is 0");

namespace {
struct ValueFree {
  void operator()(failsoft_value *v) const noexcept { failsoft_value_free(v); }
};
struct StringFree {
  void operator()(char *s) const noexcept { failsoft_string_free(s); }
};
}  // namespace

int main() {
  if (failsoft_abi_version() != FAILSOFT_ABI_VERSION) return 1;
  char *raw = nullptr;
  if (failsoft_compile_chat(R"([{"role": "user", "content": "{{q}}"}, {"type": "placeholder", "name": "h"}])",
                            R"({"q": "why?"})", R"({"h": []})", true, &raw) != FAILSOFT_OK)
    return 2;
  std::unique_ptr<char, StringFree> messages(raw);
  if (!std::strstr(messages.get(), R"("content":"why?")") || std::strstr(messages.get(), "placeholder")) {
    std::fprintf(stderr, "unexpected: %s\n", messages.get());
    return 3;
  }
  failsoft_client *client = nullptr;
  if (failsoft_client_new(R"({"source": {"kind": "http", "url": "http://127.0.0.1:9/{key}"},
                              "cold_deadline_seconds": 0.5})",
                          &client) != FAILSOFT_OK)
    return 4;
  failsoft_value *v = nullptr;
  // Port 9 (discard) refuses: the fallback is served at once.
  failsoft_status st = failsoft_get(client, "k", R"("fb")", &v);
  std::unique_ptr<failsoft_value, ValueFree> value(v);
  if (st != FAILSOFT_OK || !failsoft_value_is_fallback(value.get()) ||
      std::strcmp(failsoft_value_json(value.get()), R"("fb")") != 0)
    return 5;
  failsoft_client_free(client);
  std::puts("header_cpp17: ok");
  return 0;
}
