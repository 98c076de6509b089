/*
 * stoa-check-gen: writes a random history as JSON lines to standard output (gen.h), for
 * stoa-check's figures and for trying the checker by hand.
 *
 *   stoa-check-gen --model register|counter|deque [--seed N] [--ops N] [--keys N]
 *                  [--processes N] [--info PER_MILLE] [--fail PER_MILLE] [--plant KIND]
 *
 * KIND: stale-read, lost-write, duplicate-incr, phantom-pop, future-read. Prints the counts
 * (and the plant's key) on standard error.
 */
#include <stdio.h>
#include <string.h>

#include "check/gen.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/number.h"

static int usage(void) {
    fprintf(stderr, "usage: stoa-check-gen --model register|counter|deque [--seed N] [--ops N] "
                    "[--keys N] [--processes N] [--info PER_MILLE] [--fail PER_MILLE] "
                    "[--plant stale-read|lost-write|duplicate-incr|phantom-pop|future-read]\n");
    return 2;
}

static bool parse_number(const char *text, uint64_t max, uint64_t *value) {
    int64_t number = 0;
    if (!stoa_number_parse_int64((const uint8_t *)text, strlen(text), &number) || number < 0 ||
        (uint64_t)number > max) {
        fprintf(stderr, "stoa-check-gen: bad number \"%s\"\n", text);
        return false;
    }
    *value = (uint64_t)number;
    return true;
}

static bool parse_option(struct stoa_check_gen_options *options, const char *name,
                         const char *text) {
    uint64_t number = 0;
    if (strcmp(name, "--model") == 0) {
        return stoa_check_model_parse(text, &options->model) == 0 &&
               options->model != STOA_CHECK_MODEL_AUTO;
    }
    if (strcmp(name, "--plant") == 0) {
        return stoa_check_plant_parse(text, &options->plant) == 0;
    }
    if (strcmp(name, "--seed") == 0) {
        return parse_number(text, INT64_MAX, &options->seed);
    }
    if (!parse_number(text, UINT32_MAX, &number)) {
        return false;
    }
    uint32_t *fields[] = {&options->op_count, &options->key_count, &options->process_count,
                          &options->info_per_mille, &options->fail_per_mille};
    const char *names[] = {"--ops", "--keys", "--processes", "--info", "--fail"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *fields[i] = (uint32_t)number;
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv) {
    struct stoa_check_gen_options options = {
        .seed = 1,
        .op_count = 1000,
        .key_count = 10,
        .process_count = 10,
        .info_per_mille = 20,
        .fail_per_mille = 20,
    };
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || !parse_option(&options, argv[i], argv[i + 1])) {
            return usage();
        }
    }
    struct stoa_buf out;
    stoa_buf_init(&out, SIZE_MAX / 2);
    struct stoa_check_gen_report report;
    int rc = stoa_check_gen(&options, &out, &report);
    if (rc != 0) {
        fprintf(stderr, "stoa-check-gen: %s\n",
                rc == STOA_ERR_INVALID ? "bad options (does the model have that plant?)"
                                       : stoa_err_message(rc));
        stoa_buf_free(&out);
        return rc == STOA_ERR_INVALID ? usage() : 2;
    }
    fwrite(out.data, 1, out.length, stdout);
    fprintf(stderr, "stoa-check-gen: %u operations (%u info, %u fail), %u events%s%s\n",
            report.op_count, report.info_count, report.fail_count, report.event_count,
            report.plant_key[0] != 0 ? ", violation planted on key " : "", report.plant_key);
    stoa_buf_free(&out);
    return 0;
}
