/*
 * Smoke test of the C SDK tarball (tests/dist/run-tests.sh builds it with nothing but
 * `cc smoke.c $(pkg-config --cflags --libs failsoft)` against the unpacked tarball; no Rust).
 *
 *   ./smoke VERSION DEAD_URL SIM_URL
 *
 * DEAD_URL: nothing listens there (the backend is down). SIM_URL: failsoft-sim with its route
 * /t/primary refused, so an LLM call has to fall over to /t/fallback.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */

#include <failsoft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            const char *why = failsoft_last_error_message();                         \
            fprintf(stderr, "c smoke: %s:%d: %s failed (%s)\n", __FILE__, __LINE__, \
                    #cond, why ? why : "");                                          \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static failsoft_client *client(const char *base) {
    char options[1024];
    failsoft_client *c = NULL;
    snprintf(options, sizeof options,
             "{\"source\": {\"kind\": \"http\", \"url\": \"%s/{key}\"}, \"cold_deadline_seconds\": 2}", base);
    CHECK(failsoft_client_new(options, &c) == FAILSOFT_OK);
    return c;
}

int main(int argc, char **argv) {
    const char *fallback = "{\"text\":\"fallback\"}";
    char kv[512], options[2048];
    failsoft_value *v = NULL;
    struct timespec t0, t1;
    if (argc != 4) {
        fprintf(stderr, "usage: smoke VERSION DEAD_URL SIM_URL\n");
        return 2;
    }
    if (strcmp(failsoft_version(), argv[1]) != 0) {
        fprintf(stderr, "c smoke: the library is version %s, not %s\n", failsoft_version(), argv[1]);
        return 1;
    }

    /* A cold read with the backend down answers with the fallback, and says so. */
    failsoft_client *down = client(argv[2]);
    CHECK(failsoft_get(down, "greeting", fallback, &v) == FAILSOFT_OK);
    CHECK(failsoft_value_is_fallback(v));
    CHECK(strcmp(failsoft_value_source(v), "fallback") == 0);
    CHECK(strcmp(failsoft_value_json(v), fallback) == 0);
    failsoft_value_free(v);
    printf("c: cold read, backend down -> fallback (is_fallback=1)\n");

    /* The first read fetches; the next one is served from the cache. */
    snprintf(kv, sizeof kv, "%s/kv", argv[3]);
    failsoft_client *up = client(kv);
    CHECK(failsoft_get(up, "greeting", fallback, &v) == FAILSOFT_OK);
    CHECK(!failsoft_value_is_fallback(v));
    failsoft_value_free(v);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(failsoft_get(up, "greeting", fallback, &v) == FAILSOFT_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(!failsoft_value_is_fallback(v));
    CHECK(strcmp(failsoft_value_source(v), "fresh") == 0);
    CHECK(strcmp(failsoft_value_json(v), "{\"text\":\"hello\"}") == 0);
    printf("c: warm read -> %s in %.1f us\n", failsoft_value_json(v),
           (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    failsoft_value_free(v);

    /* An LLM call whose primary refuses is answered by the fallback. */
    failsoft_llm *llm = NULL;
    failsoft_chat_result *r = NULL;
    snprintf(options, sizeof options,
             "{\"targets\": [{\"base_url\": \"%s/t/primary/v1\", \"api_key\": \"sk-primary-smoke\", \"timeout_seconds\": 5},"
             " {\"base_url\": \"%s/t/fallback/v1\", \"model\": \"fallback-model\", \"api_key\": \"sk-fallback-smoke\"}]}",
             argv[3], argv[3]);
    CHECK(failsoft_llm_new(options, &llm) == FAILSOFT_OK);
    CHECK(failsoft_llm_chat(llm, "{\"model\": \"primary-model\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                            &r) == FAILSOFT_OK);
    CHECK(failsoft_chat_result_is_fallback(r));
    CHECK(failsoft_chat_result_served_by_index(r) == 1);
    CHECK(strstr(failsoft_chat_result_json(r), "Hello from the simulator [target=fallback]") != NULL);
    printf("c: LLM call fell over: served by target 1 (is_fallback=1)\n");
    failsoft_chat_result_free(r);
    failsoft_llm_free(llm);
    failsoft_client_free(down);
    failsoft_client_free(up);
    return 0;
}
