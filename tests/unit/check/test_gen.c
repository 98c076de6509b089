/* Shows that the checker accepts the generator's clean histories and rejects every planted
 * violation (stale read, lost write, duplicated incr, phantom pop, future read) on the key
 * where it was planted, over many seeds and all three models; and that the generator is
 * deterministic. A checker that cannot fail is worthless. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "check/gen.h"
#include "check/history.h"
#include "util/buf.h"
#include "util/err.h"

enum { SEEDS = 25 };

static const enum stoa_check_model models[] = {STOA_CHECK_MODEL_REGISTER, STOA_CHECK_MODEL_COUNTER,
                                               STOA_CHECK_MODEL_DEQUE};

static struct stoa_check_gen_options options_for(enum stoa_check_model model, uint64_t seed,
                                                 enum stoa_check_plant plant) {
    /* Seeds vary the shape too: 1 to 4 keys, 2 to 9 processes, up to 6% info. */
    return (struct stoa_check_gen_options){
        .model = model,
        .seed = seed,
        .op_count = 300,
        .key_count = 1 + (uint32_t)(seed % 4),
        .process_count = 2 + (uint32_t)(seed % 8),
        .info_per_mille = (uint32_t)(seed * 7 % 60),
        .fail_per_mille = 20,
        .plant = plant,
    };
}

/* Generates and checks one history; returns the verdict and, when one key is not
 * linearizable, its name in bad_key. */
static enum stoa_check_verdict generate_and_check(const struct stoa_check_gen_options *options,
                                                  struct stoa_check_gen_report *report,
                                                  char bad_key[32], uint32_t *bad_key_count) {
    struct stoa_buf text;
    stoa_buf_init(&text, 1 << 26);
    assert_int_equal(stoa_check_gen(options, &text, report), 0);
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    int rc = stoa_check_history_parse((const char *)text.data, text.length, options->model,
                                      &history, &error);
    if (rc != 0) {
        fail_msg("seed %llu: %s", (unsigned long long)options->seed, error.message);
    }
    struct stoa_check_result result;
    assert_int_equal(stoa_check_run(&history, NULL, &result), 0);
    *bad_key_count = 0;
    for (uint32_t k = 0; k < result.key_count; k++) {
        if (result.keys[k].verdict == STOA_CHECK_NOT_LINEARIZABLE) {
            snprintf(bad_key, 32, "%s", history.keys[result.keys[k].key].name);
            (*bad_key_count)++;
        }
    }
    enum stoa_check_verdict verdict = result.verdict;
    stoa_check_result_free(&result);
    stoa_check_history_free(&history);
    stoa_buf_free(&text);
    return verdict;
}

/* Clean histories of every model are linearizable, info and fail operations included. */
static void test_clean_histories_pass(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            struct stoa_check_gen_options options =
                options_for(models[m], seed, STOA_CHECK_PLANT_NONE);
            struct stoa_check_gen_report report;
            char bad_key[32] = "";
            uint32_t bad_count = 0;
            enum stoa_check_verdict verdict =
                generate_and_check(&options, &report, bad_key, &bad_count);
            if (verdict != STOA_CHECK_LINEARIZABLE) {
                fail_msg("%s seed %llu: %s (key %s)", stoa_check_model_name(models[m]),
                         (unsigned long long)seed, stoa_check_verdict_name(verdict), bad_key);
            }
            assert_int_equal(report.op_count, options.op_count);
        }
    }
}

/* Every planted violation is caught, on its key and no other. */
static void test_planted_violations_fail(void **state) {
    (void)state;
    uint32_t pairs = 0;
    for (size_t m = 0; m < 3; m++) {
        for (int p = STOA_CHECK_PLANT_NONE + 1; p < STOA_CHECK_PLANT_COUNT; p++) {
            enum stoa_check_plant plant = (enum stoa_check_plant)p;
            if (!stoa_check_gen_plant_fits(models[m], plant)) {
                continue;
            }
            pairs++;
            for (uint64_t seed = 1; seed <= SEEDS; seed++) {
                struct stoa_check_gen_options options = options_for(models[m], seed, plant);
                struct stoa_check_gen_report report;
                char bad_key[32] = "";
                uint32_t bad_count = 0;
                enum stoa_check_verdict verdict =
                    generate_and_check(&options, &report, bad_key, &bad_count);
                if (verdict != STOA_CHECK_NOT_LINEARIZABLE || bad_count != 1 ||
                    strcmp(bad_key, report.plant_key) != 0) {
                    fail_msg("%s %s seed %llu: %s, %u bad keys (%s), planted on %s",
                             stoa_check_model_name(models[m]), stoa_check_plant_name(plant),
                             (unsigned long long)seed, stoa_check_verdict_name(verdict), bad_count,
                             bad_key, report.plant_key);
                }
            }
        }
    }
    assert_int_equal(pairs, 9); /* three plants per model */
}

/* The same options give the same bytes; another seed gives others. */
static void test_deterministic(void **state) {
    (void)state;
    struct stoa_buf a;
    struct stoa_buf b;
    stoa_buf_init(&a, 1 << 24);
    stoa_buf_init(&b, 1 << 24);
    struct stoa_check_gen_report report;
    struct stoa_check_gen_options options =
        options_for(STOA_CHECK_MODEL_DEQUE, 7, STOA_CHECK_PLANT_FUTURE_READ);
    assert_int_equal(stoa_check_gen(&options, &a, &report), 0);
    assert_int_equal(stoa_check_gen(&options, &b, &report), 0);
    assert_int_equal(a.length, b.length);
    assert_memory_equal(a.data, b.data, a.length);
    stoa_buf_reset(&b);
    options.seed = 8;
    assert_int_equal(stoa_check_gen(&options, &b, &report), 0);
    assert_true(a.length != b.length || memcmp(a.data, b.data, a.length) != 0);
    stoa_buf_free(&a);
    stoa_buf_free(&b);
}

/* A plant the model does not have, and impossible shapes, are refused. */
static void test_bad_options(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 1 << 20);
    struct stoa_check_gen_report report;
    struct stoa_check_gen_options options =
        options_for(STOA_CHECK_MODEL_REGISTER, 1, STOA_CHECK_PLANT_PHANTOM_POP);
    assert_int_equal(stoa_check_gen(&options, &out, &report), STOA_ERR_INVALID);
    options = options_for(STOA_CHECK_MODEL_COUNTER, 1, STOA_CHECK_PLANT_NONE);
    options.process_count = 0;
    assert_int_equal(stoa_check_gen(&options, &out, &report), STOA_ERR_INVALID);
    options = options_for(STOA_CHECK_MODEL_COUNTER, 1, STOA_CHECK_PLANT_NONE);
    options.info_per_mille = 990;
    assert_int_equal(stoa_check_gen(&options, &out, &report), STOA_ERR_INVALID);
    assert_int_equal(out.length, 0);
    stoa_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_histories_pass),
        cmocka_unit_test(test_planted_violations_fail),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
