/*
 * value: the typed values the keyspace holds, and what each costs in memory.
 *
 * A value is one of three types (DESIGN.md §4):
 * - bytes: a binary-safe string. Counters are bytes holding a decimal int64, as in Redis, so
 *   GET of a counter and INCR of a string that looks like a number both work.
 * - deque: a sequence of byte elements with O(1) push and pop at both ends and O(1) access by
 *   index (Geomys PUSH/LPOP/RPOP, Redis lists). It is a ring of element pointers that
 *   doubles when full and halves when three quarters empty; each element is one block
 *   holding its length and bytes.
 * - object: Nomad's GameObject: an id, a creation time, an absolute ttl in unix seconds
 *   (0 = never), the value bytes and a last-modified time.
 *
 * struct stoa_value is a small tagged struct meant to be embedded (the keyspace embeds it
 * in each entry); it holds no pointer to itself, so it may be moved by copying the struct,
 * after which only the copy is used. Every value knows its footprint: the bytes of the heap
 * blocks it owns, each counted with its STOA_ALLOC_HEADER_BYTES, not counting the struct
 * itself. The footprint depends only on the operations applied (never on the allocator), so
 * replicas that apply the same operations account the same bytes.
 *
 * Errors: an operation on a value of another type returns STOA_ERR_TYPE; data longer than
 * STOA_VALUE_BYTES_MAX, or a deque longer than STOA_DEQUE_LENGTH_MAX, STOA_ERR_TOO_LARGE; an
 * index outside the deque STOA_ERR_RANGE; a failed allocation STOA_ERR_NOMEM. On any error
 * the value is unchanged.
 *
 * Ownership: a value owns its blocks; free them with stoa_value_free. Data passed in is
 * borrowed for the call and copied. Pointers handed out (bytes_get, deque_get, object_get)
 * are borrowed and valid until the value is next changed or freed.
 */
#ifndef STOA_ENGINE_VALUE_H
#define STOA_ENGINE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The numbers are stored in snapshots and digests: never renumber. */
enum stoa_value_type {
    STOA_VALUE_NONE = 0, /* a value that holds nothing; never stored in the keyspace */
    STOA_VALUE_BYTES = 1,
    STOA_VALUE_DEQUE = 2,
    STOA_VALUE_OBJECT = 3,
};

enum stoa_deque_end {
    STOA_DEQUE_FRONT = 0, /* the left end in Redis: LPUSH, LPOP, index 0 */
    STOA_DEQUE_BACK = 1,  /* the right end: RPUSH, RPOP, Geomys PUSH */
};

struct stoa_deque;  /* private to value.c */
struct stoa_object; /* private to value.c */

/* Read type freely; everything else only through the functions below. */
struct stoa_value {
    enum stoa_value_type type;
    union {
        struct {
            uint8_t *data;     /* NULL when capacity is 0 */
            uint32_t length;   /* bytes in use */
            uint32_t capacity; /* bytes allocated */
        } bytes;
        struct stoa_deque *deque;   /* NULL for an empty deque that never grew */
        struct stoa_object *object; /* never NULL */
    } as;
};

/* An element popped from a deque. Returned owned; free with stoa_free. */
struct stoa_deque_element {
    uint32_t length;
    uint8_t data[];
};

/* A GameObject's fields. Given to object_set, they are borrowed and copied; filled by
 * object_get, the pointers are borrowed from the value. */
struct stoa_object_fields {
    const uint8_t *id; /* at most STOA_OBJECT_ID_BYTES_MAX bytes */
    size_t id_length;
    const uint8_t *data; /* at most STOA_VALUE_BYTES_MAX bytes */
    size_t data_length;
    int64_t creation_time_ms; /* unix ms */
    int64_t ttl_s;            /* absolute unix seconds; 0 = never */
    int64_t last_modified_ms; /* unix ms */
};

/* ---- every type ---- */

/* Makes value hold nothing (STOA_VALUE_NONE). Allocates nothing. */
void stoa_value_init(struct stoa_value *value);

/* Frees what value owns; value then holds nothing. */
void stoa_value_free(struct stoa_value *value);

/* Bytes of heap blocks value owns, with their allocation headers (see above). O(1). */
size_t stoa_value_footprint(const struct stoa_value *value);

/* Makes *copy (holding nothing) a deep copy of value. Returns 0 or STOA_ERR_NOMEM (*copy
 * still holds nothing). The copy's footprint may be smaller: spare capacity is not copied. */
int stoa_value_copy(struct stoa_value *copy, const struct stoa_value *value);

/* Whether a and b hold the same type and contents (capacity does not matter). */
bool stoa_value_equal(const struct stoa_value *a, const struct stoa_value *b);

/* A 64-bit hash of the type and contents, chained from seed. The same contents give the same
 * hash on every machine and build (XXH3 over a fixed serialization); capacity does not
 * matter. For state digests, not for security. */
uint64_t stoa_value_digest(const struct stoa_value *value, uint64_t seed);

/* ---- bytes ---- */

/* Makes value bytes holding a copy of data (any previous content is freed on success). The
 * allocation is exact: length bytes, none for an empty value. */
int stoa_value_bytes_set(struct stoa_value *value, const void *data, size_t length);

/* Appends data to a bytes value, growing its allocation geometrically (see
 * STOA_BYTES_PREALLOC_MAX), so repeated appends are amortized O(1) per byte. */
int stoa_value_bytes_append(struct stoa_value *value, const void *data, size_t length);

/* How much stoa_value_bytes_append(value, ..., length) would add to the footprint, so a
 * caller can reserve memory before appending. value must be bytes and the result fit. */
size_t stoa_value_bytes_append_growth(const struct stoa_value *value, size_t length);

/* Writes data at offset of a bytes value (SETRANGE), first padding with zero bytes up to
 * offset if the value is shorter; grows like append. offset + length must be at most
 * STOA_VALUE_BYTES_MAX (else STOA_ERR_TOO_LARGE). Growth: stoa_value_bytes_append_growth of
 * the bytes past the current length. */
int stoa_value_bytes_write(struct stoa_value *value, size_t offset, const void *data,
                           size_t length);

/* The bytes of a bytes value (asserted): *data is NULL when *length is 0. */
void stoa_value_bytes_get(const struct stoa_value *value, const uint8_t **data, size_t *length);

/* Reads a counter: a bytes value that is exactly a decimal int64 ("-12", "0"; no sign on
 * zero, no leading zeros, no spaces, at most STOA_COUNTER_TEXT_BYTES_MAX bytes). Returns 0,
 * STOA_ERR_TYPE if value is not bytes, or STOA_ERR_INVALID if the bytes are no such number
 * (Redis's "value is not an integer or out of range"). */
int stoa_value_counter_get(const struct stoa_value *value, int64_t *number);

/* Adds delta to a counter and sets *result. Errors as counter_get, and STOA_ERR_RANGE when
 * the sum overflows int64. Allocates only when the new text outgrows the allocation. */
int stoa_value_counter_add(struct stoa_value *value, int64_t delta, int64_t *result);

/* ---- deque ---- */

/* Makes value an empty deque (any previous content is freed). Allocates nothing: the ring
 * is allocated by the first push. */
void stoa_value_deque_init(struct stoa_value *value);

size_t stoa_value_deque_length(const struct stoa_value *value);

/* Pushes a copy of data at one end. */
int stoa_value_deque_push(struct stoa_value *value, enum stoa_deque_end end, const void *data,
                          size_t length);

/* How much pushing or inserting one element of length bytes would add to the footprint
 * (the element, and the ring's doubling when it is full). value must be a deque. */
size_t stoa_value_deque_push_growth(const struct stoa_value *value, size_t length);

/* Makes an element holding a copy of data (length <= STOA_VALUE_BYTES_MAX). Returns owned
 * (free with stoa_free, or give to stoa_value_deque_push_elements) or NULL. */
struct stoa_deque_element *stoa_value_deque_element_make(const void *data, size_t length);

/* The footprint one element of length bytes adds to a deque. */
size_t stoa_value_deque_element_footprint(size_t length);

/* How much pushing count elements holding data_bytes bytes in all would add to the
 * footprint (the elements, and the ring's growth). value must be a deque. */
size_t stoa_value_deque_push_many_growth(const struct stoa_value *value, size_t count,
                                         size_t data_bytes);

/* Pushes count elements (made by stoa_value_deque_element_make) at one end, in order: each
 * becomes the new front (or back), as Redis's LPUSH a b c gives c b a. The ring grows once
 * first: on STOA_ERR_NOMEM (or STOA_ERR_TYPE, STOA_ERR_TOO_LARGE) nothing changed and the
 * elements are still the caller's; on success the deque TAKES them. */
int stoa_value_deque_push_elements(struct stoa_value *value, enum stoa_deque_end end,
                                   struct stoa_deque_element *const *elements, size_t count);

/* Removes the element at one end and sets *element (owned: free with stoa_free). Returns 0,
 * STOA_ERR_TYPE, or STOA_ERR_EMPTY. Never fails for lack of memory. */
int stoa_value_deque_pop(struct stoa_value *value, enum stoa_deque_end end,
                         struct stoa_deque_element **element);

/* Element index (0 is the front; -1 the back, as in Redis) as borrowed bytes. */
int stoa_value_deque_get(const struct stoa_value *value, int64_t index, const uint8_t **data,
                         size_t *length);

/* Replaces element index (negative counts from the back) with a copy of data (LSET). */
int stoa_value_deque_set(struct stoa_value *value, int64_t index, const void *data, size_t length);

/* Inserts a copy of data so that it becomes element index, 0 <= index <= length (index ==
 * length pushes at the back). Moves the elements of the shorter side: O(min(index,
 * length - index)). */
int stoa_value_deque_insert(struct stoa_value *value, size_t index, const void *data,
                            size_t length);

/* Removes element index, 0 <= index < length. O(min(index, length - index)). */
int stoa_value_deque_remove(struct stoa_value *value, size_t index);

/* Resolves Redis's inclusive [start, stop] range (negative counts from the back; clamped)
 * to *first and *count (0 when the range is empty). value must be a deque. */
void stoa_value_deque_range(const struct stoa_value *value, int64_t start, int64_t stop,
                            size_t *first, size_t *count);

/* Keeps only the inclusive range [start, stop] (LTRIM semantics; the deque may become
 * empty). Never fails for lack of memory. */
int stoa_value_deque_trim(struct stoa_value *value, int64_t start, int64_t stop);

/* Sets *index to the first element at or after start equal to data. Returns 0,
 * STOA_ERR_TYPE or STOA_ERR_NOT_FOUND. O(length). */
int stoa_value_deque_find(const struct stoa_value *value, size_t start, const void *data,
                          size_t length, size_t *index);

/* ---- object ---- */

/* Makes value an object holding copies of fields (any previous content is freed on
 * success). One allocation. Returns 0, STOA_ERR_TOO_LARGE or STOA_ERR_NOMEM. */
int stoa_value_object_set(struct stoa_value *value, const struct stoa_object_fields *fields);

/* Fills *fields from an object value (asserted); the pointers are borrowed. */
void stoa_value_object_get(const struct stoa_value *value, struct stoa_object_fields *fields);

#endif
