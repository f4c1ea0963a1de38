/*
 * A C agent that keeps working when Langfuse does not: it reads its prompt through failsoft
 * with a hardcoded fallback, compiles it with the request's variables, and reports where the
 * prompt came from.
 *
 *   cc examples/c/agent.c $(pkg-config --cflags --libs failsoft) -o agent
 *   LANGFUSE_BASE_URL=https://cloud.langfuse.com LANGFUSE_PUBLIC_KEY=pk-lf-... \
 *   LANGFUSE_SECRET_KEY=sk-lf-... FAILSOFT_SNAPSHOT_DIR=/var/lib/agent ./agent Dune
 *
 * With Langfuse unreachable it prints the fallback prompt (or, after one good run with
 * FAILSOFT_SNAPSHOT_DIR set, the last prompt it fetched) instead of failing.
 */
#include <failsoft.h>

#include <stdio.h>
#include <stdlib.h>

/* Hot reload: called on a library thread when a newer prompt version is fetched. */
static void prompt_changed(const char *key, int64_t old_version, int64_t new_version, void *user) {
    (void)user;
    fprintf(stderr, "agent: %s changed from version %lld to %lld\n", key, (long long)old_version,
            (long long)new_version);
}

static int fail(const char *what, failsoft_status status) {
    const char *why = failsoft_last_error_message();
    fprintf(stderr, "agent: %s failed: %s (%s)\n", what, failsoft_status_name(status), why ? why : "");
    return 1;
}

int main(int argc, char **argv) {
    const char *movie = argc > 1 ? argv[1] : "Dune";
    failsoft_client *client = NULL;
    failsoft_value *prompt = NULL;
    failsoft_status status;
    char variables[256];
    char *text = NULL;
    int64_t version = 0;

    if (failsoft_abi_version() != FAILSOFT_ABI_VERSION) {
        fprintf(stderr, "agent: built for failsoft ABI %d, running with %u\n", FAILSOFT_ABI_VERSION,
                failsoft_abi_version());
        return 1;
    }
    /* Langfuse settings come from LANGFUSE_* variables; the TTL and snapshot directory may too
     * (FAILSOFT_TTL_SECONDS, FAILSOFT_SNAPSHOT_DIR). No network here: that starts on the first read. */
    status = failsoft_client_new("{\"source\": {\"kind\": \"langfuse\"}, \"cold_deadline_seconds\": 2}", &client);
    if (status != FAILSOFT_OK) return fail("failsoft_client_new", status);
    failsoft_client_on_change(client, prompt_changed, NULL, NULL);

    /* Never fails for want of a backend: fresh, stale, snapshot, else this fallback. */
    status = failsoft_get_prompt(client, "movie-critic", NULL, 0,
                                 "\"Do you like {{movie}}? Answer in one sentence.\"", &prompt);
    if (status != FAILSOFT_OK) {
        failsoft_client_free(client);
        return fail("failsoft_get_prompt", status);
    }
    snprintf(variables, sizeof variables, "{\"movie\": \"%s\"}", movie); /* JSON-escape real input */
    status = failsoft_prompt_compile(prompt, variables, false, &text);
    if (status == FAILSOFT_OK) {
        printf("prompt: %s\n", text);
        failsoft_string_free(text);
    }
    printf("source: %s", failsoft_value_source(prompt));
    if (failsoft_value_version(prompt, &version)) printf(", version %lld", (long long)version);
    if (failsoft_value_error_message(prompt)) printf(" (because %s)", failsoft_value_error_message(prompt));
    printf("\n");

    failsoft_value_free(prompt);
    failsoft_client_free(client);
    return status == FAILSOFT_OK ? 0 : fail("failsoft_prompt_compile", status);
}
