/*
 * gen: the random history generator (gen.h).
 *
 * One loop; each turn either applies a late info operation ("ghost") or lets one process
 * take its next step: invoke, take effect on the object, or complete. Values written or
 * pushed are unique integers, so a read names exactly one write.
 */
#include <stdio.h>
#include <string.h>

#include "check/check_int.h"
#include "check/gen.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

enum phase { PHASE_IDLE, PHASE_INVOKED, PHASE_APPLIED };
enum outcome {
    OUTCOME_OK,
    OUTCOME_FAIL,
    OUTCOME_INFO_APPLIED,
    OUTCOME_INFO_LOST,
    OUTCOME_INFO_LATE
};
/* How a plant's operation deviates from a correct object. */
enum mode {
    MODE_NORMAL,
    MODE_DROP,  /* acknowledged as if applied, but the object is unchanged */
    MODE_TWICE, /* applied twice */
    MODE_FORCE, /* the result is `forced`, the object unchanged (reads and pops) */
    MODE_BELOW, /* the result is one below the object's count */
};
enum plant_phase { PLANT_OFF, PLANT_PENDING, PLANT_WAITING, PLANT_RUNNING, PLANT_DONE };

struct gen_op {
    uint32_t key;
    enum stoa_check_f f;
    int64_t argument[2];
    enum outcome outcome;
    enum mode mode;
    int64_t forced;
};

struct slot {
    enum phase phase;
    int64_t process;
    struct gen_op op;
    struct stoa_buf result; /* the result's JSON, made when the operation takes effect */
};

struct object {
    int64_t value;  /* register: the value (0 is null); counter: the count */
    int64_t *items; /* deque, front first */
    size_t length, capacity;
};

#define SCRIPT_MAX 3

struct gen {
    const struct stoa_check_gen_options *options;
    struct stoa_check_gen_report *report;
    struct stoa_buf *out;
    struct stoa_prng prng;
    struct slot *slots;
    struct object *objects;
    uint32_t key_count; /* the random keys; objects[key_count] is the plant's spare key */
    uint32_t *in_flight;
    uint32_t *info_count;
    int64_t *info_delta_sum;
    struct gen_op *ghosts;
    uint32_t ghost_count;
    int64_t next_value;
    int64_t time_ns;
    uint32_t invoked;
    enum plant_phase plant_phase;
    uint32_t plant_key;
    uint32_t plant_slot;
    struct gen_op script[SCRIPT_MAX];
    uint32_t script_count, script_next;
};

static const char *const plant_names[STOA_CHECK_PLANT_COUNT] = {
    [STOA_CHECK_PLANT_NONE] = "none",
    [STOA_CHECK_PLANT_STALE_READ] = "stale-read",
    [STOA_CHECK_PLANT_LOST_WRITE] = "lost-write",
    [STOA_CHECK_PLANT_DUPLICATE_INCR] = "duplicate-incr",
    [STOA_CHECK_PLANT_PHANTOM_POP] = "phantom-pop",
    [STOA_CHECK_PLANT_FUTURE_READ] = "future-read",
};

const char *stoa_check_plant_name(enum stoa_check_plant plant) {
    return (unsigned)plant < STOA_CHECK_PLANT_COUNT ? plant_names[plant] : "?";
}

int stoa_check_plant_parse(const char *name, enum stoa_check_plant *plant) {
    for (int i = 0; i < STOA_CHECK_PLANT_COUNT; i++) {
        if (strcmp(name, plant_names[i]) == 0) {
            *plant = (enum stoa_check_plant)i;
            return 0;
        }
    }
    return STOA_ERR_INVALID;
}

bool stoa_check_gen_plant_fits(enum stoa_check_model model, enum stoa_check_plant plant) {
    switch (plant) {
    case STOA_CHECK_PLANT_NONE:
    case STOA_CHECK_PLANT_LOST_WRITE:
        return model != STOA_CHECK_MODEL_AUTO;
    case STOA_CHECK_PLANT_STALE_READ:
        return model == STOA_CHECK_MODEL_REGISTER || model == STOA_CHECK_MODEL_COUNTER;
    case STOA_CHECK_PLANT_DUPLICATE_INCR:
        return model == STOA_CHECK_MODEL_COUNTER;
    case STOA_CHECK_PLANT_PHANTOM_POP:
        return model == STOA_CHECK_MODEL_DEQUE;
    case STOA_CHECK_PLANT_FUTURE_READ:
        return model == STOA_CHECK_MODEL_REGISTER || model == STOA_CHECK_MODEL_DEQUE;
    case STOA_CHECK_PLANT_COUNT:
        break;
    }
    return false;
}

static bool chance(struct gen *gen, uint32_t per_mille) {
    return stoa_prng_below(&gen->prng, 1000) < per_mille;
}

/* A register's or a deque's value as JSON: 0 is null. */
static int append_value(struct stoa_buf *out, int64_t value) {
    return value == 0 ? stoa_buf_append(out, "null", 4)
                      : check_append_format(out, "%lld", (long long)value);
}

static void key_name(const struct gen *gen, uint32_t key, char name[32]) {
    if (key == gen->key_count) {
        memcpy(name, "plant", 6);
    } else {
        snprintf(name, 32, "k%u", key);
    }
}

/* The invoke's value of op. */
static int append_argument(struct stoa_buf *out, const struct gen_op *op) {
    switch (op->f) {
    case STOA_CHECK_F_WRITE:
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
        return append_value(out, op->argument[0]);
    case STOA_CHECK_F_CAS: {
        int rc = stoa_buf_append_byte(out, '[');
        rc = rc != 0 ? rc : append_value(out, op->argument[0]);
        rc = rc != 0 ? rc : stoa_buf_append_byte(out, ',');
        rc = rc != 0 ? rc : append_value(out, op->argument[1]);
        return rc != 0 ? rc : stoa_buf_append_byte(out, ']');
    }
    case STOA_CHECK_F_INCR:
        return check_append_format(out, "%lld", (long long)op->argument[0]);
    case STOA_CHECK_F_READ:
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
    case STOA_CHECK_F_COUNT:
        break;
    }
    return stoa_buf_append(out, "null", 4);
}

static int emit(struct gen *gen, const struct slot *slot, const char *type, bool use_result) {
    char key[32];
    key_name(gen, slot->op.key, key);
    gen->time_ns += 1 + (int64_t)stoa_prng_below(&gen->prng, 1000);
    int rc =
        check_append_format(gen->out,
                            "{\"type\":\"%s\",\"process\":%lld,\"f\":\"%s\","
                            "\"key\":\"%s\",\"value\":",
                            type, (long long)slot->process, stoa_check_f_name(slot->op.f), key);
    if (rc == 0 && use_result) {
        rc = stoa_buf_append(gen->out, slot->result.data, slot->result.length);
    } else if (rc == 0) {
        rc = append_argument(gen->out, &slot->op);
    }
    rc = rc != 0 ? rc
                 : check_append_format(gen->out, ",\"time\":%lld,\"index\":%u}\n",
                                       (long long)gen->time_ns, gen->report->event_count);
    gen->report->event_count++;
    return rc;
}

static int deque_insert(struct object *object, bool front, int64_t value) {
    if (object->length == object->capacity) {
        size_t capacity = object->capacity == 0 ? 16 : object->capacity * 2;
        int64_t *grown = stoa_realloc(object->items, capacity * sizeof *grown);
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        object->items = grown;
        object->capacity = capacity;
    }
    if (front) {
        memmove(object->items + 1, object->items, object->length * sizeof *object->items);
        object->items[0] = value;
    } else {
        object->items[object->length] = value;
    }
    object->length++;
    return 0;
}

static int64_t deque_remove(struct object *object, bool front) {
    if (object->length == 0) {
        return 0;
    }
    int64_t value = object->items[front ? 0 : object->length - 1];
    if (front) {
        memmove(object->items, object->items + 1, (object->length - 1) * sizeof *object->items);
    }
    object->length--;
    return value;
}

static int append_deque(struct stoa_buf *out, const struct object *object) {
    int rc = stoa_buf_append_byte(out, '[');
    for (size_t i = 0; i < object->length && rc == 0; i++) {
        rc = i == 0 ? 0 : stoa_buf_append_byte(out, ',');
        rc = rc != 0 ? rc : append_value(out, object->items[i]);
    }
    return rc != 0 ? rc : stoa_buf_append_byte(out, ']');
}

/* Applies op to the object (result into *result when not NULL). A cas that does not find its
 * expected value changes nothing and sets *cas_failed. */
static int apply(struct gen *gen, const struct gen_op *op, struct stoa_buf *result,
                 bool *cas_failed) {
    struct object *object = &gen->objects[op->key];
    bool counter = gen->options->model == STOA_CHECK_MODEL_COUNTER;
    bool front = op->f == STOA_CHECK_F_PUSH_FRONT || op->f == STOA_CHECK_F_POP_FRONT;
    int rc = 0;
    switch (op->f) {
    case STOA_CHECK_F_READ:
        if (gen->options->model == STOA_CHECK_MODEL_DEQUE) {
            return result != NULL ? append_deque(result, object) : 0;
        }
        if (result == NULL) {
            return 0;
        }
        return counter ? check_append_format(result, "%lld", (long long)object->value)
                       : append_value(result, object->value);
    case STOA_CHECK_F_WRITE:
        object->value = op->argument[0];
        break;
    case STOA_CHECK_F_CAS:
        *cas_failed = object->value != op->argument[0];
        object->value = *cas_failed ? object->value : op->argument[1];
        break;
    case STOA_CHECK_F_INCR:
        object->value += op->argument[0] * (op->mode == MODE_TWICE ? 2 : 1);
        if (result != NULL) {
            rc = check_append_format(result, "%lld", (long long)object->value);
        }
        break;
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
        rc = deque_insert(object, front, op->argument[0]);
        break;
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK: {
        int64_t popped = deque_remove(object, front);
        rc = result != NULL ? append_value(result, popped) : 0;
        break;
    }
    case STOA_CHECK_F_COUNT:
        STOA_UNREACHABLE();
    }
    if (rc == 0 && result != NULL && !counter && op->f != STOA_CHECK_F_POP_FRONT &&
        op->f != STOA_CHECK_F_POP_BACK) {
        rc = append_argument(result, op);
    }
    return rc;
}

/* The plant's deviations at the moment its operation takes effect. */
static int apply_planted(struct gen *gen, struct slot *slot) {
    struct gen_op *op = &slot->op;
    struct object *object = &gen->objects[op->key];
    bool cas_failed = false;
    switch (op->mode) {
    case MODE_NORMAL:
    case MODE_TWICE:
        return apply(gen, op, &slot->result, &cas_failed);
    case MODE_DROP:
        if (op->f == STOA_CHECK_F_INCR) {
            return check_append_format(&slot->result, "%lld",
                                       (long long)(object->value + op->argument[0]));
        }
        return append_argument(&slot->result, op);
    case MODE_FORCE:
        return append_value(&slot->result, op->forced);
    case MODE_BELOW:
        return check_append_format(&slot->result, "%lld", (long long)(object->value - 1));
    }
    STOA_UNREACHABLE();
}

static void random_op(struct gen *gen, uint32_t key, struct gen_op *op) {
    uint64_t roll = stoa_prng_below(&gen->prng, 100);
    *op = (struct gen_op){.key = key, .mode = MODE_NORMAL};
    switch (gen->options->model) {
    case STOA_CHECK_MODEL_REGISTER:
        op->f = roll < 50 ? STOA_CHECK_F_READ : roll < 85 ? STOA_CHECK_F_WRITE : STOA_CHECK_F_CAS;
        /* A cas mostly expects the value it last saw, which may change before it applies. */
        op->argument[0] = op->f == STOA_CHECK_F_CAS && chance(gen, 700) ? gen->objects[key].value
                                                                        : gen->next_value++;
        op->argument[1] = gen->next_value++;
        break;
    case STOA_CHECK_MODEL_COUNTER:
        op->f = roll < 60 ? STOA_CHECK_F_INCR : STOA_CHECK_F_READ;
        op->argument[0] = 1 + (int64_t)stoa_prng_below(&gen->prng, 5);
        break;
    case STOA_CHECK_MODEL_DEQUE:
        op->f = roll < 25   ? STOA_CHECK_F_PUSH_BACK
                : roll < 45 ? STOA_CHECK_F_PUSH_FRONT
                : roll < 70 ? STOA_CHECK_F_POP_FRONT
                : roll < 90 ? STOA_CHECK_F_POP_BACK
                            : STOA_CHECK_F_READ;
        op->argument[0] = gen->next_value++;
        break;
    case STOA_CHECK_MODEL_AUTO:
        STOA_UNREACHABLE();
    }
    uint64_t outcome = stoa_prng_below(&gen->prng, 1000);
    uint32_t fail = gen->options->fail_per_mille;
    if (outcome < fail) {
        op->outcome = OUTCOME_FAIL;
    } else if (outcome < fail + gen->options->info_per_mille) {
        uint64_t kind = stoa_prng_below(&gen->prng, 10);
        op->outcome = kind < 4   ? OUTCOME_INFO_APPLIED
                      : kind < 7 ? OUTCOME_INFO_LOST
                                 : OUTCOME_INFO_LATE;
    } else {
        op->outcome = OUTCOME_OK;
    }
}

static bool plant_reserves(const struct gen *gen, uint32_t key) {
    return key == gen->plant_key &&
           (gen->plant_phase == PLANT_WAITING || gen->plant_phase == PLANT_RUNNING);
}

/* A random key the plant does not hold, or false when there is none. */
static bool random_key(struct gen *gen, uint32_t *key) {
    uint32_t k = (uint32_t)stoa_prng_below(&gen->prng, gen->key_count);
    if (plant_reserves(gen, k)) {
        if (gen->key_count == 1) {
            return false;
        }
        k = (k + 1) % gen->key_count;
    }
    *key = k;
    return true;
}

static int invoke(struct gen *gen, struct slot *slot, const struct gen_op *op) {
    slot->op = *op;
    slot->phase = PHASE_INVOKED;
    stoa_buf_reset(&slot->result);
    gen->in_flight[op->key]++;
    gen->report->op_count++;
    return emit(gen, slot, "invoke", false);
}

static int take_effect(struct gen *gen, struct slot *slot) {
    struct gen_op *op = &slot->op;
    slot->phase = PHASE_APPLIED;
    if (op->mode != MODE_NORMAL) {
        return apply_planted(gen, slot);
    }
    if (op->outcome != OUTCOME_OK && op->outcome != OUTCOME_INFO_APPLIED) {
        return 0; /* fails, lost and late infos do not take effect now */
    }
    bool cas_failed = false;
    int rc = apply(gen, op, &slot->result, &cas_failed);
    if (cas_failed && op->outcome == OUTCOME_OK) {
        op->outcome = OUTCOME_FAIL; /* as Jepsen records a cas that found another value */
    }
    return rc;
}

static int add_ghost(struct gen *gen, const struct gen_op *op) {
    if ((gen->ghost_count & (gen->ghost_count - 1)) == 0) {
        size_t capacity = gen->ghost_count == 0 ? 16 : (size_t)gen->ghost_count * 2;
        struct gen_op *grown = stoa_realloc(gen->ghosts, capacity * sizeof *grown);
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        gen->ghosts = grown;
    }
    gen->ghosts[gen->ghost_count++] = *op;
    return 0;
}

static int complete(struct gen *gen, struct slot *slot) {
    const struct gen_op *op = &slot->op;
    gen->in_flight[op->key]--;
    slot->phase = PHASE_IDLE;
    if (op->outcome == OUTCOME_OK) {
        return emit(gen, slot, "ok", true);
    }
    if (op->outcome == OUTCOME_FAIL) {
        gen->report->fail_count++;
        return emit(gen, slot, "fail", false);
    }
    gen->report->info_count++;
    gen->info_count[op->key]++;
    gen->info_delta_sum[op->key] += op->f == STOA_CHECK_F_INCR ? op->argument[0] : 0;
    int rc = emit(gen, slot, "info", false);
    if (rc == 0 && op->outcome == OUTCOME_INFO_LATE && op->f != STOA_CHECK_F_READ) {
        rc = add_ghost(gen, op);
    }
    /* Jepsen retires a process whose operation is indeterminate and starts a new one. */
    slot->process += gen->options->process_count;
    return rc;
}

/* A late info operation takes effect now, unless its key is held by the plant. */
static int apply_ghost(struct gen *gen) {
    uint32_t index = (uint32_t)stoa_prng_below(&gen->prng, gen->ghost_count);
    struct gen_op op = gen->ghosts[index];
    if (plant_reserves(gen, op.key)) {
        return 0;
    }
    gen->ghosts[index] = gen->ghosts[--gen->ghost_count];
    bool cas_failed = false;
    return apply(gen, &op, NULL, &cas_failed);
}

static void script_add(struct gen *gen, enum stoa_check_f f, int64_t argument, enum mode mode,
                       int64_t forced) {
    STOA_ASSERT(gen->script_count < SCRIPT_MAX);
    gen->script[gen->script_count++] = (struct gen_op){.key = gen->plant_key,
                                                       .f = f,
                                                       .argument = {argument, 0},
                                                       .outcome = OUTCOME_OK,
                                                       .mode = mode,
                                                       .forced = forced};
}

/* Writes the plant's script, once its key is quiet. */
static void plant_script(struct gen *gen) {
    enum stoa_check_model model = gen->options->model;
    int64_t a = gen->next_value++;
    int64_t b = gen->next_value++;
    switch (gen->options->plant) {
    case STOA_CHECK_PLANT_STALE_READ:
        if (model == STOA_CHECK_MODEL_COUNTER) {
            script_add(gen, STOA_CHECK_F_INCR, 1, MODE_NORMAL, 0);
            script_add(gen, STOA_CHECK_F_READ, 0, MODE_BELOW, 0);
            return;
        }
        script_add(gen, STOA_CHECK_F_WRITE, a, MODE_NORMAL, 0);
        script_add(gen, STOA_CHECK_F_WRITE, b, MODE_NORMAL, 0);
        script_add(gen, STOA_CHECK_F_READ, 0, MODE_FORCE, a);
        return;
    case STOA_CHECK_PLANT_LOST_WRITE:
        if (model == STOA_CHECK_MODEL_COUNTER) {
            script_add(gen, STOA_CHECK_F_INCR, 1, MODE_DROP, 0);
            script_add(gen, STOA_CHECK_F_READ, 0, MODE_NORMAL, 0);
        } else if (model == STOA_CHECK_MODEL_DEQUE) {
            script_add(gen, STOA_CHECK_F_PUSH_BACK, a, MODE_DROP, 0);
            script_add(gen, STOA_CHECK_F_POP_BACK, 0, MODE_NORMAL, 0);
        } else {
            script_add(gen, STOA_CHECK_F_WRITE, a, MODE_NORMAL, 0);
            script_add(gen, STOA_CHECK_F_WRITE, b, MODE_DROP, 0);
            script_add(gen, STOA_CHECK_F_READ, 0, MODE_NORMAL, 0);
        }
        return;
    case STOA_CHECK_PLANT_DUPLICATE_INCR:
        script_add(gen, STOA_CHECK_F_INCR, 1 + gen->info_delta_sum[gen->plant_key], MODE_TWICE, 0);
        script_add(gen, STOA_CHECK_F_READ, 0, MODE_NORMAL, 0);
        return;
    case STOA_CHECK_PLANT_PHANTOM_POP:
        script_add(gen, STOA_CHECK_F_POP_FRONT, 0, MODE_FORCE, a);
        return;
    case STOA_CHECK_PLANT_FUTURE_READ:
        if (model == STOA_CHECK_MODEL_DEQUE) {
            script_add(gen, STOA_CHECK_F_POP_FRONT, 0, MODE_FORCE, a);
            script_add(gen, STOA_CHECK_F_PUSH_BACK, a, MODE_NORMAL, 0);
        } else {
            script_add(gen, STOA_CHECK_F_READ, 0, MODE_FORCE, a);
            script_add(gen, STOA_CHECK_F_WRITE, a, MODE_NORMAL, 0);
        }
        return;
    case STOA_CHECK_PLANT_NONE:
    case STOA_CHECK_PLANT_COUNT:
        break;
    }
    STOA_UNREACHABLE();
}

/* A deque's lost push shows only on a key no info operation touched: another key, or the
 * spare one. */
static uint32_t plant_choose_key(struct gen *gen) {
    uint32_t key = (uint32_t)stoa_prng_below(&gen->prng, gen->key_count);
    bool needs_no_info = gen->options->model == STOA_CHECK_MODEL_DEQUE &&
                         gen->options->plant == STOA_CHECK_PLANT_LOST_WRITE;
    for (uint32_t i = 0; needs_no_info && i < gen->key_count; i++) {
        uint32_t k = (key + i) % gen->key_count;
        if (gen->info_count[k] == 0 && gen->in_flight[k] == 0) {
            return k;
        }
    }
    return needs_no_info ? gen->key_count : key;
}

/* Moves the plant along: picks its process and key, waits for the key to be quiet, runs
 * the script, and lets go. */
static void plant_advance(struct gen *gen) {
    if (gen->plant_phase == PLANT_PENDING && gen->invoked >= gen->options->op_count / 3) {
        uint32_t start = (uint32_t)stoa_prng_below(&gen->prng, gen->options->process_count);
        for (uint32_t i = 0; i < gen->options->process_count; i++) {
            uint32_t s = (start + i) % gen->options->process_count;
            if (gen->slots[s].phase == PHASE_IDLE) {
                gen->plant_slot = s;
                gen->plant_key = plant_choose_key(gen);
                gen->plant_phase = PLANT_WAITING;
                break;
            }
        }
    }
    if (gen->plant_phase == PLANT_WAITING && gen->in_flight[gen->plant_key] == 0) {
        bool needs_no_info = gen->options->model == STOA_CHECK_MODEL_DEQUE &&
                             gen->options->plant == STOA_CHECK_PLANT_LOST_WRITE;
        if (needs_no_info && gen->info_count[gen->plant_key] != 0) {
            gen->plant_key = gen->key_count; /* an info came in while waiting */
        }
        plant_script(gen);
        gen->plant_phase = PLANT_RUNNING;
        key_name(gen, gen->plant_key, gen->report->plant_key);
    }
    if (gen->plant_phase == PLANT_RUNNING && gen->script_next == gen->script_count &&
        gen->slots[gen->plant_slot].phase == PHASE_IDLE) {
        gen->plant_phase = PLANT_DONE;
    }
}

static bool is_plant_slot(const struct gen *gen, uint32_t s) {
    return s == gen->plant_slot &&
           (gen->plant_phase == PLANT_WAITING || gen->plant_phase == PLANT_RUNNING);
}

static bool can_act(struct gen *gen, uint32_t s) {
    if (gen->slots[s].phase != PHASE_IDLE) {
        return true;
    }
    if (is_plant_slot(gen, s)) {
        return gen->plant_phase == PLANT_RUNNING && gen->script_next < gen->script_count;
    }
    bool only_key_held = gen->key_count == 1 && plant_reserves(gen, 0);
    return gen->invoked < gen->options->op_count && !only_key_held;
}

static int act(struct gen *gen, uint32_t s) {
    struct slot *slot = &gen->slots[s];
    if (slot->phase == PHASE_INVOKED) {
        return take_effect(gen, slot);
    }
    if (slot->phase == PHASE_APPLIED) {
        return complete(gen, slot);
    }
    if (is_plant_slot(gen, s)) {
        return invoke(gen, slot, &gen->script[gen->script_next++]);
    }
    uint32_t key = 0;
    bool found = random_key(gen, &key);
    STOA_ASSERT(found);
    struct gen_op op;
    random_op(gen, key, &op);
    gen->invoked++;
    return invoke(gen, slot, &op);
}

static int run(struct gen *gen) {
    uint32_t count = gen->options->process_count;
    for (;;) {
        if (gen->ghost_count > 0 && stoa_prng_below(&gen->prng, 16) == 0) {
            int rc = apply_ghost(gen);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        plant_advance(gen);
        uint32_t start = (uint32_t)stoa_prng_below(&gen->prng, count);
        uint32_t actor = UINT32_MAX;
        for (uint32_t i = 0; i < count && actor == UINT32_MAX; i++) {
            actor = can_act(gen, (start + i) % count) ? (start + i) % count : UINT32_MAX;
        }
        if (actor == UINT32_MAX) {
            /* Nobody can move: every operation is done, and so is the plant. */
            STOA_ASSERT(gen->plant_phase == PLANT_OFF || gen->plant_phase == PLANT_DONE);
            return 0;
        }
        int rc = act(gen, actor);
        if (rc != 0) {
            return rc;
        }
    }
}

static bool options_valid(const struct stoa_check_gen_options *options) {
    return stoa_check_gen_plant_fits(options->model, options->plant) && options->key_count >= 1 &&
           options->key_count <= STOA_CHECK_GEN_KEYS_MAX && options->process_count >= 1 &&
           options->process_count <= STOA_CHECK_GEN_PROCESSES_MAX &&
           options->op_count <= STOA_CHECK_GEN_OPERATIONS_MAX &&
           options->info_per_mille + options->fail_per_mille <= 1000;
}

static void gen_free(struct gen *gen) {
    for (uint32_t s = 0; gen->slots != NULL && s < gen->options->process_count; s++) {
        stoa_buf_free(&gen->slots[s].result);
    }
    for (uint32_t k = 0; gen->objects != NULL && k <= gen->key_count; k++) {
        stoa_free(gen->objects[k].items);
    }
    stoa_free(gen->slots);
    stoa_free(gen->objects);
    stoa_free(gen->in_flight);
    stoa_free(gen->info_count);
    stoa_free(gen->info_delta_sum);
    stoa_free(gen->ghosts);
}

int stoa_check_gen(const struct stoa_check_gen_options *options, struct stoa_buf *out,
                   struct stoa_check_gen_report *report) {
    memset(report, 0, sizeof *report);
    if (!options_valid(options)) {
        return STOA_ERR_INVALID;
    }
    struct gen gen = {.options = options, .report = report, .out = out, .next_value = 1};
    gen.key_count = options->key_count;
    gen.plant_phase = options->plant == STOA_CHECK_PLANT_NONE ? PLANT_OFF : PLANT_PENDING;
    stoa_prng_init(&gen.prng, options->seed);
    size_t keys = (size_t)options->key_count + 1; /* the last is the plant's spare key */
    gen.slots = stoa_calloc(options->process_count, sizeof *gen.slots);
    gen.objects = stoa_calloc(keys, sizeof *gen.objects);
    gen.in_flight = stoa_calloc(keys, sizeof *gen.in_flight);
    gen.info_count = stoa_calloc(keys, sizeof *gen.info_count);
    gen.info_delta_sum = stoa_calloc(keys, sizeof *gen.info_delta_sum);
    int rc = 0;
    if (gen.slots == NULL || gen.objects == NULL || gen.in_flight == NULL ||
        gen.info_count == NULL || gen.info_delta_sum == NULL) {
        rc = STOA_ERR_NOMEM;
    }
    for (uint32_t s = 0; rc == 0 && s < options->process_count; s++) {
        gen.slots[s].process = s;
        stoa_buf_init(&gen.slots[s].result, SIZE_MAX / 2);
    }
    rc = rc != 0 ? rc : run(&gen);
    gen_free(&gen);
    return rc;
}
