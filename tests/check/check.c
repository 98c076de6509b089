/*
 * check: the linearizability search (check.h).
 *
 * Per key: entries 1..2n of a doubly linked list hold the invoke ("call") and completion
 * ("return") of each of the key's n searched operations in real-time order; entry 0 is the
 * head and entry 2n+1 the tail. Taking an operation into the linearization "lifts" its two
 * entries out of the list; backtracking puts them back (dancing links), so the walk only ever
 * sees operations that have not taken effect. The set of operations taken effect has an
 * incremental Zobrist hash, and the model state is an interned id, so a configuration is
 * (set, state id) and the cache compares those.
 *
 * The cache stores each set compactly, since a key may have many thousands of operations
 * while only a few are ever in play at once: `low`, the first acknowledged operation that has
 * not taken effect (every acknowledged one before it has); the info operations' bits (few);
 * and the acknowledged operations' bits from low's word up to the last one taken effect (a
 * window about as wide as the concurrency). A 10,000-operation key costs tens of bytes per
 * configuration instead of 1,250.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "check/check_int.h"
#include "check/model.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

#define CALL_FLAG 0x80000000u
#define EMPTY UINT32_MAX

struct state_ref {
    uint64_t hash;
    uint32_t offset; /* into states.words */
    uint32_t length;
};

/* Interned model states: id -> words, and a hash index over them. */
struct states {
    int64_t *words;
    size_t word_count, word_capacity;
    struct state_ref *refs;
    uint32_t count, capacity;
    uint32_t *slots; /* state ids, EMPTY when free */
    size_t slot_capacity;
};

struct cache_slot {
    uint64_t hash;
    uint64_t offset; /* of the set's encoding in cache.words */
    uint32_t state;
    uint32_t length; /* words of the encoding; 0 when the slot is free */
};

/* The configurations seen: (encoded set, state id). */
struct cache {
    struct cache_slot *slots;
    size_t slot_capacity, count;
    uint64_t *words; /* the encodings, one after another */
    size_t word_count, word_capacity;
};

struct search {
    const struct stoa_check_history *history;
    const uint32_t *ops; /* history op indices, in invoke order */
    uint32_t n;
    uint32_t *prev, *next;   /* the list, 2n + 2 entries */
    uint32_t *entry;         /* per entry: local op index, | CALL_FLAG for an invoke */
    uint32_t *call_of;       /* per local op: its call entry, then per op its return entry */
    uint32_t *twin;          /* per local op: the previous info op of the same effect, or EMPTY */
    uint64_t *definite_bits; /* per local op, acknowledged ones only */
    uint64_t *info_bits;     /* per info op, by info_index */
    uint32_t *info_index;    /* per local op: its index among the info ops, or EMPTY */
    size_t words, info_words;
    uint32_t low;  /* the first acknowledged op not taken effect, or n */
    uint32_t high; /* 1 + the last acknowledged op taken effect, or 0 */
    uint64_t *key; /* the current set's encoding (1 + info_words + words) */
    uint64_t *zobrist;
    uint64_t hash;
    /* Deques: per value pushed (by value_slot), how many pushes put it in and how many
     * acknowledged pops and reads that return it have not taken effect yet. */
    struct check_table value_slot;
    uint32_t *push_count, *observers_left;
    uint32_t *stack_call, *stack_state, *stack_low, *stack_high;
    uint32_t depth;
    uint32_t definite_left;
    int64_t *scratch; /* room for the longest state + 1 */
    struct states states;
    struct cache cache;
    uint64_t bytes, bytes_max;
    uint32_t best_depth; /* the explanation's depth; 0 until one is recorded */
    struct stoa_check_explanation *explanation;
    uint32_t explanation_state;
};

const char *stoa_check_verdict_name(enum stoa_check_verdict verdict) {
    switch (verdict) {
    case STOA_CHECK_LINEARIZABLE:
        return "linearizable";
    case STOA_CHECK_NOT_LINEARIZABLE:
        return "not linearizable";
    case STOA_CHECK_UNKNOWN:
        return "unknown: search limit reached";
    }
    return "?";
}

/* Grows a buffer inside the search's byte budget. Returns 0, STOA_ERR_FULL (over budget) or
 * STOA_ERR_NOMEM. */
static int budget_grow(struct search *search, void **array, size_t *capacity, size_t needed,
                       size_t item_bytes, size_t first) {
    if (needed <= *capacity) {
        return 0;
    }
    size_t capacity_new = *capacity == 0 ? first : *capacity * 2;
    while (capacity_new < needed) {
        capacity_new *= 2;
    }
    uint64_t added = (uint64_t)(capacity_new - *capacity) * item_bytes;
    if (search->bytes + added > search->bytes_max) {
        /* Not a doubling, then: just what is needed, if that fits. */
        capacity_new = needed;
        added = (uint64_t)(capacity_new - *capacity) * item_bytes;
        if (search->bytes + added > search->bytes_max) {
            return STOA_ERR_FULL;
        }
    }
    void *grown = stoa_realloc(*array, capacity_new * item_bytes);
    if (grown == NULL) {
        return STOA_ERR_NOMEM;
    }
    *array = grown;
    *capacity = capacity_new;
    search->bytes += added;
    return 0;
}

static uint64_t hash_words(const int64_t *words, size_t length) {
    uint64_t hash = 0x9e3779b97f4a7c15ULL ^ length;
    for (size_t i = 0; i < length; i++) {
        hash = check_mix64(hash ^ (uint64_t)words[i]);
    }
    return hash;
}

static int states_rehash(struct search *search) {
    struct states *states = &search->states;
    size_t capacity = states->slot_capacity == 0 ? 64 : states->slot_capacity * 2;
    uint64_t bytes = capacity * sizeof(uint32_t);
    if (search->bytes + bytes > search->bytes_max) {
        return STOA_ERR_FULL;
    }
    uint32_t *slots = stoa_alloc(capacity * sizeof *slots);
    if (slots == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(slots, 0xff, capacity * sizeof *slots);
    for (uint32_t id = 0; id < states->count; id++) {
        size_t i = (size_t)states->refs[id].hash & (capacity - 1);
        while (slots[i] != EMPTY) {
            i = (i + 1) & (capacity - 1);
        }
        slots[i] = id;
    }
    search->bytes += bytes;
    search->bytes -= states->slot_capacity * sizeof(uint32_t);
    stoa_free(states->slots);
    states->slots = slots;
    states->slot_capacity = capacity;
    return 0;
}

/* Finds or adds a state; sets *id. */
static int state_intern(struct search *search, const int64_t *words, size_t length, uint32_t *id) {
    struct states *states = &search->states;
    uint64_t hash = hash_words(words, length);
    if (states->slot_capacity != 0) {
        for (size_t i = (size_t)hash & (states->slot_capacity - 1); states->slots[i] != EMPTY;
             i = (i + 1) & (states->slot_capacity - 1)) {
            const struct state_ref *ref = &states->refs[states->slots[i]];
            if (ref->hash == hash && ref->length == length &&
                (length == 0 ||
                 memcmp(&states->words[ref->offset], words, length * sizeof *words) == 0)) {
                *id = states->slots[i];
                return 0;
            }
        }
    }
    if ((states->count + 1) * 2 > states->slot_capacity) {
        int rc = states_rehash(search);
        if (rc != 0) {
            return rc;
        }
    }
    size_t ref_capacity = states->capacity;
    int rc = budget_grow(search, (void **)&states->refs, &ref_capacity, states->count + 1,
                         sizeof *states->refs, 64);
    states->capacity = (uint32_t)ref_capacity;
    rc = rc != 0 ? rc
                 : budget_grow(search, (void **)&states->words, &states->word_capacity,
                               states->word_count + length + 1, sizeof *states->words, 256);
    if (rc != 0) {
        return rc;
    }
    if (states->word_count + length > UINT32_MAX || states->count == EMPTY - 1) {
        return STOA_ERR_FULL;
    }
    uint32_t new_id = states->count++;
    if (length != 0) {
        memcpy(&states->words[states->word_count], words, length * sizeof *words);
    }
    states->refs[new_id] = (struct state_ref){
        .hash = hash, .offset = (uint32_t)states->word_count, .length = (uint32_t)length};
    states->word_count += length;
    size_t i = (size_t)hash & (states->slot_capacity - 1);
    while (states->slots[i] != EMPTY) {
        i = (i + 1) & (states->slot_capacity - 1);
    }
    states->slots[i] = new_id;
    *id = new_id;
    return 0;
}

static uint64_t configuration_hash(const struct search *search, uint32_t state) {
    return search->hash ^ check_mix64((uint64_t)state + 0x51ab1eULL);
}

static int cache_rehash(struct search *search) {
    struct cache *cache = &search->cache;
    size_t capacity = cache->slot_capacity == 0 ? 1024 : cache->slot_capacity * 2;
    uint64_t bytes = capacity * sizeof(struct cache_slot);
    if (search->bytes + bytes > search->bytes_max) {
        return STOA_ERR_FULL;
    }
    struct cache_slot *slots = stoa_calloc(capacity, sizeof *slots);
    if (slots == NULL) {
        return STOA_ERR_NOMEM;
    }
    for (size_t j = 0; j < cache->slot_capacity; j++) {
        if (cache->slots[j].length == 0) {
            continue;
        }
        size_t i = (size_t)cache->slots[j].hash & (capacity - 1);
        while (slots[i].length != 0) {
            i = (i + 1) & (capacity - 1);
        }
        slots[i] = cache->slots[j];
    }
    search->bytes += bytes;
    search->bytes -= cache->slot_capacity * sizeof(struct cache_slot);
    stoa_free(cache->slots);
    cache->slots = slots;
    cache->slot_capacity = capacity;
    return 0;
}

/* Encodes the current set into search->key (see the top of the file); returns its words. */
static uint32_t encode_set(struct search *search) {
    uint64_t *key = search->key;
    uint32_t first = search->low / 64;
    uint32_t window = search->high > search->low ? (search->high - 1) / 64 + 1 - first : 0;
    key[0] = (uint64_t)search->low | (uint64_t)window << 32;
    memcpy(key + 1, search->info_bits, search->info_words * sizeof *key);
    if (window != 0) {
        memcpy(key + 1 + search->info_words, search->definite_bits + first, window * sizeof *key);
    }
    return (uint32_t)(1 + search->info_words + window);
}

/* Adds the current configuration (set, state). Returns 1 if it was new, 0 if seen before,
 * or an error. */
static int cache_add(struct search *search, uint32_t state) {
    struct cache *cache = &search->cache;
    uint64_t hash = configuration_hash(search, state);
    uint32_t length = encode_set(search);
    size_t i = 0;
    if (cache->slot_capacity != 0) {
        for (i = (size_t)hash & (cache->slot_capacity - 1); cache->slots[i].length != 0;
             i = (i + 1) & (cache->slot_capacity - 1)) {
            const struct cache_slot *slot = &cache->slots[i];
            if (slot->hash == hash && slot->state == state && slot->length == length &&
                memcmp(&cache->words[slot->offset], search->key, length * sizeof(uint64_t)) == 0) {
                return 0;
            }
        }
    }
    if ((cache->count + 1) * 2 > cache->slot_capacity) {
        int rc = cache_rehash(search);
        if (rc != 0) {
            return rc;
        }
        i = (size_t)hash & (cache->slot_capacity - 1);
        while (cache->slots[i].length != 0) {
            i = (i + 1) & (cache->slot_capacity - 1);
        }
    }
    int rc = budget_grow(search, (void **)&cache->words, &cache->word_capacity,
                         cache->word_count + length, sizeof(uint64_t), 4096);
    if (rc != 0) {
        return rc;
    }
    memcpy(&cache->words[cache->word_count], search->key, length * sizeof(uint64_t));
    cache->slots[i] = (struct cache_slot){
        .hash = hash, .offset = cache->word_count, .state = state, .length = length};
    cache->word_count += length;
    cache->count++;
    return 1;
}

/* Each op's return entry index is kept beside its call in return_of; lift and unlift use it. */
static uint32_t return_entry(const struct search *search, uint32_t call) {
    uint32_t local = search->entry[call] & ~CALL_FLAG;
    return search->call_of[search->n + local];
}

static void lift_op(struct search *search, uint32_t call) {
    uint32_t match = return_entry(search, call);
    search->next[search->prev[call]] = search->next[call];
    search->prev[search->next[call]] = search->prev[call];
    search->next[search->prev[match]] = search->next[match];
    search->prev[search->next[match]] = search->prev[match];
}

static void unlift_op(struct search *search, uint32_t call) {
    uint32_t match = return_entry(search, call);
    search->next[search->prev[match]] = match;
    search->prev[search->next[match]] = match;
    search->next[search->prev[call]] = call;
    search->prev[search->next[call]] = call;
}

static bool is_definite(const struct search *search, uint32_t local) {
    return search->history->ops[search->ops[local]].status == STOA_CHECK_STATUS_OK;
}

static bool bit_get(const uint64_t *bits, uint32_t index) {
    return (bits[index / 64] & (1ULL << (index % 64))) != 0;
}

static void bit_flip(uint64_t *bits, uint32_t index) {
    bits[index / 64] ^= 1ULL << (index % 64);
}

/* Records that local took effect (low and high move along). */
static void mark(struct search *search, uint32_t local) {
    search->hash ^= search->zobrist[local];
    if (!is_definite(search, local)) {
        bit_flip(search->info_bits, search->info_index[local]);
        return;
    }
    bit_flip(search->definite_bits, local);
    search->high = local + 1 > search->high ? local + 1 : search->high;
    while (search->low < search->n &&
           (!is_definite(search, search->low) || bit_get(search->definite_bits, search->low))) {
        search->low++;
    }
}

/* Undoes mark(local); low and high come back from where the caller saved them. */
static void unmark(struct search *search, uint32_t local, uint32_t low, uint32_t high) {
    search->hash ^= search->zobrist[local];
    if (!is_definite(search, local)) {
        bit_flip(search->info_bits, search->info_index[local]);
    } else {
        bit_flip(search->definite_bits, local);
    }
    search->low = low;
    search->high = high;
}

/* Remembers the deepest point reached, where the operation of return entry `blocked` could
 * not be passed. */
static void record_failure(struct search *search, uint32_t blocked, uint32_t state) {
    struct stoa_check_explanation *explanation = search->explanation;
    if (explanation->candidate_count != 0 && search->depth <= search->best_depth) {
        return;
    }
    search->best_depth = search->depth;
    explanation->linearized_count = search->depth;
    uint32_t shown = search->depth < STOA_CHECK_EXPLAIN_OPERATIONS_MAX
                         ? search->depth
                         : STOA_CHECK_EXPLAIN_OPERATIONS_MAX;
    for (uint32_t i = 0; i < shown; i++) {
        uint32_t call = search->stack_call[search->depth - shown + i];
        explanation->last[i] = search->ops[search->entry[call] & ~CALL_FLAG];
    }
    explanation->last_count = shown;
    uint32_t blocked_op = search->ops[search->entry[blocked] & ~CALL_FLAG];
    explanation->blocked = blocked_op;
    explanation->candidates[0] = blocked_op;
    explanation->candidate_count = 1;
    for (uint32_t e = search->next[0]; e != blocked; e = search->next[e]) {
        if ((search->entry[e] & CALL_FLAG) == 0 ||
            explanation->candidate_count == STOA_CHECK_EXPLAIN_OPERATIONS_MAX) {
            continue;
        }
        uint32_t op = search->ops[search->entry[e] & ~CALL_FLAG];
        if (op != blocked_op) {
            explanation->candidates[explanation->candidate_count++] = op;
        }
    }
    search->explanation_state = state;
}

static bool is_pop(const struct stoa_check_op *op) {
    return op->f == STOA_CHECK_F_POP_FRONT || op->f == STOA_CHECK_F_POP_BACK;
}

/* Adds delta to the count of pending observers of each value op (acknowledged) returns. */
static void count_observers(struct search *search, const struct stoa_check_op *op, int delta) {
    const struct stoa_check_history *history = search->history;
    uint32_t slot = 0;
    if (is_pop(op) && op->result != STOA_CHECK_VALUE_NULL &&
        check_table_get(&search->value_slot, (uint64_t)op->result, &slot)) {
        search->observers_left[slot] += (uint32_t)delta;
    }
    if (op->f != STOA_CHECK_F_READ || op->result == STOA_CHECK_VALUE_NULL) {
        return;
    }
    const struct stoa_check_value *list = &history->values[op->result];
    for (uint32_t i = 0; i < list->element_count; i++) {
        uint64_t element = history->element_pool[list->element_offset + i];
        if (check_table_get(&search->value_slot, element, &slot)) {
            search->observers_left[slot] += (uint32_t)delta;
        }
    }
}

/* Whether an info pop of a deque is useless or impossible here: on an empty deque it changes
 * nothing (an order with it is as valid without it); and it cannot remove a value pushed only
 * once that an acknowledged pop or read has still to return (docs/checking.md). */
static bool info_pop_pruned(struct search *search, const struct stoa_check_op *op,
                            const int64_t *deque, size_t length) {
    if (length == 0) {
        return true;
    }
    uint64_t value = (uint64_t)deque[op->f == STOA_CHECK_F_POP_FRONT ? 0 : length - 1];
    uint32_t slot = 0;
    return check_table_get(&search->value_slot, value, &slot) && search->push_count[slot] == 1 &&
           search->observers_left[slot] > 0;
}

/* Tries to make the operation of call entry `call` take effect in state. Returns 1 if it
 * did (pushed), 0 if it cannot or the configuration was seen, or an error. */
static int try_call(struct search *search, uint32_t call, uint32_t *state) {
    uint32_t local = search->entry[call] & ~CALL_FLAG;
    const struct stoa_check_op *op = &search->history->ops[search->ops[local]];
    uint32_t twin = search->twin[local];
    if (twin != EMPTY && !bit_get(search->info_bits, search->info_index[twin])) {
        return 0; /* its earlier twin goes first (symmetry: the two are interchangeable) */
    }
    const struct state_ref *ref = &search->states.refs[*state];
    bool deque = search->history->model == STOA_CHECK_MODEL_DEQUE;
    bool definite = is_definite(search, local);
    if (deque && !definite && is_pop(op) &&
        info_pop_pruned(search, op, &search->states.words[ref->offset], ref->length)) {
        return 0;
    }
    size_t next_length = 0;
    if (!stoa_check_model_step(search->history, op, &search->states.words[ref->offset], ref->length,
                               search->scratch, &next_length)) {
        return 0;
    }
    uint32_t next_state = 0;
    int rc = state_intern(search, search->scratch, next_length, &next_state);
    if (rc != 0) {
        return rc;
    }
    uint32_t low = search->low;
    uint32_t high = search->high;
    mark(search, local);
    rc = cache_add(search, next_state);
    if (rc != 1) {
        unmark(search, local, low, high);
        return rc;
    }
    search->stack_call[search->depth] = call;
    search->stack_state[search->depth] = *state;
    search->stack_low[search->depth] = low;
    search->stack_high[search->depth] = high;
    search->depth++;
    *state = next_state;
    lift_op(search, call);
    search->definite_left -= definite ? 1 : 0;
    if (deque && definite) {
        count_observers(search, op, -1);
    }
    return 1;
}

/* The search loop. At each configuration it tries the acknowledged operations first and the
 * info ones only when it is stuck (they may take effect whenever, so they are best put in
 * where something needs them); both kinds are tried before it backtracks, so the order only
 * changes which valid order is found first. Returns the verdict, or an error (FULL: over
 * budget). */
static int run_search(struct search *search, enum stoa_check_verdict *verdict) {
    int64_t initial[1];
    size_t length = stoa_check_model_init(search->history->model, initial);
    uint32_t state = 0;
    int rc = state_intern(search, initial, length, &state);
    uint32_t e = search->next[0];
    bool info_phase = false;
    while (rc == 0) {
        if (search->definite_left == 0) {
            *verdict = STOA_CHECK_LINEARIZABLE;
            return 0;
        }
        STOA_ASSERT(e != 2 * search->n + 1);
        uint32_t local = search->entry[e] & ~CALL_FLAG;
        if ((search->entry[e] & CALL_FLAG) != 0) {
            rc = is_definite(search, local) == info_phase ? 0 : try_call(search, e, &state);
            info_phase = rc == 1 ? false : info_phase;
            e = rc == 1 ? search->next[0] : search->next[e];
            rc = rc == 1 ? 0 : rc;
            continue;
        }
        if (!info_phase) {
            info_phase = true;
            e = search->next[0];
            continue;
        }
        record_failure(search, e, state);
        if (search->depth == 0) {
            *verdict = STOA_CHECK_NOT_LINEARIZABLE;
            return 0;
        }
        search->depth--;
        uint32_t call = search->stack_call[search->depth];
        local = search->entry[call] & ~CALL_FLAG;
        state = search->stack_state[search->depth];
        unmark(search, local, search->stack_low[search->depth], search->stack_high[search->depth]);
        unlift_op(search, call);
        search->definite_left += is_definite(search, local) ? 1 : 0;
        if (search->history->model == STOA_CHECK_MODEL_DEQUE && is_definite(search, local)) {
            count_observers(search, &search->history->ops[search->ops[local]], 1);
        }
        info_phase = !is_definite(search, local);
        e = search->next[call];
    }
    return rc;
}

/* Orders list entries by the position of their event; info and open completions (position
 * UINT32_MAX) go last, in invoke order. */
struct event_ref {
    uint32_t position;
    uint32_t entry;
};

static int compare_events(const void *a, const void *b) {
    const struct event_ref *x = a;
    const struct event_ref *y = b;
    if (x->position != y->position) {
        return x->position < y->position ? -1 : 1;
    }
    return x->entry < y->entry ? -1 : (x->entry > y->entry ? 1 : 0);
}

/* Builds the list from the ops. Entry 2i+1 is op i's call and 2i+2 its return, before
 * sorting by time links them in event order. */
static int build_list(struct search *search) {
    uint32_t n = search->n;
    struct event_ref *events = stoa_alloc(2 * (size_t)n * sizeof *events + 1);
    if (events == NULL) {
        return STOA_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct stoa_check_op *op = &search->history->ops[search->ops[i]];
        bool open = op->status != STOA_CHECK_STATUS_OK;
        events[2 * i] = (struct event_ref){.position = op->invoke_position, .entry = 2 * i + 1};
        events[2 * i + 1] = (struct event_ref){
            .position = open ? UINT32_MAX : op->complete_position, .entry = 2 * i + 2};
        search->entry[2 * i + 1] = i | CALL_FLAG;
        search->entry[2 * i + 2] = i;
        search->call_of[i] = 2 * i + 1;
        search->call_of[n + i] = 2 * i + 2;
        search->definite_left += open ? 0 : 1;
    }
    qsort(events, 2 * (size_t)n, sizeof *events, compare_events);
    uint32_t previous = 0;
    for (uint32_t k = 0; k < 2 * n; k++) {
        search->next[previous] = events[k].entry;
        search->prev[events[k].entry] = previous;
        previous = events[k].entry;
    }
    search->next[previous] = 2 * n + 1;
    search->prev[2 * n + 1] = previous;
    stoa_free(events);
    return 0;
}

static bool same_effect(const struct stoa_check_op *a, const struct stoa_check_op *b) {
    return a->f == b->f && a->argument[0] == b->argument[0] && a->argument[1] == b->argument[1];
}

/* Links each info operation to the previous info operation with the same effect (f and
 * arguments). Such two are interchangeable: the earlier may take effect wherever the later
 * may, and neither has a result to match, so the search only lets the later one take effect
 * after the earlier has. This collapses, say, a counter's k info increments of 1 from 2^k
 * subsets to k + 1 counts. */
static int find_twins(struct search *search) {
    struct check_table last;
    check_table_init(&last);
    int rc = 0;
    for (uint32_t i = 0; i < search->n && rc == 0; i++) {
        const struct stoa_check_op *op = &search->history->ops[search->ops[i]];
        search->twin[i] = EMPTY;
        if (is_definite(search, i)) {
            continue;
        }
        uint64_t effect = check_mix64((uint64_t)op->argument[0] ^ check_mix64(op->f)) ^
                          check_mix64((uint64_t)op->argument[1] + 0x7717ULL);
        uint32_t previous = 0;
        if (check_table_get(&last, effect, &previous) &&
            same_effect(&search->history->ops[search->ops[previous]], op)) {
            search->twin[i] = previous;
        }
        rc = check_table_put(&last, effect, i);
    }
    check_table_free(&last);
    return rc;
}

/* Deques: numbers the values pushed and counts their pushes and pending observers. */
static int count_values(struct search *search) {
    const struct stoa_check_history *history = search->history;
    search->push_count = stoa_calloc((size_t)search->n + 1, sizeof(uint32_t));
    search->observers_left = stoa_calloc((size_t)search->n + 1, sizeof(uint32_t));
    if (search->push_count == NULL || search->observers_left == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint32_t slots = 0;
    for (uint32_t i = 0; i < search->n; i++) {
        const struct stoa_check_op *op = &history->ops[search->ops[i]];
        if (op->f != STOA_CHECK_F_PUSH_BACK && op->f != STOA_CHECK_F_PUSH_FRONT) {
            continue;
        }
        uint32_t slot = 0;
        if (!check_table_get(&search->value_slot, (uint64_t)op->argument[0], &slot)) {
            slot = slots++;
            int rc = check_table_put(&search->value_slot, (uint64_t)op->argument[0], slot);
            if (rc != 0) {
                return rc;
            }
        }
        search->push_count[slot]++;
    }
    for (uint32_t i = 0; i < search->n; i++) {
        if (is_definite(search, i)) {
            count_observers(search, &history->ops[search->ops[i]], 1);
        }
    }
    return 0;
}

static int search_init(struct search *search, uint32_t n) {
    size_t entries = 2 * (size_t)n + 2;
    search->n = n;
    search->words = n / 64 + 1;
    uint32_t info_count = 0;
    for (uint32_t i = 0; i < n; i++) {
        info_count += search->history->ops[search->ops[i]].status == STOA_CHECK_STATUS_OK ? 0 : 1;
    }
    search->info_words = info_count / 64 + 1;
    search->prev = stoa_alloc(entries * sizeof(uint32_t));
    search->next = stoa_alloc(entries * sizeof(uint32_t));
    search->entry = stoa_alloc(entries * sizeof(uint32_t));
    search->call_of = stoa_alloc(entries * sizeof(uint32_t));
    search->twin = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->definite_bits = stoa_calloc(search->words, sizeof(uint64_t));
    search->info_bits = stoa_calloc(search->info_words, sizeof(uint64_t));
    search->info_index = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->key = stoa_alloc((1 + search->info_words + search->words) * sizeof(uint64_t));
    search->stack_low = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->stack_high = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->zobrist = stoa_alloc(((size_t)n + 1) * sizeof(uint64_t));
    search->stack_call = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->stack_state = stoa_alloc(((size_t)n + 1) * sizeof(uint32_t));
    search->scratch = stoa_alloc(((size_t)n + 2) * sizeof(int64_t));
    if (search->prev == NULL || search->next == NULL || search->entry == NULL ||
        search->call_of == NULL || search->twin == NULL || search->definite_bits == NULL ||
        search->info_bits == NULL || search->info_index == NULL || search->key == NULL ||
        search->stack_low == NULL || search->stack_high == NULL || search->zobrist == NULL ||
        search->stack_call == NULL || search->stack_state == NULL || search->scratch == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    for (uint32_t i = 0; i < n; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        search->zobrist[i] = check_mix64(seed);
    }
    uint32_t info_next = 0;
    for (uint32_t i = 0; i < n; i++) {
        search->info_index[i] = is_definite(search, i) ? EMPTY : info_next++;
    }
    while (search->low < n && !is_definite(search, search->low)) {
        search->low++;
    }
    int rc = build_list(search);
    rc = rc != 0 ? rc : find_twins(search);
    return rc != 0 || search->history->model != STOA_CHECK_MODEL_DEQUE ? rc : count_values(search);
}

static void search_free(struct search *search) {
    stoa_free(search->prev);
    stoa_free(search->next);
    stoa_free(search->entry);
    stoa_free(search->call_of);
    stoa_free(search->twin);
    stoa_free(search->definite_bits);
    stoa_free(search->info_bits);
    stoa_free(search->info_index);
    stoa_free(search->key);
    stoa_free(search->stack_low);
    stoa_free(search->stack_high);
    stoa_free(search->push_count);
    stoa_free(search->observers_left);
    check_table_free(&search->value_slot);
    stoa_free(search->zobrist);
    stoa_free(search->stack_call);
    stoa_free(search->stack_state);
    stoa_free(search->scratch);
    stoa_free(search->states.words);
    stoa_free(search->states.refs);
    stoa_free(search->states.slots);
    stoa_free(search->cache.slots);
    stoa_free(search->cache.words);
}

static int render_explanation_state(struct search *search) {
    struct stoa_buf text;
    stoa_buf_init(&text, SIZE_MAX / 2);
    const struct state_ref *ref = &search->states.refs[search->explanation_state];
    int rc = stoa_check_model_render(search->history, &search->states.words[ref->offset],
                                     ref->length, &text);
    rc = rc != 0 ? rc : check_buf_terminate(&text);
    if (rc == 0) {
        search->explanation->state_text = (char *)text.data;
    } else {
        stoa_buf_free(&text);
    }
    return rc;
}

/* Whether the search places op: failed operations did not happen, and a read whose result
 * is unknown changes nothing. */
static bool is_searched(const struct stoa_check_op *op) {
    if (op->status == STOA_CHECK_STATUS_FAIL) {
        return false;
    }
    return op->f != STOA_CHECK_F_READ || (op->status == STOA_CHECK_STATUS_OK && op->result_known);
}

/* The value an info write, cas or push puts in, or EMPTY for other operations. */
static uint32_t value_put_in(const struct stoa_check_op *op) {
    bool info = op->status == STOA_CHECK_STATUS_INFO || op->status == STOA_CHECK_STATUS_OPEN;
    if (!info) {
        return EMPTY;
    }
    if (op->f == STOA_CHECK_F_WRITE || op->f == STOA_CHECK_F_PUSH_BACK ||
        op->f == STOA_CHECK_F_PUSH_FRONT) {
        return (uint32_t)op->argument[0];
    }
    return op->f == STOA_CHECK_F_CAS ? (uint32_t)op->argument[1] : EMPTY;
}

static int observe(const struct stoa_check_history *history, const struct stoa_check_op *op,
                   struct check_table *observed) {
    if (op->f == STOA_CHECK_F_CAS) {
        return check_table_put(observed, (uint64_t)op->argument[0], 1);
    }
    if (op->status != STOA_CHECK_STATUS_OK || !op->result_known) {
        return 0;
    }
    bool list = history->model == STOA_CHECK_MODEL_DEQUE && op->f == STOA_CHECK_F_READ;
    if (!list) {
        return check_table_put(observed, (uint64_t)op->result, 1);
    }
    const struct stoa_check_value *value = &history->values[op->result];
    int rc = 0;
    for (uint32_t i = 0; i < value->element_count && rc == 0; i++) {
        rc = check_table_put(observed, history->element_pool[value->element_offset + i], 1);
    }
    return rc;
}

/* Leaves out the info writes, cas and pushes whose value nobody observed (no read or pop
 * returned it, no cas expected it): a valid order that has one stays valid without it, since
 * nothing can have seen its state (docs/checking.md). This keeps info operations, the cause
 * of the search's blow-ups, to the ones that matter. Filters ops[0..*n) in place. */
static int prune_unobserved(const struct stoa_check_history *history, uint32_t *ops, uint32_t *n) {
    if (history->model == STOA_CHECK_MODEL_COUNTER) {
        return 0;
    }
    struct check_table observed;
    check_table_init(&observed);
    int rc = 0;
    for (uint32_t i = 0; i < *n && rc == 0; i++) {
        rc = observe(history, &history->ops[ops[i]], &observed);
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < *n && rc == 0; i++) {
        uint32_t value = value_put_in(&history->ops[ops[i]]);
        uint32_t ignored = 0;
        if (value == EMPTY || check_table_get(&observed, value, &ignored)) {
            ops[kept++] = ops[i];
        }
    }
    check_table_free(&observed);
    *n = rc == 0 ? kept : *n;
    return rc;
}

/* Checks one key whose searched operations are ops[0..n). */
static int check_key(const struct stoa_check_history *history, uint32_t *ops, uint32_t n,
                     uint64_t bytes_max, struct stoa_check_key_result *result) {
    int rc = prune_unobserved(history, ops, &n);
    struct search search = {.history = history, .ops = ops, .bytes_max = bytes_max};
    search.explanation = &result->explanation;
    enum stoa_check_verdict verdict = STOA_CHECK_UNKNOWN;
    rc = rc != 0 ? rc : search_init(&search, n);
    rc = rc != 0 ? rc : run_search(&search, &verdict);
    if (rc == STOA_ERR_FULL) {
        rc = 0;
        verdict = STOA_CHECK_UNKNOWN;
    }
    if (rc == 0 && verdict == STOA_CHECK_NOT_LINEARIZABLE) {
        rc = render_explanation_state(&search);
    }
    result->verdict = verdict;
    result->searched_count = n;
    result->cache_entries = search.cache.count;
    result->search_bytes = search.bytes;
    search_free(&search);
    return rc;
}

/* Groups the searched operations by key: order[start[k] .. start[k + 1]) are key k's. */
static int group_by_key(const struct stoa_check_history *history, uint32_t **order_out,
                        uint32_t **start_out) {
    uint32_t *start = stoa_calloc((size_t)history->key_count + 2, sizeof *start);
    uint32_t *order = stoa_alloc((size_t)history->op_count * sizeof *order + 1);
    if (start == NULL || order == NULL) {
        stoa_free(start);
        stoa_free(order);
        return STOA_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < history->op_count; i++) {
        if (is_searched(&history->ops[i])) {
            start[history->ops[i].key + 2]++;
        }
    }
    for (uint32_t k = 0; k < history->key_count; k++) {
        start[k + 2] += start[k + 1];
    }
    for (uint32_t i = 0; i < history->op_count; i++) {
        if (is_searched(&history->ops[i])) {
            order[start[history->ops[i].key + 1]++] = i;
        }
    }
    *order_out = order;
    *start_out = start;
    return 0;
}

int stoa_check_run(const struct stoa_check_history *history,
                   const struct stoa_check_options *options, struct stoa_check_result *result) {
    memset(result, 0, sizeof *result);
    uint64_t bytes_max = options != NULL && options->search_bytes_max != 0
                             ? options->search_bytes_max
                             : STOA_CHECK_SEARCH_BYTES_DEFAULT;
    uint32_t *order = NULL;
    uint32_t *start = NULL;
    result->keys = stoa_calloc((size_t)history->key_count + 1, sizeof *result->keys);
    int rc = result->keys == NULL ? STOA_ERR_NOMEM : group_by_key(history, &order, &start);
    result->key_count = history->key_count;
    result->op_count = history->op_count;
    result->verdict = STOA_CHECK_LINEARIZABLE;
    for (uint32_t k = 0; k < history->key_count && rc == 0; k++) {
        struct stoa_check_key_result *key = &result->keys[k];
        key->key = k;
        key->op_count = history->keys[k].op_count;
        rc = check_key(history, &order[start[k]], start[k + 1] - start[k], bytes_max, key);
        if (key->verdict == STOA_CHECK_NOT_LINEARIZABLE) {
            result->verdict = STOA_CHECK_NOT_LINEARIZABLE;
        } else if (key->verdict == STOA_CHECK_UNKNOWN &&
                   result->verdict == STOA_CHECK_LINEARIZABLE) {
            result->verdict = STOA_CHECK_UNKNOWN;
        }
    }
    stoa_free(order);
    stoa_free(start);
    if (rc != 0) {
        stoa_check_result_free(result);
    }
    return rc;
}

void stoa_check_result_free(struct stoa_check_result *result) {
    for (uint32_t k = 0; k < result->key_count && result->keys != NULL; k++) {
        stoa_free(result->keys[k].explanation.state_text);
    }
    stoa_free(result->keys);
    memset(result, 0, sizeof *result);
}

static int append_value(const struct stoa_check_history *history, int64_t id,
                        struct stoa_buf *out) {
    const struct stoa_check_value *value = &history->values[id];
    return check_append_cut(out, value->text, value->text_length);
}

/* The argument of op in words, with a leading space, or nothing. */
static int append_argument(const struct stoa_check_history *history, const struct stoa_check_op *op,
                           struct stoa_buf *out) {
    switch ((enum stoa_check_f)op->f) {
    case STOA_CHECK_F_WRITE:
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT: {
        int rc = stoa_buf_append_byte(out, ' ');
        return rc != 0 ? rc : append_value(history, op->argument[0], out);
    }
    case STOA_CHECK_F_CAS: {
        int rc = stoa_buf_append(out, " [", 2);
        rc = rc != 0 ? rc : append_value(history, op->argument[0], out);
        rc = rc != 0 ? rc : stoa_buf_append_byte(out, ',');
        rc = rc != 0 ? rc : append_value(history, op->argument[1], out);
        return rc != 0 ? rc : stoa_buf_append_byte(out, ']');
    }
    case STOA_CHECK_F_INCR:
        return check_append_format(out, " %lld", (long long)op->argument[0]);
    case STOA_CHECK_F_READ:
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
    case STOA_CHECK_F_COUNT:
        return 0;
    }
    return 0;
}

int stoa_check_describe_op(const struct stoa_check_history *history, uint32_t index,
                           struct stoa_buf *out) {
    const struct stoa_check_op *op = &history->ops[index];
    int rc = check_append_format(out, "process %lld: %s", (long long)op->process,
                                 stoa_check_f_name((enum stoa_check_f)op->f));
    rc = rc != 0 ? rc : append_argument(history, op, out);
    rc = rc != 0 ? rc : stoa_buf_append(out, " -> ", 4);
    bool counter = history->model == STOA_CHECK_MODEL_COUNTER;
    if (rc == 0 && op->status == STOA_CHECK_STATUS_OK && op->result_known) {
        rc = counter ? check_append_format(out, "%lld", (long long)op->result)
                     : append_value(history, op->result, out);
    } else if (rc == 0) {
        static const char *const words[] = {"ok", "fail", "info", "no reply"};
        rc = check_append_format(out, "%s", words[op->status]);
    }
    if (rc == 0 && op->complete_line != 0) {
        rc = check_append_format(out, " (lines %u-%u)", op->invoke_line, op->complete_line);
    } else if (rc == 0) {
        rc = check_append_format(out, " (line %u)", op->invoke_line);
    }
    return rc;
}

int stoa_check_explain(const struct stoa_check_history *history,
                       const struct stoa_check_key_result *key, struct stoa_buf *out) {
    const struct stoa_check_explanation *explanation = &key->explanation;
    int rc = check_append_format(out, "  %u of %u operations could be ordered",
                                 explanation->linearized_count, key->searched_count);
    if (rc == 0 && explanation->last_count != 0) {
        rc = check_append_format(out, "; the last %u of that order:\n", explanation->last_count);
    } else if (rc == 0) {
        rc = stoa_buf_append(out, ".\n", 2);
    }
    for (uint32_t i = 0; i < explanation->last_count && rc == 0; i++) {
        rc = stoa_buf_append(out, "    ", 4);
        rc = rc != 0 ? rc : stoa_check_describe_op(history, explanation->last[i], out);
        rc = rc != 0 ? rc : stoa_buf_append_byte(out, '\n');
    }
    if (rc == 0) {
        rc = check_append_format(out, "  state then: %s\n", explanation->state_text);
    }
    rc = rc != 0 ? rc
                 : check_append_format(out, "  this operation completed with no place to take "
                                            "effect before it:\n    ");
    rc = rc != 0 ? rc : stoa_check_describe_op(history, explanation->blocked, out);
    rc = rc != 0 ? rc : stoa_buf_append_byte(out, '\n');
    if (rc == 0 && explanation->candidate_count > 1) {
        rc = check_append_format(out, "  operations pending then (each was tried there; "
                                      "none leads to a valid order):\n");
    }
    for (uint32_t i = 1; i < explanation->candidate_count && rc == 0; i++) {
        rc = stoa_buf_append(out, "    ", 4);
        rc = rc != 0 ? rc : stoa_check_describe_op(history, explanation->candidates[i], out);
        rc = rc != 0 ? rc : stoa_buf_append_byte(out, '\n');
    }
    return rc;
}
