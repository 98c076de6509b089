/*
 * stoa-check: checks that a history in JSON lines is linearizable (docs/checking.md).
 *
 *   stoa-check [--model register|counter|deque] [--json] [--memory-mb N] FILE
 *
 * Prints the verdict of every key and of the whole history, with the counts of operations
 * and keys and the time taken. Exit status: 0 linearizable, 1 not linearizable, 2 unknown
 * (search limit reached) or bad input. FILE "-" reads standard input.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check/check.h"
#include "check/history.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/number.h"

enum { EXIT_LINEARIZABLE = 0, EXIT_NOT_LINEARIZABLE = 1, EXIT_UNKNOWN_OR_BAD = 2 };

struct arguments {
    enum stoa_check_model model;
    bool json;
    uint64_t memory_bytes;
    const char *path;
};

static double now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

static int usage(void) {
    fprintf(stderr, "usage: stoa-check [--model register|counter|deque] [--json] "
                    "[--memory-mb N] FILE\n"
                    "  exit 0: linearizable, 1: not linearizable, 2: unknown or bad input\n");
    return EXIT_UNKNOWN_OR_BAD;
}

static int parse_arguments(int argc, char **argv, struct arguments *arguments) {
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(argument, "--json") == 0) {
            arguments->json = true;
        } else if (strcmp(argument, "--model") == 0 && has_value) {
            if (stoa_check_model_parse(argv[++i], &arguments->model) != 0) {
                fprintf(stderr, "stoa-check: unknown model \"%s\"\n", argv[i]);
                return STOA_ERR_INVALID;
            }
        } else if (strcmp(argument, "--memory-mb") == 0 && has_value) {
            int64_t megabytes = 0;
            const char *text = argv[++i];
            if (!stoa_number_parse_int64((const uint8_t *)text, strlen(text), &megabytes) ||
                megabytes <= 0 || megabytes > (INT64_C(1) << 30)) {
                fprintf(stderr, "stoa-check: --memory-mb takes a positive number\n");
                return STOA_ERR_INVALID;
            }
            arguments->memory_bytes = (uint64_t)megabytes * 1024 * 1024;
        } else if (argument[0] == '-' && argument[1] != 0) {
            return STOA_ERR_INVALID;
        } else if (arguments->path == NULL) {
            arguments->path = argument;
        } else {
            return STOA_ERR_INVALID;
        }
    }
    return arguments->path == NULL ? STOA_ERR_INVALID : 0;
}

static int read_all(const char *path, struct stoa_buf *text) {
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "stoa-check: %s: %s\n", path, strerror(errno));
        return STOA_ERR_IO;
    }
    int rc = 0;
    while (rc == 0) {
        rc = stoa_buf_reserve(text, 1 << 20);
        if (rc != 0) {
            break;
        }
        size_t count = fread(text->data + text->length, 1, text->capacity - text->length, file);
        text->length += count;
        if (count == 0) {
            rc = ferror(file) ? STOA_ERR_IO : 1;
        }
    }
    if (rc != 1) {
        fprintf(stderr, "stoa-check: %s: %s\n", path, stoa_err_message(rc));
    }
    if (file != stdin) {
        fclose(file);
    }
    return rc == 1 ? 0 : rc;
}

static void print_text(const struct stoa_check_history *history,
                       const struct stoa_check_result *result, double parse_ms, double check_ms) {
    struct stoa_buf explanation;
    stoa_buf_init(&explanation, SIZE_MAX / 2);
    for (uint32_t k = 0; k < result->key_count; k++) {
        const struct stoa_check_key_result *key = &result->keys[k];
        const struct stoa_check_key *name = &history->keys[key->key];
        if (name->has_name) {
            printf("key \"%.*s\": ", (int)name->name_length, name->name);
        } else {
            printf("(no key): ");
        }
        printf("%s (%u operations, %llu configurations)\n", stoa_check_verdict_name(key->verdict),
               key->op_count, (unsigned long long)key->cache_entries);
        if (key->verdict == STOA_CHECK_NOT_LINEARIZABLE) {
            stoa_buf_reset(&explanation);
            if (stoa_check_explain(history, key, &explanation) == 0) {
                fwrite(explanation.data, 1, explanation.length, stdout);
            }
        }
    }
    printf("overall: %s (model %s, %u operations, %u keys, parsed in %.1f ms, checked in "
           "%.1f ms)\n",
           stoa_check_verdict_name(result->verdict), stoa_check_model_name(history->model),
           result->op_count, result->key_count, parse_ms, check_ms);
    stoa_buf_free(&explanation);
}

static json_t *describe(const struct stoa_check_history *history, uint32_t op,
                        struct stoa_buf *scratch) {
    stoa_buf_reset(scratch);
    stoa_check_describe_op(history, op, scratch);
    return json_pack("{s:i, s:I, s:s%}", "line", (json_int_t)history->ops[op].invoke_line,
                     "process", (json_int_t)history->ops[op].process, "operation",
                     (const char *)scratch->data, scratch->length);
}

static json_t *explanation_json(const struct stoa_check_history *history,
                                const struct stoa_check_key_result *key) {
    const struct stoa_check_explanation *explanation = &key->explanation;
    struct stoa_buf scratch;
    stoa_buf_init(&scratch, SIZE_MAX / 2);
    json_t *last = json_array();
    json_t *pending = json_array();
    for (uint32_t i = 0; i < explanation->last_count; i++) {
        json_array_append_new(last, describe(history, explanation->last[i], &scratch));
    }
    for (uint32_t i = 1; i < explanation->candidate_count; i++) {
        json_array_append_new(pending, describe(history, explanation->candidates[i], &scratch));
    }
    json_t *blocked = describe(history, explanation->blocked, &scratch);
    stoa_buf_free(&scratch);
    return json_pack("{s:i, s:o, s:s, s:o, s:o}", "ordered",
                     (json_int_t)explanation->linearized_count, "last", last, "state",
                     explanation->state_text, "blocked", blocked, "pending", pending);
}

static void print_json(const struct stoa_check_history *history,
                       const struct stoa_check_result *result, double parse_ms, double check_ms) {
    json_t *keys = json_array();
    for (uint32_t k = 0; k < result->key_count; k++) {
        const struct stoa_check_key_result *key = &result->keys[k];
        const struct stoa_check_key *name = &history->keys[key->key];
        json_t *item =
            json_pack("{s:s%, s:s, s:i, s:i, s:I}", "key", name->name, name->name_length, "verdict",
                      stoa_check_verdict_name(key->verdict), "operations",
                      (json_int_t)key->op_count, "searched", (json_int_t)key->searched_count,
                      "configurations", (json_int_t)key->cache_entries);
        if (!name->has_name) {
            json_object_set_new(item, "key", json_null());
        }
        if (key->verdict == STOA_CHECK_NOT_LINEARIZABLE) {
            json_object_set_new(item, "explanation", explanation_json(history, key));
        }
        json_array_append_new(keys, item);
    }
    json_t *document = json_pack(
        "{s:s, s:s, s:i, s:i, s:f, s:f, s:o}", "verdict", stoa_check_verdict_name(result->verdict),
        "model", stoa_check_model_name(history->model), "operations", (json_int_t)result->op_count,
        "keys", (json_int_t)result->key_count, "parse_ms", parse_ms, "check_ms", check_ms,
        "results", keys);
    json_dumpf(document, stdout, JSON_INDENT(1));
    printf("\n");
    json_decref(document);
}

static void print_bad_input(const struct arguments *arguments, const char *message) {
    if (arguments->json) {
        json_t *document = json_pack("{s:s, s:s}", "verdict", "bad input", "error", message);
        json_dumpf(document, stdout, JSON_INDENT(1));
        printf("\n");
        json_decref(document);
    }
    fprintf(stderr, "stoa-check: %s: %s\n", arguments->path, message);
}

static int check_text(const struct arguments *arguments, const struct stoa_buf *text) {
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    double start = now_ms();
    int rc = stoa_check_history_parse((const char *)text->data, text->length, arguments->model,
                                      &history, &error);
    if (rc != 0) {
        print_bad_input(arguments, error.message);
        return EXIT_UNKNOWN_OR_BAD;
    }
    double parsed = now_ms();
    struct stoa_check_options options = {.search_bytes_max = arguments->memory_bytes};
    struct stoa_check_result result;
    rc = stoa_check_run(&history, &options, &result);
    double checked = now_ms();
    if (rc != 0) {
        print_bad_input(arguments, stoa_err_message(rc));
        stoa_check_history_free(&history);
        return EXIT_UNKNOWN_OR_BAD;
    }
    if (arguments->json) {
        print_json(&history, &result, parsed - start, checked - parsed);
    } else {
        print_text(&history, &result, parsed - start, checked - parsed);
    }
    enum stoa_check_verdict verdict = result.verdict;
    stoa_check_result_free(&result);
    stoa_check_history_free(&history);
    return verdict == STOA_CHECK_LINEARIZABLE       ? EXIT_LINEARIZABLE
           : verdict == STOA_CHECK_NOT_LINEARIZABLE ? EXIT_NOT_LINEARIZABLE
                                                    : EXIT_UNKNOWN_OR_BAD;
}

int main(int argc, char **argv) {
    struct arguments arguments = {.model = STOA_CHECK_MODEL_AUTO};
    if (parse_arguments(argc, argv, &arguments) != 0) {
        return usage();
    }
    struct stoa_buf text;
    stoa_buf_init(&text, SIZE_MAX / 2);
    int status = EXIT_UNKNOWN_OR_BAD;
    if (read_all(arguments.path, &text) == 0) {
        status = check_text(&arguments, &text);
    }
    stoa_buf_free(&text);
    return status;
}
