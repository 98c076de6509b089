/* Shows that apply agrees with an independent reference model (strings, counters, deques,
 * expiries) over a long seeded random sequence of writes and reads, comparing every reply
 * and every key after every command, and that two states fed the same log end equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apply_harness.h"
#include "util/prng.h"

#define KEYS 6
#define ELEMENTS_MAX 48
#define TEXT_MAX 96
#define STEPS 200000

enum kind { NONE, STRING, LIST };

struct model_key {
    enum kind kind;
    char text[TEXT_MAX];
    size_t length;
    char elements[ELEMENTS_MAX][4];
    size_t count;
    int64_t expire_at;
};

static const char *const key_names[KEYS] = {"a", "b", "c", "d", "e", "f"};
static const char *const values[] = {
    "0", "1", "-5", "x", "9223372036854775807", "-9223372036854775808", "", "07", "ab"};
static const char *const elements[] = {"a", "b", "c", ""};

static struct model_key model[KEYS];
static size_t last_command;
static char expected[HARNESS_TEXT_BYTES];
static size_t expected_length;

static void put(const char *prefix, const char *data, size_t length) {
    if (expected_length > 0) {
        expected[expected_length++] = '|';
    }
    size_t prefix_length = strlen(prefix);
    memcpy(expected + expected_length, prefix, prefix_length);
    expected_length += prefix_length;
    memcpy(expected + expected_length, data, length);
    expected_length += length;
    expected[expected_length] = '\0';
}
static void put_integer(int64_t value) {
    char text[32];
    snprintf(text, sizeof(text), ":%" PRId64, value);
    put(text, "", 0);
}

static void expire_model(int64_t now) {
    for (int k = 0; k < KEYS; k++) {
        if (model[k].kind != NONE && model[k].expire_at != 0 && model[k].expire_at <= now) {
            model[k].kind = NONE;
        }
    }
}

static void model_delete(int k) {
    model[k].kind = NONE;
    model[k].expire_at = 0;
}

static bool parse_counter(const struct model_key *key, int64_t *out) {
    const char *t = key->text;
    size_t n = key->length;
    bool negative = n > 0 && t[0] == '-';
    size_t i = negative ? 1 : 0;
    if (n == i || n > 20 || (t[i] == '0' && (n > i + 1 || negative))) {
        return false;
    }
    __int128 value = 0;
    for (; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') {
            return false;
        }
        value = value * 10 + (t[i] - '0');
    }
    value = negative ? -value : value;
    if (value > INT64_MAX || value < INT64_MIN) {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

static void model_set_text(int k, const char *text, size_t length) {
    model[k].kind = STRING;
    memcpy(model[k].text, text, length);
    model[k].length = length;
}

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"

/* ---- one random command, applied to both ---- */

struct step {
    struct harness *h;
    struct stoa_prng *prng;
    int64_t now;
    struct args a;
};

static int pick_key(struct step *s) {
    int k = (int)stoa_prng_below(s->prng, KEYS);
    args_text(&s->a, key_names[k]);
    return k;
}

static void do_set(struct step *s) {
    int k = pick_key(s);
    const char *v = values[stoa_prng_below(s->prng, 9)];
    uint8_t flags =
        (uint8_t)(stoa_prng_below(s->prng, 16) & (STOA_OP_SET_KEEPTTL | STOA_OP_SET_GET));
    flags |= (uint8_t)(stoa_prng_below(s->prng, 3)); /* 0, NX or XX */
    int64_t expire =
        stoa_prng_below(s->prng, 2) == 0 ? 0 : s->now + (int64_t)stoa_prng_below(s->prng, 12) - 2;
    args_i64(args_u8(args_text(&s->a, v), flags), expire);
    harness_write(s->h, s->now, STOA_OP_SET, &s->a);
    bool exists = model[k].kind != NONE;
    bool get = (flags & STOA_OP_SET_GET) != 0;
    if (get && exists && model[k].kind != STRING) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    bool skip = ((flags & STOA_OP_SET_NX) && exists) || ((flags & STOA_OP_SET_XX) && !exists);
    if (get) {
        if (exists) {
            put("$", model[k].text, model[k].length);
        } else {
            put("$-", "", 0);
        }
    } else if (skip) {
        put("$-", "", 0);
    } else {
        put("+OK", "", 0);
    }
    if (skip) {
        return;
    }
    int64_t keep = exists ? model[k].expire_at : 0;
    model_set_text(k, v, strlen(v));
    model[k].expire_at = (flags & STOA_OP_SET_KEEPTTL) ? keep : expire;
    if (model[k].expire_at != 0 && model[k].expire_at <= s->now) {
        model_delete(k);
    }
}

static void do_incrby(struct step *s) {
    int k = pick_key(s);
    int64_t deltas[] = {1, -1, 7, INT64_MAX, INT64_MIN, -100};
    int64_t delta = deltas[stoa_prng_below(s->prng, 6)];
    args_i64(&s->a, delta);
    harness_write(s->h, s->now, STOA_OP_INCRBY, &s->a);
    int64_t value = 0;
    if (model[k].kind == LIST) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    if (model[k].kind == STRING && !parse_counter(&model[k], &value)) {
        put("-ERR value is not an integer or out of range", "", 0);
        return;
    }
    int64_t sum = 0;
    if (__builtin_add_overflow(value, delta, &sum)) {
        put("-ERR increment or decrement would overflow", "", 0);
        return;
    }
    put_integer(sum);
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRId64, sum);
    if (model[k].kind == NONE) {
        model[k].expire_at = 0;
    }
    model_set_text(k, text, (size_t)n);
}

static void do_append(struct step *s) {
    int k = pick_key(s);
    const char *v = values[stoa_prng_below(s->prng, 9)];
    args_text(&s->a, v);
    size_t n = strlen(v);
    if (model[k].kind == STRING && model[k].length + n > TEXT_MAX) {
        s->a.count = 1;
        harness_write(s->h, s->now, STOA_OP_DEL, &s->a);
        put_integer(1);
        model_delete(k);
        return;
    }
    harness_write(s->h, s->now, STOA_OP_APPEND, &s->a);
    if (model[k].kind == LIST) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    if (model[k].kind == NONE) {
        if (n == 0) {
            put_integer(0);
            return;
        }
        model[k].length = 0;
        model[k].expire_at = 0;
    }
    memcpy(model[k].text + model[k].length, v, n);
    model[k].length += n;
    model[k].kind = STRING;
    put_integer((int64_t)model[k].length);
}

static void do_push(struct step *s) {
    int k = pick_key(s);
    uint8_t flags = (uint8_t)stoa_prng_below(s->prng, 4);
    size_t n = 1 + stoa_prng_below(s->prng, 3);
    args_u8(&s->a, flags);
    const char *pushed[3];
    for (size_t i = 0; i < n; i++) {
        pushed[i] = elements[stoa_prng_below(s->prng, 4)];
        args_text(&s->a, pushed[i]);
    }
    if (model[k].kind == LIST && model[k].count + n > ELEMENTS_MAX) {
        s->a.count = 1;
        harness_write(s->h, s->now, STOA_OP_DEL, &s->a);
        put_integer(1);
        model_delete(k);
        return;
    }
    harness_write(s->h, s->now, STOA_OP_PUSH, &s->a);
    if (model[k].kind == STRING) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    if (model[k].kind == NONE && (flags & STOA_OP_PUSH_EXISTING)) {
        put_integer(0);
        return;
    }
    if (model[k].kind == NONE) {
        model[k].kind = LIST;
        model[k].count = 0;
        model[k].expire_at = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct model_key *m = &model[k];
        if (flags & STOA_OP_PUSH_BACK) {
            memcpy(m->elements[m->count], pushed[i], strlen(pushed[i]) + 1);
        } else {
            memmove(m->elements[1], m->elements[0], m->count * 4);
            memcpy(m->elements[0], pushed[i], strlen(pushed[i]) + 1);
        }
        m->count++;
    }
    put_integer((int64_t)model[k].count);
}

static void model_pop_one(int k, bool back) {
    struct model_key *m = &model[k];
    if (back) {
        put("$", m->elements[m->count - 1], strlen(m->elements[m->count - 1]));
    } else {
        put("$", m->elements[0], strlen(m->elements[0]));
        memmove(m->elements[0], m->elements[1], (m->count - 1) * 4);
    }
    m->count--;
    if (m->count == 0) {
        model_delete(k);
    }
}

static void do_pop(struct step *s) {
    int k = pick_key(s);
    uint8_t flags = (uint8_t)stoa_prng_below(s->prng, 4);
    int64_t count = (int64_t)stoa_prng_below(s->prng, 4);
    args_i64(args_u8(&s->a, flags), count);
    harness_write(s->h, s->now, STOA_OP_POP, &s->a);
    bool as_array = (flags & STOA_OP_POP_COUNT) != 0;
    if (model[k].kind == STRING) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    if (model[k].kind == NONE) {
        put(as_array ? "*-" : "$-", "", 0);
        return;
    }
    if (!as_array) {
        model_pop_one(k, flags & STOA_OP_POP_BACK);
        return;
    }
    size_t n = (size_t)count < model[k].count ? (size_t)count : model[k].count;
    char header[16];
    snprintf(header, sizeof(header), "*%zu", n);
    put(header, "", 0);
    for (size_t i = 0; i < n; i++) {
        model_pop_one(k, flags & STOA_OP_POP_BACK);
    }
}

static void do_del(struct step *s) {
    int k1 = pick_key(s);
    int k2 = pick_key(s);
    harness_write(s->h, s->now, STOA_OP_DEL, &s->a);
    int64_t deleted = 0;
    if (model[k1].kind != NONE) {
        deleted++;
        model_delete(k1);
    }
    if (model[k2].kind != NONE) {
        deleted++;
        model_delete(k2);
    }
    put_integer(deleted);
}

static void do_pexpireat(struct step *s) {
    int k = pick_key(s);
    int64_t at = s->now + (int64_t)stoa_prng_below(s->prng, 20) - 3;
    uint8_t choices[] = {0, STOA_OP_EXPIRE_NX, STOA_OP_EXPIRE_XX, STOA_OP_EXPIRE_GT,
                         STOA_OP_EXPIRE_LT};
    uint8_t flags = choices[stoa_prng_below(s->prng, 5)];
    args_u8(args_i64(&s->a, at), flags);
    harness_write(s->h, s->now, STOA_OP_PEXPIREAT, &s->a);
    int64_t current = model[k].expire_at;
    bool ok = model[k].kind != NONE;
    ok = ok && !(flags == STOA_OP_EXPIRE_NX && current != 0);
    ok = ok && !(flags == STOA_OP_EXPIRE_XX && current == 0);
    ok = ok && !(flags == STOA_OP_EXPIRE_GT && (current == 0 || at <= current));
    ok = ok && !(flags == STOA_OP_EXPIRE_LT && current != 0 && at >= current);
    put_integer(ok ? 1 : 0);
    if (ok) {
        model[k].expire_at = at;
        if (at <= s->now) {
            model_delete(k);
        }
    }
}

static void do_persist(struct step *s) {
    int k = pick_key(s);
    harness_write(s->h, s->now, STOA_OP_PERSIST, &s->a);
    bool ok = model[k].kind != NONE && model[k].expire_at != 0;
    put_integer(ok ? 1 : 0);
    if (ok) {
        model[k].expire_at = 0;
    }
}

static void do_lrem(struct step *s) {
    int k = pick_key(s);
    int64_t count = (int64_t)stoa_prng_below(s->prng, 5) - 2;
    const char *e = elements[stoa_prng_below(s->prng, 4)];
    args_text(args_i64(&s->a, count), e);
    harness_write(s->h, s->now, STOA_OP_LREM, &s->a);
    if (model[k].kind == STRING) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    if (model[k].kind == NONE) {
        put_integer(0);
        return;
    }
    struct model_key *m = &model[k];
    int64_t removed = 0;
    int64_t limit = count < 0 ? -count : count;
    for (size_t step = 0; step < m->count && (limit == 0 || removed < limit);) {
        size_t i = count < 0 ? m->count - 1 - step : step;
        if (strcmp(m->elements[i], e) == 0) {
            memmove(m->elements[i], m->elements[i + 1], (m->count - i - 1) * 4);
            m->count--;
            removed++;
            continue; /* the next candidate moved into this step's place */
        }
        step++;
    }
    put_integer(removed);
    if (m->count == 0) {
        model_delete(k);
    }
}

static void model_push_one(int k, const char *e, bool back) {
    struct model_key *m = &model[k];
    if (m->kind == NONE) {
        m->kind = LIST;
        m->count = 0;
        m->expire_at = 0;
    }
    if (back) {
        memcpy(m->elements[m->count], e, strlen(e) + 1);
    } else {
        memmove(m->elements[1], m->elements[0], m->count * 4);
        memcpy(m->elements[0], e, strlen(e) + 1);
    }
    m->count++;
}

static void do_lmove(struct step *s) {
    int from = pick_key(s);
    int to = pick_key(s);
    uint8_t flags = (uint8_t)stoa_prng_below(s->prng, 4);
    args_u8(&s->a, flags);
    if (model[to].kind == LIST && model[to].count >= ELEMENTS_MAX) {
        s->a.list[0] = s->a.list[1];
        s->a.count = 1;
        harness_write(s->h, s->now, STOA_OP_DEL, &s->a);
        put_integer(1);
        model_delete(to);
        return;
    }
    harness_write(s->h, s->now, STOA_OP_LMOVE, &s->a);
    if (model[from].kind == NONE) {
        put("$-", "", 0);
        return;
    }
    if (model[from].kind != LIST || model[to].kind == STRING) {
        put("-", WRONGTYPE, strlen(WRONGTYPE));
        return;
    }
    struct model_key *m = &model[from];
    bool from_back = flags & STOA_OP_LMOVE_FROM_BACK;
    char e[4];
    memcpy(e, m->elements[from_back ? m->count - 1 : 0], 4);
    put("$", e, strlen(e));
    size_t length = expected_length;
    int64_t expire_at = m->expire_at;
    model_pop_one(from, from_back);
    expected_length = length; /* model_pop_one replied the element again */
    expected[expected_length] = '\0';
    model_push_one(to, e, flags & STOA_OP_LMOVE_TO_BACK);
    if (from == to) {
        model[to].expire_at = expire_at; /* a rotation never empties the deque */
    }
}

static void do_rename(struct step *s) {
    int from = pick_key(s);
    int to = pick_key(s);
    harness_write(s->h, s->now, STOA_OP_RENAME, &s->a);
    if (model[from].kind == NONE) {
        put("-ERR no such key", "", 0);
        return;
    }
    put("+OK", "", 0);
    if (from != to) {
        model[to] = model[from];
        model_delete(from);
    }
}

static void do_reads(struct step *s) {
    int k = pick_key(s);
    switch (stoa_prng_below(s->prng, 4)) {
    case 0:
        harness_read(s->h, s->now, STOA_OP_GET, &s->a);
        if (model[k].kind == LIST) {
            put("-", WRONGTYPE, strlen(WRONGTYPE));
        } else if (model[k].kind == NONE) {
            put("$-", "", 0);
        } else {
            put("$", model[k].text, model[k].length);
        }
        return;
    case 1:
        harness_read(s->h, s->now, STOA_OP_PTTL, &s->a);
        put_integer(model[k].kind == NONE     ? -2
                    : model[k].expire_at == 0 ? -1
                                              : model[k].expire_at - s->now);
        return;
    case 2:
        args_i64(args_i64(&s->a, 0), -1);
        harness_read(s->h, s->now, STOA_OP_LRANGE, &s->a);
        if (model[k].kind == STRING) {
            put("-", WRONGTYPE, strlen(WRONGTYPE));
            return;
        }
        {
            size_t n = model[k].kind == LIST ? model[k].count : 0;
            char header[16];
            snprintf(header, sizeof(header), "*%zu", n);
            put(header, "", 0);
            for (size_t i = 0; i < n; i++) {
                put("$", model[k].elements[i], strlen(model[k].elements[i]));
            }
        }
        return;
    default:
        harness_read(s->h, s->now, STOA_OP_EXISTS, &s->a);
        put_integer(model[k].kind == NONE ? 0 : 1);
        return;
    }
}

/* Every key of the engine holds exactly what the model says at now. */
static void compare_state(struct harness *h, int64_t now) {
    for (int k = 0; k < KEYS; k++) {
        const struct stoa_value *value = NULL;
        int64_t expiry = 0;
        int result = stoa_keyspace_lookup(&h->keyspace, now, key_names[k], 1, &value, &expiry);
        if (model[k].kind == NONE) {
            assert_int_equal(result, STOA_ERR_NOT_FOUND);
            continue;
        }
        assert_int_equal(result, STOA_OK);
        if (expiry != model[k].expire_at) {
            fail_msg("at %" PRId64 ", after command %zu: key %s expires at %" PRId64
                     " in the engine, at %" PRId64 " in the model",
                     now, last_command, key_names[k], expiry, model[k].expire_at);
        }
        if (model[k].kind == STRING) {
            assert_int_equal(value->type, STOA_VALUE_BYTES);
            const uint8_t *data = NULL;
            size_t length = 0;
            stoa_value_bytes_get(value, &data, &length);
            assert_int_equal(length, model[k].length);
            assert_true(length == 0 || memcmp(data, model[k].text, length) == 0);
            continue;
        }
        assert_int_equal(value->type, STOA_VALUE_DEQUE);
        assert_int_equal(stoa_value_deque_length(value), model[k].count);
        for (size_t i = 0; i < model[k].count; i++) {
            const uint8_t *data = NULL;
            size_t length = 0;
            assert_int_equal(stoa_value_deque_get(value, (int64_t)i, &data, &length), STOA_OK);
            assert_int_equal(length, strlen(model[k].elements[i]));
            assert_true(length == 0 || memcmp(data, model[k].elements[i], length) == 0);
        }
    }
}

static void (*const commands[])(struct step *) = {
    do_set, do_set,       do_incrby,  do_append, do_push,  do_push,   do_pop,   do_pop,
    do_del, do_pexpireat, do_persist, do_lrem,   do_lmove, do_rename, do_reads, do_reads,
};

/* One random command on both the engine and the model; the replies must be equal. */
static void random_step(struct harness *h, struct stoa_prng *prng, int64_t now, bool check) {
    struct step s = {.h = h, .prng = prng, .now = now};
    expire_model(now);
    expected_length = 0;
    expected[0] = '\0';
    size_t command = stoa_prng_below(prng, sizeof(commands) / sizeof(commands[0]));
    last_command = command;
    commands[command](&s);
    if (check && strcmp(h->out.text, expected) != 0) {
        fail_msg("at %" PRId64 ", command %zu: engine said \"%s\", the model \"%s\"", now, command,
                 h->out.text, expected);
    }
}

/* 200,000 random commands over six keys: replies and every key agree with the model after
 * each command, and the keyspace's own invariants hold throughout. */
static void test_model(void **state) {
    (void)state;
    static struct harness h;
    harness_init(&h, 0, 16);
    memset(model, 0, sizeof(model));
    struct stoa_prng prng;
    stoa_prng_init(&prng, 20240601);
    int64_t now = 1000;
    for (int i = 0; i < STEPS; i++) {
        now += (int64_t)stoa_prng_below(&prng, 3);
        random_step(&h, &prng, now, true);
        compare_state(&h, now);
        if (i % 4096 == 0) {
            stoa_keyspace_check(&h.keyspace);
        }
    }
    harness_free(&h);
}

/* Two states fed the same log (different map seeds, one with background expiry steps in
 * between) end with the same digest, and every reply was the same. */
static void test_determinism(void **state) {
    (void)state;
    static struct harness one;
    static struct harness two;
    harness_init(&one, 0, 16);
    harness_init(&two, 0, 16);
    stoa_keyspace_free(&two.keyspace);
    struct stoa_keyspace_options options = {.seed = 99};
    stoa_keyspace_init(&two.keyspace, &options);
    struct stoa_prng prng_one;
    struct stoa_prng prng_two;
    stoa_prng_init(&prng_one, 77);
    stoa_prng_init(&prng_two, 77);
    int64_t now = 1000;
    static char reply[HARNESS_TEXT_BYTES];
    static struct model_key model_one[KEYS];
    static struct model_key model_two[KEYS];
    for (int i = 0; i < 20000; i++) {
        now += (int64_t)stoa_prng_below(&prng_one, 3);
        (void)stoa_prng_below(&prng_two, 3);
        memcpy(model, model_two, sizeof(model));
        random_step(&two, &prng_two, now, false);
        memcpy(model_two, model, sizeof(model));
        memcpy(reply, two.out.text, two.out.length + 1);
        memcpy(model, model_one, sizeof(model));
        random_step(&one, &prng_one, now, false);
        memcpy(model_one, model, sizeof(model));
        assert_string_equal(reply, one.out.text);
        if (i % 100 == 0) {
            (void)stoa_keyspace_expire_step(&two.keyspace, now, 16);
        }
    }
    assert_int_equal(harness_digest(&one, now), harness_digest(&two, now));
    harness_free(&one);
    harness_free(&two);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
