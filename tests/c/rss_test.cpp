// 1,000,000 warm failsoft_get / failsoft_value_free must grow the resident set by < 1 MiB (and
// so must the same loop with a fallback and with the value's JSON). Built without sanitizers:
// ASan's quarantine would hold freed memory on purpose.
#include "warm_loop.hpp"

static long rss_bytes() {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages_total = 0, pages_resident = 0;
  if (!f || fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) abort();
  fclose(f);
  return pages_resident * sysconf(_SC_PAGESIZE);
}

int main() {
  WarmClient warm;
  const long kReads = 1000000;
  const long kLimit = 1 << 20;
  struct Variant {
    const char *name;
    const char *fallback;
    bool json;
  } variants[] = {
      {"get+free", nullptr, false},
      {"get(fallback)+free", R"({"prompt": "fallback {{movie}}"})", false},
      {"get+json+free", nullptr, true},
  };
  int failed = 0;
  for (const Variant &v : variants) {
    for (long i = 0; i < 100000; i++) warm.read_once(v.fallback, v.json);  // allocator warm-up
    long before = rss_bytes();
    for (long i = 0; i < kReads; i++) warm.read_once(v.fallback, v.json);
    long grown = rss_bytes() - before;
    bool ok = grown < kLimit;
    printf("rss: %-20s %ld reads, RSS grew by %ld bytes (limit %ld): %s\n", v.name, kReads, grown, kLimit,
           ok ? "ok" : "FAILED");
    failed += !ok;
  }
  return failed ? 1 : 0;
}
