/* Shows that stoa_replica_entry_describe words each kind of log entry as GROUP LOG shows it
 * (a batch of commands with a few named and keys cut and escaped, a member's address, a
 * membership change, a no-op), words undecodable values as malformed, cuts to the caller's
 * capacity, and never reads past a value of random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cluster/batch.h"
#include "engine/apply.h"
#include "engine/command.h"
#include "server/replica.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/prng.h"

#define ARGUMENTS_MAX 128

struct built {
    struct stoa_buf body;
    uint32_t count;
};

static void built_init(struct built *built) {
    stoa_buf_init(&built->body, 1 << 20);
    built->count = 0;
}

/* Appends a command of opcode whose arguments are the words (NUL-terminated texts). */
static void add(struct built *built, uint32_t opcode, size_t count, const char *const *words) {
    struct stoa_command_argument arguments[ARGUMENTS_MAX];
    assert_true(count <= ARGUMENTS_MAX);
    for (size_t i = 0; i < count; i++) {
        arguments[i] = (struct stoa_command_argument){(const uint8_t *)words[i], strlen(words[i])};
    }
    struct stoa_command command = {
        .opcode = opcode,
        .stamp_ms = 1000,
        .argument_count = count,
        .arguments = arguments,
    };
    assert_int_equal(stoa_batch_command_append(&built->body, &command), STOA_OK);
    built->count++;
}

/* The batch's value (proposer 2), described. */
static void expect_batch(struct built *built, const char *expected) {
    struct stoa_buf value;
    stoa_buf_init(&value, 1 << 20);
    struct stoa_batch_header header = {
        .proposer_id = 2, .proposal_number = 5, .count = built->count};
    assert_int_equal(stoa_batch_encode(&value, &header, built->body.data, built->body.length),
                     STOA_OK);
    struct stoa_paxos_entry entry = {
        .slot = 1,
        .kind = STOA_PAXOS_KIND_NORMAL,
        .length = (uint32_t)value.length,
        .value = value.data,
    };
    char text[STOA_GROUP_LOG_TEXT_BYTES];
    size_t length = stoa_replica_entry_describe(&entry, text, sizeof(text));
    assert_string_equal(text, expected);
    assert_int_equal(length, strlen(expected));
    stoa_buf_free(&value);
    stoa_buf_free(&built->body);
}

static void expect_text(uint8_t kind, const uint8_t *value, size_t length, const char *expected) {
    struct stoa_paxos_entry entry = {.kind = kind, .length = (uint32_t)length, .value = value};
    char text[STOA_GROUP_LOG_TEXT_BYTES];
    stoa_replica_entry_describe(&entry, text, sizeof(text));
    assert_string_equal(text, expected);
}

/* One command: its count, the proposer, its name and key. */
static void test_one_command(void **state) {
    (void)state;
    struct built built;
    built_init(&built);
    add(&built, STOA_OP_SET, 4, (const char *const[]){"k1", "v", "\x00", "12345678"});
    expect_batch(&built, "1 command from proposer 2: SET k1");
}

/* Several commands: the first few named with their first key (and how many more keys), the
 * rest as "...". */
static void test_many_commands(void **state) {
    (void)state;
    struct built built;
    built_init(&built);
    add(&built, STOA_OP_INCRBY, 2, (const char *const[]){"c", "12345678"});
    add(&built, STOA_OP_DEL, 3, (const char *const[]){"a", "b", "c"});
    add(&built, STOA_OP_MSET, 4, (const char *const[]){"x", "1", "y", "2"});
    add(&built, STOA_OP_FLUSHALL, 0, NULL);
    add(&built, STOA_OP_SET, 2, (const char *const[]){"never", "named"});
    expect_batch(&built, "5 commands from proposer 2: INCRBY c, DEL a (+2 keys), "
                         "MSET x (+1 key), FLUSHALL, ...");
}

/* Keys are cut to STOA_GROUP_LOG_KEY_BYTES_MAX bytes with "...", and bytes outside printable
 * ASCII (and the backslash) are escaped; an opcode without a name shows its number. */
static void test_keys_cut_and_escaped(void **state) {
    (void)state;
    char long_key[STOA_GROUP_LOG_KEY_BYTES_MAX + 9];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    struct built built;
    built_init(&built);
    add(&built, STOA_OP_GETDEL, 1, (const char *const[]){long_key});
    add(&built, STOA_OP_APPEND, 2, (const char *const[]){"a\nb\\c\x7f", "x"});
    add(&built, 99, 1, (const char *const[]){"q"});
    char expected[256];
    snprintf(expected, sizeof(expected),
             "3 commands from proposer 2: GETDEL %.*s..., APPEND a\\x0ab\\x5cc\\x7f, op 99 q",
             STOA_GROUP_LOG_KEY_BYTES_MAX, long_key);
    expect_batch(&built, expected);
}

/* A command with more arguments than are decoded on the stack is decoded on the heap, which
 * is freed; when that allocation fails the description says so and nothing leaks. */
static void test_large_command(void **state) {
    (void)state;
    static char keys[100][8];
    const char *words[100];
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        words[i] = keys[i];
    }
    struct built built;
    built_init(&built);
    add(&built, STOA_OP_DEL, 100, words);
    expect_batch(&built, "1 command from proposer 2: DEL k0 (+99 keys)");

    built_init(&built);
    add(&built, STOA_OP_DEL, 100, words);
    struct stoa_buf value;
    stoa_buf_init(&value, 1 << 20);
    struct stoa_batch_header header = {.proposer_id = 2, .proposal_number = 5, .count = 1};
    assert_int_equal(stoa_batch_encode(&value, &header, built.body.data, built.body.length),
                     STOA_OK);
    stoa_alloc_fail_nth(1);
    expect_text(STOA_PAXOS_KIND_NORMAL, value.data, value.length,
                "1 command from proposer 2: (a command: out of memory to describe it)");
    stoa_alloc_fail_nth(0);
    stoa_buf_free(&value);
    stoa_buf_free(&built.body);
}

/* A member's address, membership changes and no-ops. */
static void test_member_config_noop(void **state) {
    (void)state;
    struct stoa_buf value;
    stoa_buf_init(&value, 1024);
    assert_int_equal(stoa_batch_member_encode(&value, 4, "127.0.0.1:7390", 14), STOA_OK);
    expect_text(STOA_PAXOS_KIND_NORMAL, value.data, value.length,
                "address of member 4: 127.0.0.1:7390");
    stoa_buf_free(&value);

    uint8_t change[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(STOA_PAXOS_CONFIG_ADD, 4, change);
    expect_text(STOA_PAXOS_KIND_CONFIG, change, sizeof(change), "add member 4");
    stoa_paxos_config_change_encode(STOA_PAXOS_CONFIG_REMOVE, 70000, change);
    expect_text(STOA_PAXOS_KIND_CONFIG, change, sizeof(change), "remove member 70000");
    expect_text(STOA_PAXOS_KIND_NOOP, NULL, 0, "no-op");
}

/* Values that do not decode are named malformed, with their size. */
static void test_malformed(void **state) {
    (void)state;
    static const uint8_t garbage[] = {1, 0xff, 0xff, 0xff};
    expect_text(STOA_PAXOS_KIND_NORMAL, garbage, sizeof(garbage), "malformed batch (4 bytes)");
    static const uint8_t unknown_format[] = {9, 1, 1, 1};
    expect_text(STOA_PAXOS_KIND_NORMAL, unknown_format, sizeof(unknown_format),
                "malformed batch (4 bytes)");
    static const uint8_t member[] = {2, 4, 0, 0, 0, 9, 'x'};
    expect_text(STOA_PAXOS_KIND_NORMAL, member, sizeof(member),
                "malformed member address (7 bytes)");
    expect_text(STOA_PAXOS_KIND_CONFIG, garbage, sizeof(garbage),
                "malformed config change (4 bytes)");
    expect_text(STOA_PAXOS_KIND_CONFIG, NULL, 0, "malformed config change (0 bytes)");
    expect_text(STOA_PAXOS_KIND_NORMAL, NULL, 0, "empty value");
    expect_text(7, garbage, sizeof(garbage), "unknown kind 7 (4 bytes)");

    /* A well-framed batch whose record is not a command. */
    struct stoa_buf value;
    stoa_buf_init(&value, 1024);
    static const uint8_t body[] = {3, 0xff, 0xff, 0xff};
    struct stoa_batch_header header = {.proposer_id = 2, .proposal_number = 5, .count = 1};
    assert_int_equal(stoa_batch_encode(&value, &header, body, sizeof(body)), STOA_OK);
    expect_text(STOA_PAXOS_KIND_NORMAL, value.data, value.length,
                "1 command from proposer 2: (malformed command, 3 bytes)");
    stoa_buf_free(&value);
}

/* A small capacity cuts the text (a prefix of the full one, terminated). */
static void test_cut_to_capacity(void **state) {
    (void)state;
    struct stoa_buf value;
    stoa_buf_init(&value, 1024);
    assert_int_equal(stoa_batch_member_encode(&value, 4, "127.0.0.1:7390", 14), STOA_OK);
    struct stoa_paxos_entry entry = {
        .kind = STOA_PAXOS_KIND_NORMAL, .length = (uint32_t)value.length, .value = value.data};
    char text[12];
    memset(text, '#', sizeof(text));
    size_t length = stoa_replica_entry_describe(&entry, text, 10);
    assert_int_equal(length, 9);
    assert_string_equal(text, "address o");
    assert_int_equal(text[10], '#');
    assert_int_equal(stoa_replica_entry_describe(&entry, text, 1), 0);
    assert_string_equal(text, "");
    stoa_buf_free(&value);
}

/* Random values of every kind, and random damage to a good batch, describe without reading
 * past the value (ASan watches) and within the capacity. */
static void test_random_bytes(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 42);
    struct built built;
    built_init(&built);
    add(&built, STOA_OP_SET, 2, (const char *const[]){"key", "value"});
    add(&built, STOA_OP_MSET, 4, (const char *const[]){"x", "1", "y", "2"});
    struct stoa_buf good;
    stoa_buf_init(&good, 1024);
    struct stoa_batch_header header = {.proposer_id = 2, .proposal_number = 5, .count = 2};
    assert_int_equal(stoa_batch_encode(&good, &header, built.body.data, built.body.length),
                     STOA_OK);
    for (int round = 0; round < 20000; round++) {
        size_t length = (size_t)stoa_prng_below(&prng, 64);
        uint8_t *value = stoa_alloc(length + 1); /* exactly length bytes are read */
        assert_non_null(value);
        if (round % 2 == 0 && length <= good.length) {
            length = good.length - (size_t)stoa_prng_below(&prng, 4);
            stoa_free(value);
            value = stoa_alloc(length + 1);
            assert_non_null(value);
            memcpy(value, good.data, length);
            value[stoa_prng_below(&prng, length)] = (uint8_t)stoa_prng_next_u64(&prng);
        } else {
            stoa_prng_fill(&prng, value, length);
            value[0] = (uint8_t)(1 + stoa_prng_below(&prng, 2));
        }
        struct stoa_paxos_entry entry = {
            .kind = (uint8_t)(1 + stoa_prng_below(&prng, 3)),
            .length = (uint32_t)length,
            .value = value,
        };
        char text[64];
        size_t written = stoa_replica_entry_describe(&entry, text, sizeof(text));
        assert_true(written < sizeof(text));
        assert_int_equal(strlen(text), written);
        stoa_free(value);
    }
    stoa_buf_free(&good);
    stoa_buf_free(&built.body);
}

static int no_leaks(void **state) {
    (void)state;
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, 0);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_one_command, no_leaks),
        cmocka_unit_test_teardown(test_many_commands, no_leaks),
        cmocka_unit_test_teardown(test_keys_cut_and_escaped, no_leaks),
        cmocka_unit_test_teardown(test_large_command, no_leaks),
        cmocka_unit_test_teardown(test_member_config_noop, no_leaks),
        cmocka_unit_test_teardown(test_malformed, no_leaks),
        cmocka_unit_test_teardown(test_cut_to_capacity, no_leaks),
        cmocka_unit_test_teardown(test_random_bytes, no_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
