/* The header in plain C11: compiled with -std=c11 -Wall -Wextra -Werror -pedantic, linked and
 * run (a file-source client; no network). Exits non-zero on the first surprise. */
#include "failsoft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            const char *why = failsoft_last_error_message();               \
            fprintf(stderr, "%s:%d: %s failed (%s)\n", __FILE__, __LINE__, \
                    #cond, why ? why : "no error");                        \
            return 1;                                                      \
        }                                                                  \
    } while (0)

static bool on_chunk(const char *chunk_json, void *user) {
    (void)chunk_json;
    (void)user;
    return true;
}

static void on_change(const char *key, int64_t old_version, int64_t new_version, void *user) {
    (void)key;
    (void)old_version;
    (void)new_version;
    (void)user;
}

int main(void) {
    char path[] = "/tmp/failsoft-c11-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    char options[256];
    failsoft_client *client = NULL;
    failsoft_value *value = NULL;
    char *text = NULL;
    int64_t version = 0;
    uint64_t listener = 0;
    failsoft_status status;
    failsoft_change_callback cb = on_change;
    failsoft_chunk_callback chunk_cb = on_chunk;
    failsoft_llm *llm = NULL;
    failsoft_chat_result *result = NULL;

    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    CHECK(f != NULL);
    fputs("{\"greeting\": {\"text\": \"hello\"}}", f);
    fclose(f);

    CHECK(failsoft_abi_version() == FAILSOFT_ABI_VERSION);
    CHECK(strlen(failsoft_version()) > 0);
    snprintf(options, sizeof options, "{\"source\": {\"kind\": \"file\", \"path\": \"%s\"}}", path);
    CHECK(failsoft_client_new(options, &client) == FAILSOFT_OK);
    CHECK(failsoft_client_on_change(client, cb, NULL, &listener) == FAILSOFT_OK);

    status = failsoft_get(client, "greeting", "{\"text\": \"fallback\"}", &value);
    CHECK(status == FAILSOFT_OK);
    CHECK(strcmp(failsoft_value_json(value), "{\"text\":\"hello\"}") == 0);
    CHECK(strcmp(failsoft_value_source(value), "fresh") == 0);
    CHECK(!failsoft_value_is_fallback(value));
    CHECK(!failsoft_value_version(value, &version) && version == FAILSOFT_NO_VERSION);
    CHECK(failsoft_value_error_code(value) == FAILSOFT_OK);
    failsoft_value_free(value);

    CHECK(failsoft_get(client, NULL, NULL, &value) == FAILSOFT_INVALID_ARGUMENT && value == NULL);
    CHECK(failsoft_last_error_message() != NULL);

    CHECK(failsoft_compile("Hi {{ who }}", "{\"who\": \"C\"}", true, &text) == FAILSOFT_OK);
    CHECK(strcmp(text, "Hi C") == 0);
    failsoft_string_free(text);

    CHECK(failsoft_client_status_json(client, &text) == FAILSOFT_OK);
    CHECK(strstr(text, "\"state\":\"ready\"") != NULL);
    failsoft_string_free(text);

    /* The LLM client: no network until a call; a request that is not an object is refused
     * before any attempt. */
    CHECK(failsoft_llm_new("{\"targets\": [{\"base_url\": \"http://127.0.0.1:9/v1\"}]}", &llm) == FAILSOFT_OK);
    CHECK(failsoft_llm_chat(llm, "[1]", &result) == FAILSOFT_INVALID_ARGUMENT && result == NULL);
    CHECK(strcmp(failsoft_llm_last_attempts_json(), "[]") == 0);
    CHECK(failsoft_llm_chat_stream(llm, "[1]", chunk_cb, NULL, &result) == FAILSOFT_INVALID_ARGUMENT);
    CHECK(result == NULL && failsoft_chat_result_served_by_index(result) == -1);
    CHECK(failsoft_llm_circuit_states_json(llm, &text) == FAILSOFT_OK);
    CHECK(strcmp(text, "[\"closed\"]") == 0);
    failsoft_string_free(text);
    failsoft_chat_result_free(result);
    failsoft_llm_free(llm);

    CHECK(failsoft_client_remove_listener(client, listener) == FAILSOFT_OK);
    CHECK(failsoft_client_close(client) == FAILSOFT_OK);
    failsoft_client_free(client);
    remove(path);
    puts("header_c11: ok");
    return 0;
}
