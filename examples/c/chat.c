/*
 * A chat completion that is always answered: the primary endpoint first, the fallback when the
 * primary refuses, fails, hangs past its timeout or has its circuit open.
 *
 *   cc examples/c/chat.c $(pkg-config --cflags --libs failsoft) -o chat
 *   OPENAI_API_KEY=opk-... FALLBACK_API_KEY=sk-... ./chat [--stream] \
 *       https://api.openpipe.ai/api/v1 openpipe:my-model https://api.openai.com/v1 gpt-4o-mini \
 *       "Count to 10"
 *
 * Prints the answer on stdout (chunk by chunk with --stream) and who served it on stderr.
 */
#include <failsoft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends `text` to `out` as a JSON string literal (quotes included); false when it does not fit. */
static bool json_string(char *out, size_t cap, const char *text) {
    size_t n = strlen(out);
    const unsigned char *p = (const unsigned char *)text;
    if (n + 1 >= cap) return false;
    out[n++] = '"';
    for (; *p; p++) {
        char esc[8] = {0};
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else {
            esc[0] = (char)*p;
        }
        if (n + strlen(esc) + 2 >= cap) return false;
        memcpy(out + n, esc, strlen(esc));
        n += strlen(esc);
    }
    out[n++] = '"';
    out[n] = '\0';
    return true;
}

/* Prints the first string value of `"field":` in `json`, unescaped. A real program would use its
 * JSON library; this keeps the example self-contained. */
static void print_field(const char *json, const char *field) {
    char key[64];
    const char *p;
    snprintf(key, sizeof key, "\"%s\":\"", field);
    p = strstr(json, key);
    if (!p) return;
    for (p += strlen(key); *p && *p != '"'; p++) {
        if (*p != '\\') {
            putchar(*p);
            continue;
        }
        switch (*++p) {
            case 'n': putchar('\n'); break;
            case 't': putchar('\t'); break;
            case 'u': {
                unsigned cp = (unsigned)strtoul((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
                if (cp < 0x80) {
                    putchar((int)cp);
                } else if (cp < 0x800) {
                    putchar((int)(0xC0 | (cp >> 6)));
                    putchar((int)(0x80 | (cp & 0x3F)));
                } else {
                    putchar((int)(0xE0 | (cp >> 12)));
                    putchar((int)(0x80 | ((cp >> 6) & 0x3F)));
                    putchar((int)(0x80 | (cp & 0x3F)));
                }
                break;
            }
            case '\0': return;
            default: putchar(*p); break; /* \" \\ \/ */
        }
    }
}

/* Called on this thread with each chunk as it arrives; returning false would stop the stream. */
static bool on_chunk(const char *chunk_json, void *user) {
    (void)user;
    print_field(chunk_json, "content");
    fflush(stdout);
    return true;
}

static int fail(const char *what, failsoft_status status) {
    const char *why = failsoft_last_error_message();
    const char *attempts = failsoft_llm_last_attempts_json();
    fflush(stdout);
    fprintf(stderr, "chat: %s failed: %s (%s)\n", what, failsoft_status_name(status), why ? why : "");
    if (attempts) fprintf(stderr, "chat: attempts: %s\n", attempts);
    return 1;
}

static void report(const failsoft_chat_result *r) {
    const char *model = failsoft_chat_result_served_by_model(r);
    fflush(stdout); /* the answer first */
    fprintf(stderr, "served by target %lld (%s at %s), is_fallback=%d\nattempts: %s\n",
            (long long)failsoft_chat_result_served_by_index(r), model ? model : "-",
            failsoft_chat_result_served_by_base_url(r), failsoft_chat_result_is_fallback(r),
            failsoft_chat_result_attempts_json(r));
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : "none";
}

int main(int argc, char **argv) {
    bool stream = argc > 1 && strcmp(argv[1], "--stream") == 0;
    char **a = argv + (stream ? 2 : 1);
    char options[4096] = "", request[4096] = "";
    failsoft_llm *llm = NULL;
    failsoft_chat_result *result = NULL;
    failsoft_status status;
    bool fits = true;

    if (argc - (a - argv) != 5) {
        fprintf(stderr, "usage: chat [--stream] PRIMARY_BASE_URL MODEL FALLBACK_BASE_URL FALLBACK_MODEL PROMPT\n");
        return 2;
    }
    /* Options JSON: the primary with a 10 s timeout, the fallback with its own model; one 30 s
     * deadline for the whole call. Keys come from the environment. */
    strcat(options, "{\"targets\": [{\"base_url\": ");
    fits &= json_string(options, sizeof options, a[0]);
    strcat(options, ", \"api_key\": ");
    fits &= json_string(options, sizeof options, env("OPENAI_API_KEY"));
    strcat(options, ", \"timeout_seconds\": 10}, {\"base_url\": ");
    fits &= json_string(options, sizeof options, a[2]);
    strcat(options, ", \"model\": ");
    fits &= json_string(options, sizeof options, a[3]);
    strcat(options, ", \"api_key\": ");
    fits &= json_string(options, sizeof options, env("FALLBACK_API_KEY"));
    strcat(options, "}], \"deadline_seconds\": 30, \"first_chunk_timeout_seconds\": 5}");
    strcat(request, "{\"model\": ");
    fits &= json_string(request, sizeof request, a[1]);
    strcat(request, ", \"messages\": [{\"role\": \"user\", \"content\": ");
    fits &= json_string(request, sizeof request, a[4]);
    strcat(request, "}]}");
    if (!fits) {
        fprintf(stderr, "chat: arguments too long\n");
        return 2;
    }

    /* No network here. The client (and its circuit breakers) is meant to live as long as the
     * program and be shared by every thread. */
    status = failsoft_llm_new(options, &llm);
    if (status != FAILSOFT_OK) return fail("failsoft_llm_new", status);

    if (stream) {
        /* Falls over only before the first chunk; a stream that breaks later is an error saying
         * it is incomplete, with its metadata still handed out. */
        status = failsoft_llm_chat_stream(llm, request, on_chunk, NULL, &result);
        putchar('\n');
    } else {
        status = failsoft_llm_chat(llm, request, &result);
        if (status == FAILSOFT_OK) {
            print_field(failsoft_chat_result_json(result), "content");
            putchar('\n');
        }
    }
    if (result) report(result);
    if (status != FAILSOFT_OK) fail(stream ? "failsoft_llm_chat_stream" : "failsoft_llm_chat", status);
    failsoft_chat_result_free(result);
    failsoft_llm_free(llm);
    return status == FAILSOFT_OK ? 0 : 1;
}
