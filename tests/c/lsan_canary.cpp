// Leaks one failsoft_value and one string on purpose: run-tests.sh expects LeakSanitizer to
// report them, proving that allocations made inside the Rust library are tracked (a clean ASan
// run of the suite means something only if this one is not clean).
#include <cstdio>

#include "failsoft.h"

int main() {
  char *text = nullptr;
  if (failsoft_compile("leaked {{x}}", R"({"x": "on purpose"})", false, &text) != FAILSOFT_OK) return 2;
  failsoft_client *client = nullptr;
  if (failsoft_client_new(R"({"source": {"kind": "http", "url": "http://127.0.0.1:9/{key}"}})", &client) != FAILSOFT_OK)
    return 2;
  failsoft_value *value = nullptr;
  if (failsoft_get(client, "k", R"("leaked fallback")", &value) != FAILSOFT_OK) return 2;
  failsoft_client_free(client);
  std::printf("lsan_canary: leaked %p and %p\n", static_cast<void *>(text), static_cast<void *>(value));
  text = nullptr;
  value = nullptr;
  return 0;
}
