// Shared by rss_test.cpp and bench.cpp: a client over a JSON file (no network) with one key
// cached, so every failsoft_get in the loops is a warm read.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "failsoft.h"

struct WarmClient {
  std::string path;
  failsoft_client *client = nullptr;

  WarmClient() {
    char tmpl[] = "/tmp/failsoft-warm-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) abort();
    path = tmpl;
    FILE *f = fdopen(fd, "w");
    fputs(R"({"movie-critic": {"prompt": "Do you like {{movie}}?", "config": {"temperature": 0.7}}})", f);
    fclose(f);
    std::string options = R"({"source": {"kind": "file", "path": ")" + path + R"("}, "ttl_seconds": 3600})";
    if (failsoft_client_new(options.c_str(), &client) != FAILSOFT_OK) die("failsoft_client_new");
    failsoft_value *v = nullptr;
    if (failsoft_get(client, "movie-critic", nullptr, &v) != FAILSOFT_OK) die("first read");
    failsoft_value_free(v);
  }
  ~WarmClient() {
    failsoft_client_free(client);
    remove(path.c_str());
  }

  [[noreturn]] static void die(const char *what) {
    const char *m = failsoft_last_error_message();
    fprintf(stderr, "%s failed: %s\n", what, m ? m : "?");
    exit(2);
  }

  // One warm read and free; `fallback` and `json` select the variant measured.
  inline void read_once(const char *fallback, bool json) const {
    failsoft_value *v = nullptr;
    if (failsoft_get(client, "movie-critic", fallback, &v) != FAILSOFT_OK) die("warm read");
    if (json && failsoft_value_json(v) == nullptr) die("failsoft_value_json");
    failsoft_value_free(v);
  }
};

inline double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
