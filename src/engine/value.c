#include "engine/value.h"

#include <string.h>
#include <xxhash.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* The ring of a deque: slot (head + i) & (capacity - 1) holds element i. Invariant: a deque
 * value's pointer is NULL exactly when it has no elements, so an empty deque costs nothing. */
struct stoa_deque {
    size_t head;
    size_t length;
    size_t capacity;      /* a power of two, >= STOA_DEQUE_CAPACITY_MIN */
    size_t element_bytes; /* the footprint of the elements, kept so the footprint is O(1) */
    struct stoa_deque_element *slots[];
};

/* One block: the header, then the id, then the data. */
struct stoa_object {
    int64_t creation_time_ms;
    int64_t ttl_s;
    int64_t last_modified_ms;
    uint32_t id_length;
    uint32_t data_length;
    uint8_t bytes[];
};

_Static_assert(STOA_VALUE_BYTES_MAX <= UINT32_MAX, "element and bytes lengths fit in uint32_t");
_Static_assert(STOA_OBJECT_ID_BYTES_MAX <= UINT32_MAX, "object id lengths fit in uint32_t");

/* ---- footprints ---- */

static size_t block_bytes(size_t size) {
    return size + STOA_ALLOC_HEADER_BYTES;
}

static size_t ring_bytes(size_t capacity) {
    return block_bytes(sizeof(struct stoa_deque) + capacity * sizeof(struct stoa_deque_element *));
}

static size_t element_bytes(size_t length) {
    return block_bytes(sizeof(struct stoa_deque_element) + length);
}

static size_t object_bytes(size_t id_length, size_t data_length) {
    return block_bytes(sizeof(struct stoa_object) + id_length + data_length);
}

size_t stoa_value_footprint(const struct stoa_value *value) {
    STOA_ASSERT(value != NULL);
    switch (value->type) {
    case STOA_VALUE_NONE:
        return 0;
    case STOA_VALUE_BYTES:
        return value->as.bytes.capacity == 0 ? 0 : block_bytes(value->as.bytes.capacity);
    case STOA_VALUE_DEQUE: {
        const struct stoa_deque *deque = value->as.deque;
        return deque == NULL ? 0 : ring_bytes(deque->capacity) + deque->element_bytes;
    }
    case STOA_VALUE_OBJECT:
        return object_bytes(value->as.object->id_length, value->as.object->data_length);
    }
    STOA_UNREACHABLE();
}

/* ---- every type ---- */

void stoa_value_init(struct stoa_value *value) {
    STOA_ASSERT(value != NULL);
    *value = (struct stoa_value){.type = STOA_VALUE_NONE};
}

static struct stoa_deque_element **slot(const struct stoa_deque *deque, size_t index) {
    STOA_ASSERT(index < deque->capacity);
    /* The array is const only for readers; writers pass their own deque. */
    struct stoa_deque *ring = (struct stoa_deque *)deque;
    return &ring->slots[(deque->head + index) & (deque->capacity - 1)];
}

static void deque_free(struct stoa_deque *deque) {
    if (deque == NULL) {
        return;
    }
    for (size_t i = 0; i < deque->length; i++) {
        stoa_free(*slot(deque, i));
    }
    stoa_free(deque);
}

void stoa_value_free(struct stoa_value *value) {
    STOA_ASSERT(value != NULL);
    switch (value->type) {
    case STOA_VALUE_NONE:
        break;
    case STOA_VALUE_BYTES:
        stoa_free(value->as.bytes.data);
        break;
    case STOA_VALUE_DEQUE:
        deque_free(value->as.deque);
        break;
    case STOA_VALUE_OBJECT:
        stoa_free(value->as.object);
        break;
    }
    stoa_value_init(value);
}

static struct stoa_deque_element *element_make(const void *data, size_t length) {
    STOA_ASSERT(length <= STOA_VALUE_BYTES_MAX);
    struct stoa_deque_element *element = stoa_alloc(sizeof(*element) + length);
    if (element == NULL) {
        return NULL;
    }
    element->length = (uint32_t)length;
    if (length > 0) {
        memcpy(element->data, data, length);
    }
    return element;
}

/* The smallest ring capacity that holds length elements. */
static size_t ring_capacity_for(size_t length) {
    size_t capacity = STOA_DEQUE_CAPACITY_MIN;
    while (capacity < length) {
        capacity *= 2;
    }
    return capacity;
}

static int deque_copy(struct stoa_deque **copy, const struct stoa_deque *deque) {
    if (deque == NULL) {
        *copy = NULL;
        return STOA_OK;
    }
    size_t capacity = ring_capacity_for(deque->length);
    struct stoa_deque *ring =
        stoa_alloc(sizeof(*ring) + capacity * sizeof(struct stoa_deque_element *));
    if (ring == NULL) {
        return STOA_ERR_NOMEM;
    }
    *ring = (struct stoa_deque){.capacity = capacity, .element_bytes = deque->element_bytes};
    for (size_t i = 0; i < deque->length; i++) {
        const struct stoa_deque_element *element = *slot(deque, i);
        ring->slots[i] = element_make(element->data, element->length);
        if (ring->slots[i] == NULL) {
            deque_free(ring);
            return STOA_ERR_NOMEM;
        }
        ring->length++;
    }
    *copy = ring;
    return STOA_OK;
}

int stoa_value_copy(struct stoa_value *copy, const struct stoa_value *value) {
    STOA_ASSERT(copy != NULL && value != NULL);
    STOA_ASSERT(copy->type == STOA_VALUE_NONE);
    switch (value->type) {
    case STOA_VALUE_NONE:
        return STOA_OK;
    case STOA_VALUE_BYTES:
        return stoa_value_bytes_set(copy, value->as.bytes.data, value->as.bytes.length);
    case STOA_VALUE_DEQUE: {
        struct stoa_deque *deque = NULL;
        int result = deque_copy(&deque, value->as.deque);
        if (result == STOA_OK) {
            *copy = (struct stoa_value){.type = STOA_VALUE_DEQUE, .as.deque = deque};
        }
        return result;
    }
    case STOA_VALUE_OBJECT: {
        struct stoa_object_fields fields;
        stoa_value_object_get(value, &fields);
        return stoa_value_object_set(copy, &fields);
    }
    }
    STOA_UNREACHABLE();
}

static bool same_bytes(const void *a, size_t a_length, const void *b, size_t b_length) {
    return a_length == b_length && (a_length == 0 || memcmp(a, b, a_length) == 0);
}

static bool deque_equal(const struct stoa_deque *a, const struct stoa_deque *b) {
    size_t length = a == NULL ? 0 : a->length;
    if (length != (b == NULL ? 0 : b->length)) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        const struct stoa_deque_element *x = *slot(a, i);
        const struct stoa_deque_element *y = *slot(b, i);
        if (!same_bytes(x->data, x->length, y->data, y->length)) {
            return false;
        }
    }
    return true;
}

bool stoa_value_equal(const struct stoa_value *a, const struct stoa_value *b) {
    STOA_ASSERT(a != NULL && b != NULL);
    if (a->type != b->type) {
        return false;
    }
    switch (a->type) {
    case STOA_VALUE_NONE:
        return true;
    case STOA_VALUE_BYTES:
        return same_bytes(a->as.bytes.data, a->as.bytes.length, b->as.bytes.data,
                          b->as.bytes.length);
    case STOA_VALUE_DEQUE:
        return deque_equal(a->as.deque, b->as.deque);
    case STOA_VALUE_OBJECT: {
        const struct stoa_object *x = a->as.object;
        const struct stoa_object *y = b->as.object;
        return x->creation_time_ms == y->creation_time_ms && x->ttl_s == y->ttl_s &&
               x->last_modified_ms == y->last_modified_ms && x->id_length == y->id_length &&
               same_bytes(x->bytes, (size_t)x->id_length + x->data_length, y->bytes,
                          (size_t)y->id_length + y->data_length);
    }
    }
    STOA_UNREACHABLE();
}

/* ---- digest ---- */

static uint64_t hash_piece(uint64_t hash, const void *data, size_t length) {
    static const uint8_t nothing[1];
    return XXH3_64bits_withSeed(length > 0 ? data : nothing, length, hash);
}

/* Hashes an integer as 8 little-endian bytes, so the digest is the same on every machine. */
static uint64_t hash_u64(uint64_t hash, uint64_t number) {
    uint8_t bytes[8];
    for (size_t i = 0; i < 8; i++) {
        bytes[i] = (uint8_t)(number >> (8 * i));
    }
    return hash_piece(hash, bytes, sizeof(bytes));
}

static uint64_t deque_digest(const struct stoa_deque *deque, uint64_t hash) {
    size_t length = deque == NULL ? 0 : deque->length;
    hash = hash_u64(hash, length);
    for (size_t i = 0; i < length; i++) {
        const struct stoa_deque_element *element = *slot(deque, i);
        hash = hash_u64(hash, element->length);
        hash = hash_piece(hash, element->data, element->length);
    }
    return hash;
}

uint64_t stoa_value_digest(const struct stoa_value *value, uint64_t seed) {
    STOA_ASSERT(value != NULL);
    uint64_t hash = hash_u64(seed, (uint64_t)value->type);
    switch (value->type) {
    case STOA_VALUE_NONE:
        return hash;
    case STOA_VALUE_BYTES:
        hash = hash_u64(hash, value->as.bytes.length);
        return hash_piece(hash, value->as.bytes.data, value->as.bytes.length);
    case STOA_VALUE_DEQUE:
        return deque_digest(value->as.deque, hash);
    case STOA_VALUE_OBJECT: {
        const struct stoa_object *object = value->as.object;
        hash = hash_u64(hash, (uint64_t)object->creation_time_ms);
        hash = hash_u64(hash, (uint64_t)object->ttl_s);
        hash = hash_u64(hash, (uint64_t)object->last_modified_ms);
        hash = hash_u64(hash, object->id_length);
        hash = hash_piece(hash, object->bytes, object->id_length);
        hash = hash_u64(hash, object->data_length);
        return hash_piece(hash, object->bytes + object->id_length, object->data_length);
    }
    }
    STOA_UNREACHABLE();
}

/* ---- bytes ---- */

int stoa_value_bytes_set(struct stoa_value *value, const void *data, size_t length) {
    STOA_ASSERT(value != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (length > STOA_VALUE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    uint8_t *copy = NULL;
    if (length > 0) {
        copy = stoa_alloc(length);
        if (copy == NULL) {
            return STOA_ERR_NOMEM;
        }
        memcpy(copy, data, length);
    }
    stoa_value_free(value);
    value->type = STOA_VALUE_BYTES;
    value->as.bytes.data = copy;
    value->as.bytes.length = (uint32_t)length;
    value->as.bytes.capacity = (uint32_t)length;
    return STOA_OK;
}

/* The allocation an append that needs length bytes in all grows to. */
static size_t bytes_capacity_for(size_t length) {
    if (length < STOA_BYTES_PREALLOC_MAX) {
        return length * 2;
    }
    return length + STOA_BYTES_PREALLOC_MAX;
}

size_t stoa_value_bytes_append_growth(const struct stoa_value *value, size_t length) {
    STOA_ASSERT(value != NULL && value->type == STOA_VALUE_BYTES);
    size_t needed = (size_t)value->as.bytes.length + length;
    size_t capacity = value->as.bytes.capacity;
    if (needed <= capacity) {
        return 0;
    }
    size_t old_bytes = capacity == 0 ? 0 : block_bytes(capacity);
    return block_bytes(bytes_capacity_for(needed)) - old_bytes;
}

int stoa_value_bytes_append(struct stoa_value *value, const void *data, size_t length) {
    STOA_ASSERT(value != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (value->type != STOA_VALUE_BYTES) {
        return STOA_ERR_TYPE;
    }
    size_t old_length = value->as.bytes.length;
    if (length > STOA_VALUE_BYTES_MAX - old_length) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t needed = old_length + length;
    if (needed > value->as.bytes.capacity) {
        size_t capacity = bytes_capacity_for(needed);
        uint8_t *grown = stoa_realloc(value->as.bytes.data, capacity);
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        value->as.bytes.data = grown;
        value->as.bytes.capacity = (uint32_t)capacity;
    }
    if (length > 0) {
        memcpy(value->as.bytes.data + old_length, data, length);
    }
    value->as.bytes.length = (uint32_t)needed;
    return STOA_OK;
}

int stoa_value_bytes_write(struct stoa_value *value, size_t offset, const void *data,
                           size_t length) {
    STOA_ASSERT(value != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (value->type != STOA_VALUE_BYTES) {
        return STOA_ERR_TYPE;
    }
    if (offset > STOA_VALUE_BYTES_MAX || length > STOA_VALUE_BYTES_MAX - offset) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t old_length = value->as.bytes.length;
    size_t end = offset + length;
    if (end > value->as.bytes.capacity) {
        size_t capacity = bytes_capacity_for(end);
        uint8_t *grown = stoa_realloc(value->as.bytes.data, capacity);
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        value->as.bytes.data = grown;
        value->as.bytes.capacity = (uint32_t)capacity;
    }
    if (offset > old_length) {
        memset(value->as.bytes.data + old_length, 0, offset - old_length);
    }
    if (length > 0) {
        memcpy(value->as.bytes.data + offset, data, length);
    }
    if (end > old_length) {
        value->as.bytes.length = (uint32_t)end;
    }
    return STOA_OK;
}

void stoa_value_bytes_get(const struct stoa_value *value, const uint8_t **data, size_t *length) {
    STOA_ASSERT(value != NULL && data != NULL && length != NULL);
    STOA_ASSERT(value->type == STOA_VALUE_BYTES);
    *data = value->as.bytes.length == 0 ? NULL : value->as.bytes.data;
    *length = value->as.bytes.length;
}

/* Parses Redis's strict decimal int64 (string2ll): an optional '-', then digits with no
 * leading zero, or exactly "0". */
static bool parse_int64(const uint8_t *text, size_t length, int64_t *number) {
    if (length == 0 || length > STOA_COUNTER_TEXT_BYTES_MAX) {
        return false;
    }
    if (length == 1 && text[0] == '0') {
        *number = 0;
        return true;
    }
    bool negative = text[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == length || text[i] < '1' || text[i] > '9') {
        return false;
    }
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t magnitude = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (magnitude > (limit - digit) / 10) {
            return false;
        }
        magnitude = magnitude * 10 + digit;
    }
    /* -2^63 has no positive int64 counterpart, so negate in unsigned arithmetic. */
    *number = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return true;
}

/* Writes number in decimal at the end of text; returns where it starts. */
static size_t format_int64(int64_t number, uint8_t text[STOA_COUNTER_TEXT_BYTES_MAX]) {
    uint64_t magnitude = number < 0 ? 0 - (uint64_t)number : (uint64_t)number;
    size_t start = STOA_COUNTER_TEXT_BYTES_MAX;
    do {
        text[--start] = (uint8_t)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (number < 0) {
        text[--start] = '-';
    }
    return start;
}

int stoa_value_counter_get(const struct stoa_value *value, int64_t *number) {
    STOA_ASSERT(value != NULL && number != NULL);
    if (value->type != STOA_VALUE_BYTES) {
        return STOA_ERR_TYPE;
    }
    if (!parse_int64(value->as.bytes.data, value->as.bytes.length, number)) {
        return STOA_ERR_INVALID;
    }
    return STOA_OK;
}

int stoa_value_counter_add(struct stoa_value *value, int64_t delta, int64_t *result) {
    STOA_ASSERT(result != NULL);
    int64_t number = 0;
    int status = stoa_value_counter_get(value, &number);
    if (status != STOA_OK) {
        return status;
    }
    if ((delta > 0 && number > INT64_MAX - delta) || (delta < 0 && number < INT64_MIN - delta)) {
        return STOA_ERR_RANGE;
    }
    number += delta;
    uint8_t text[STOA_COUNTER_TEXT_BYTES_MAX];
    size_t start = format_int64(number, text);
    size_t length = STOA_COUNTER_TEXT_BYTES_MAX - start;
    if (length <= value->as.bytes.capacity) {
        memcpy(value->as.bytes.data, text + start, length);
        value->as.bytes.length = (uint32_t)length;
    } else {
        status = stoa_value_bytes_set(value, text + start, length);
        if (status != STOA_OK) {
            return status;
        }
    }
    *result = number;
    return STOA_OK;
}

/* ---- object ---- */

int stoa_value_object_set(struct stoa_value *value, const struct stoa_object_fields *fields) {
    STOA_ASSERT(value != NULL && fields != NULL);
    STOA_ASSERT(fields->id != NULL || fields->id_length == 0);
    STOA_ASSERT(fields->data != NULL || fields->data_length == 0);
    if (fields->id_length > STOA_OBJECT_ID_BYTES_MAX ||
        fields->data_length > STOA_VALUE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_object *object =
        stoa_alloc(sizeof(*object) + fields->id_length + fields->data_length);
    if (object == NULL) {
        return STOA_ERR_NOMEM;
    }
    *object = (struct stoa_object){
        .creation_time_ms = fields->creation_time_ms,
        .ttl_s = fields->ttl_s,
        .last_modified_ms = fields->last_modified_ms,
        .id_length = (uint32_t)fields->id_length,
        .data_length = (uint32_t)fields->data_length,
    };
    if (fields->id_length > 0) {
        memcpy(object->bytes, fields->id, fields->id_length);
    }
    if (fields->data_length > 0) {
        memcpy(object->bytes + fields->id_length, fields->data, fields->data_length);
    }
    stoa_value_free(value);
    *value = (struct stoa_value){.type = STOA_VALUE_OBJECT, .as.object = object};
    return STOA_OK;
}

void stoa_value_object_get(const struct stoa_value *value, struct stoa_object_fields *fields) {
    STOA_ASSERT(value != NULL && fields != NULL);
    STOA_ASSERT(value->type == STOA_VALUE_OBJECT);
    const struct stoa_object *object = value->as.object;
    *fields = (struct stoa_object_fields){
        .id = object->id_length == 0 ? NULL : object->bytes,
        .id_length = object->id_length,
        .data = object->data_length == 0 ? NULL : object->bytes + object->id_length,
        .data_length = object->data_length,
        .creation_time_ms = object->creation_time_ms,
        .ttl_s = object->ttl_s,
        .last_modified_ms = object->last_modified_ms,
    };
}

/* ---- deque ---- */

void stoa_value_deque_init(struct stoa_value *value) {
    STOA_ASSERT(value != NULL);
    stoa_value_free(value);
    *value = (struct stoa_value){.type = STOA_VALUE_DEQUE, .as.deque = NULL};
}

size_t stoa_value_deque_length(const struct stoa_value *value) {
    STOA_ASSERT(value != NULL && value->type == STOA_VALUE_DEQUE);
    return value->as.deque == NULL ? 0 : value->as.deque->length;
}

/* Makes room for one more element: allocates the first ring, or doubles a full one (the
 * wrapped part moves up into the new half). Returns 0 or STOA_ERR_NOMEM (unchanged). */
static int ring_reserve_one(struct stoa_value *value) {
    struct stoa_deque *deque = value->as.deque;
    if (deque != NULL && deque->length < deque->capacity) {
        return STOA_OK;
    }
    size_t old_capacity = deque == NULL ? 0 : deque->capacity;
    size_t capacity = deque == NULL ? STOA_DEQUE_CAPACITY_MIN : old_capacity * 2;
    struct stoa_deque *ring =
        stoa_realloc(deque, sizeof(*ring) + capacity * sizeof(struct stoa_deque_element *));
    if (ring == NULL) {
        return STOA_ERR_NOMEM;
    }
    if (deque == NULL) {
        *ring = (struct stoa_deque){0};
    }
    /* Elements that wrapped past the old end move to the same offsets in the new half. */
    size_t end = ring->head + ring->length;
    for (size_t i = 0; end > old_capacity && i < end - old_capacity; i++) {
        ring->slots[old_capacity + i] = ring->slots[i];
    }
    ring->capacity = capacity;
    value->as.deque = ring;
    return STOA_OK;
}

/* After removals: frees an empty ring, or halves the ring while it is at most a quarter
 * full. The elements are first moved in place to slots [0, length), so a failed realloc
 * only leaves spare bytes at the end of the block; the capacity (and the footprint) are
 * the same whether or not the allocator shrinks the block, so replicas agree. */
static void ring_shrink(struct stoa_value *value) {
    struct stoa_deque *deque = value->as.deque;
    if (deque->length == 0) {
        stoa_free(deque);
        value->as.deque = NULL;
        return;
    }
    size_t capacity = deque->capacity;
    while (capacity > STOA_DEQUE_CAPACITY_MIN && deque->length <= capacity / 4) {
        capacity /= 2;
    }
    if (capacity == deque->capacity) {
        return;
    }
    size_t size = sizeof(struct stoa_deque_element *);
    if (deque->head + deque->length <= deque->capacity) {
        memmove(deque->slots, deque->slots + deque->head, deque->length * size);
    } else {
        /* length <= old capacity / 4, so the tail part [head, capacity) lies above the
         * first length slots, and only the wrapped front part can overlap its target. */
        size_t tail = deque->capacity - deque->head;
        memmove(deque->slots + tail, deque->slots, (deque->length - tail) * size);
        memmove(deque->slots, deque->slots + deque->head, tail * size);
    }
    deque->head = 0;
    deque->capacity = capacity;
    struct stoa_deque *smaller = stoa_realloc(deque, sizeof(*deque) + capacity * size);
    if (smaller != NULL) {
        value->as.deque = smaller;
    }
}

size_t stoa_value_deque_push_growth(const struct stoa_value *value, size_t length) {
    STOA_ASSERT(value != NULL && value->type == STOA_VALUE_DEQUE);
    const struct stoa_deque *deque = value->as.deque;
    size_t growth = element_bytes(length);
    if (deque == NULL) {
        growth += ring_bytes(STOA_DEQUE_CAPACITY_MIN);
    } else if (deque->length == deque->capacity) {
        growth += ring_bytes(deque->capacity * 2) - ring_bytes(deque->capacity);
    }
    return growth;
}

struct stoa_deque_element *stoa_value_deque_element_make(const void *data, size_t length) {
    STOA_ASSERT(data != NULL || length == 0);
    return element_make(data, length);
}

size_t stoa_value_deque_element_footprint(size_t length) {
    return element_bytes(length);
}

size_t stoa_value_deque_push_many_growth(const struct stoa_value *value, size_t count,
                                         size_t data_bytes) {
    STOA_ASSERT(value != NULL && value->type == STOA_VALUE_DEQUE);
    const struct stoa_deque *deque = value->as.deque;
    size_t length = deque == NULL ? 0 : deque->length;
    size_t old_ring = deque == NULL ? 0 : ring_bytes(deque->capacity);
    size_t capacity = deque == NULL ? STOA_DEQUE_CAPACITY_MIN : deque->capacity;
    while (capacity < length + count) {
        capacity *= 2;
    }
    size_t new_ring = count == 0 && deque == NULL ? 0 : ring_bytes(capacity);
    return new_ring - old_ring + count * element_bytes(0) + data_bytes;
}

/* Grows the ring once so that count more elements fit. Returns 0 or STOA_ERR_NOMEM
 * (unchanged). The doubling matches ring_reserve_one's, so the footprint is the same as
 * after count single pushes. */
static int ring_reserve(struct stoa_value *value, size_t count) {
    struct stoa_deque *deque = value->as.deque;
    size_t length = deque == NULL ? 0 : deque->length;
    size_t old_capacity = deque == NULL ? 0 : deque->capacity;
    size_t capacity = deque == NULL ? STOA_DEQUE_CAPACITY_MIN : old_capacity;
    while (capacity < length + count) {
        capacity *= 2;
    }
    if (capacity == old_capacity) {
        return STOA_OK;
    }
    struct stoa_deque *ring =
        stoa_realloc(deque, sizeof(*ring) + capacity * sizeof(struct stoa_deque_element *));
    if (ring == NULL) {
        return STOA_ERR_NOMEM;
    }
    if (deque == NULL) {
        *ring = (struct stoa_deque){0};
    }
    /* Elements that wrapped past the old end move to the same offsets in the new part. */
    size_t end = ring->head + ring->length;
    for (size_t i = 0; end > old_capacity && i < end - old_capacity; i++) {
        ring->slots[old_capacity + i] = ring->slots[i];
    }
    ring->capacity = capacity;
    value->as.deque = ring;
    return STOA_OK;
}

int stoa_value_deque_push_elements(struct stoa_value *value, enum stoa_deque_end end,
                                   struct stoa_deque_element *const *elements, size_t count) {
    STOA_ASSERT(value != NULL && (elements != NULL || count == 0));
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    if (count > STOA_DEQUE_LENGTH_MAX - stoa_value_deque_length(value)) {
        return STOA_ERR_TOO_LARGE;
    }
    if (count == 0) {
        return STOA_OK;
    }
    int result = ring_reserve(value, count);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_deque *deque = value->as.deque;
    for (size_t i = 0; i < count; i++) {
        if (end == STOA_DEQUE_FRONT) {
            deque->head = (deque->head + deque->capacity - 1) & (deque->capacity - 1);
            *slot(deque, 0) = elements[i];
        } else {
            *slot(deque, deque->length) = elements[i];
        }
        deque->length++;
        deque->element_bytes += element_bytes(elements[i]->length);
    }
    return STOA_OK;
}

/* Checks a new element's type and bounds and makes it. */
static int element_for_insert(const struct stoa_value *value, const void *data, size_t length,
                              struct stoa_deque_element **element) {
    STOA_ASSERT(data != NULL || length == 0);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    if (length > STOA_VALUE_BYTES_MAX || stoa_value_deque_length(value) >= STOA_DEQUE_LENGTH_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    *element = element_make(data, length);
    return *element == NULL ? STOA_ERR_NOMEM : STOA_OK;
}

int stoa_value_deque_insert(struct stoa_value *value, size_t index, const void *data,
                            size_t length) {
    STOA_ASSERT(value != NULL);
    struct stoa_deque_element *element = NULL;
    int result = element_for_insert(value, data, length, &element);
    if (result != STOA_OK) {
        return result;
    }
    STOA_ASSERT(index <= stoa_value_deque_length(value));
    /* The element is made before the ring grows, so a failure changes nothing. */
    result = ring_reserve_one(value);
    if (result != STOA_OK) {
        stoa_free(element);
        return result;
    }
    struct stoa_deque *deque = value->as.deque;
    if (index < deque->length / 2) {
        /* Move elements [0, index) one slot toward the front. */
        deque->head = (deque->head + deque->capacity - 1) & (deque->capacity - 1);
        for (size_t i = 0; i < index; i++) {
            *slot(deque, i) = *slot(deque, i + 1);
        }
    } else {
        /* Move elements [index, length) one slot toward the back. */
        for (size_t i = deque->length; i > index; i--) {
            *slot(deque, i) = *slot(deque, i - 1);
        }
    }
    *slot(deque, index) = element;
    deque->length++;
    deque->element_bytes += element_bytes(length);
    return STOA_OK;
}

int stoa_value_deque_push(struct stoa_value *value, enum stoa_deque_end end, const void *data,
                          size_t length) {
    STOA_ASSERT(value != NULL);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    size_t index = end == STOA_DEQUE_FRONT ? 0 : stoa_value_deque_length(value);
    return stoa_value_deque_insert(value, index, data, length);
}

/* Takes element index out of the ring, closing the gap from the shorter side, and returns
 * it (owned). */
static struct stoa_deque_element *take(struct stoa_value *value, size_t index) {
    struct stoa_deque *deque = value->as.deque;
    STOA_ASSERT(deque != NULL && index < deque->length);
    struct stoa_deque_element *element = *slot(deque, index);
    if (index < deque->length / 2) {
        for (size_t i = index; i > 0; i--) {
            *slot(deque, i) = *slot(deque, i - 1);
        }
        deque->head = (deque->head + 1) & (deque->capacity - 1);
    } else {
        for (size_t i = index; i + 1 < deque->length; i++) {
            *slot(deque, i) = *slot(deque, i + 1);
        }
    }
    deque->length--;
    deque->element_bytes -= element_bytes(element->length);
    ring_shrink(value);
    return element;
}

int stoa_value_deque_pop(struct stoa_value *value, enum stoa_deque_end end,
                         struct stoa_deque_element **element) {
    STOA_ASSERT(value != NULL && element != NULL);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    size_t length = stoa_value_deque_length(value);
    if (length == 0) {
        return STOA_ERR_EMPTY;
    }
    *element = take(value, end == STOA_DEQUE_FRONT ? 0 : length - 1);
    return STOA_OK;
}

int stoa_value_deque_remove(struct stoa_value *value, size_t index) {
    STOA_ASSERT(value != NULL);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    if (index >= stoa_value_deque_length(value)) {
        return STOA_ERR_RANGE;
    }
    stoa_free(take(value, index));
    return STOA_OK;
}

/* Resolves a Redis index (negative counts from the back) to a position. */
static int resolve_index(const struct stoa_value *value, int64_t index, size_t *position) {
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    int64_t length = (int64_t)stoa_value_deque_length(value);
    if (index < 0) {
        index += length;
    }
    if (index < 0 || index >= length) {
        return STOA_ERR_RANGE;
    }
    *position = (size_t)index;
    return STOA_OK;
}

int stoa_value_deque_get(const struct stoa_value *value, int64_t index, const uint8_t **data,
                         size_t *length) {
    STOA_ASSERT(value != NULL && data != NULL && length != NULL);
    size_t position = 0;
    int result = resolve_index(value, index, &position);
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_deque_element *element = *slot(value->as.deque, position);
    *data = element->data;
    *length = element->length;
    return STOA_OK;
}

int stoa_value_deque_set(struct stoa_value *value, int64_t index, const void *data, size_t length) {
    STOA_ASSERT(value != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    size_t position = 0;
    int result = resolve_index(value, index, &position);
    if (result != STOA_OK) {
        return result;
    }
    if (length > STOA_VALUE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_deque_element *element = element_make(data, length);
    if (element == NULL) {
        return STOA_ERR_NOMEM;
    }
    struct stoa_deque *deque = value->as.deque;
    struct stoa_deque_element **place = slot(deque, position);
    deque->element_bytes -= element_bytes((*place)->length);
    deque->element_bytes += element_bytes(length);
    stoa_free(*place);
    *place = element;
    return STOA_OK;
}

void stoa_value_deque_range(const struct stoa_value *value, int64_t start, int64_t stop,
                            size_t *first, size_t *count) {
    STOA_ASSERT(first != NULL && count != NULL);
    int64_t length = (int64_t)stoa_value_deque_length(value);
    start = start < 0 ? start + length : start;
    stop = stop < 0 ? stop + length : stop;
    start = start < 0 ? 0 : start;
    if (start > stop || start >= length) {
        *first = 0;
        *count = 0;
        return;
    }
    stop = stop >= length ? length - 1 : stop;
    *first = (size_t)start;
    *count = (size_t)(stop - start + 1);
}

int stoa_value_deque_trim(struct stoa_value *value, int64_t start, int64_t stop) {
    STOA_ASSERT(value != NULL);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    struct stoa_deque *deque = value->as.deque;
    if (deque == NULL) {
        return STOA_OK;
    }
    size_t first = 0;
    size_t count = 0;
    stoa_value_deque_range(value, start, stop, &first, &count);
    for (size_t i = 0; i < deque->length; i++) {
        if (i < first || i >= first + count) {
            struct stoa_deque_element *element = *slot(deque, i);
            deque->element_bytes -= element_bytes(element->length);
            stoa_free(element);
        }
    }
    deque->head = (deque->head + first) & (deque->capacity - 1);
    deque->length = count;
    ring_shrink(value);
    return STOA_OK;
}

int stoa_value_deque_find(const struct stoa_value *value, size_t start, const void *data,
                          size_t length, size_t *index) {
    STOA_ASSERT(value != NULL && index != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (value->type != STOA_VALUE_DEQUE) {
        return STOA_ERR_TYPE;
    }
    size_t deque_length = stoa_value_deque_length(value);
    for (size_t i = start; i < deque_length; i++) {
        const struct stoa_deque_element *element = *slot(value->as.deque, i);
        if (same_bytes(element->data, element->length, data, length)) {
            *index = i;
            return STOA_OK;
        }
    }
    return STOA_ERR_NOT_FOUND;
}
