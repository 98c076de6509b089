/*
 * check_util: the helpers of check_int.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/check_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

int check_append_format(struct stoa_buf *buf, const char *format, ...) {
    char small[256];
    va_list arguments;
    va_start(arguments, format);
    int needed = vsnprintf(small, sizeof small, format, arguments);
    va_end(arguments);
    STOA_ASSERT(needed >= 0);
    if ((size_t)needed < sizeof small) {
        return stoa_buf_append(buf, small, (size_t)needed);
    }
    int rc = stoa_buf_reserve(buf, (size_t)needed + 1);
    if (rc != 0) {
        return rc;
    }
    va_start(arguments, format);
    int written = vsnprintf((char *)buf->data + buf->length, (size_t)needed + 1, format, arguments);
    va_end(arguments);
    STOA_ASSERT(written == needed);
    buf->length += (size_t)needed;
    return 0;
}

int check_append_cut(struct stoa_buf *buf, const char *text, size_t length) {
    if (length <= STOA_CHECK_QUOTE_BYTES_MAX) {
        return stoa_buf_append(buf, text, length);
    }
    int rc = stoa_buf_append(buf, text, STOA_CHECK_QUOTE_BYTES_MAX);
    return rc != 0 ? rc : stoa_buf_append(buf, "...", 3);
}

int check_append_quoted(struct stoa_buf *buf, const char *text, size_t length) {
    bool cut = length > STOA_CHECK_QUOTE_BYTES_MAX;
    size_t shown = cut ? STOA_CHECK_QUOTE_BYTES_MAX : length;
    int rc = stoa_buf_append_byte(buf, '"');
    for (size_t i = 0; i < shown && rc == 0; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            rc = check_append_format(buf, "\\%c", c);
        } else if (c < 0x20) {
            rc = check_append_format(buf, "\\u%04x", c);
        } else {
            rc = stoa_buf_append_byte(buf, c);
        }
    }
    if (rc == 0 && cut) {
        rc = stoa_buf_append(buf, "...", 3);
    }
    return rc != 0 ? rc : stoa_buf_append_byte(buf, '"');
}

int check_buf_terminate(struct stoa_buf *buf) {
    int rc = stoa_buf_append_byte(buf, 0);
    if (rc == 0) {
        buf->length--;
    }
    return rc;
}

void check_table_init(struct check_table *table) {
    memset(table, 0, sizeof *table);
}

void check_table_free(struct check_table *table) {
    stoa_free(table->slots);
    check_table_init(table);
}

static size_t slot_of(const struct check_table *table, uint64_t key) {
    return (size_t)check_mix64(key) & (table->capacity - 1);
}

bool check_table_get(const struct check_table *table, uint64_t key, uint32_t *value) {
    if (table->capacity == 0) {
        return false;
    }
    for (size_t i = slot_of(table, key);; i = (i + 1) & (table->capacity - 1)) {
        const struct check_table_slot *slot = &table->slots[i];
        if (!slot->used) {
            return false;
        }
        if (slot->key == key) {
            *value = slot->value;
            return true;
        }
    }
}

static void put_fresh(struct check_table *table, uint64_t key, uint32_t value) {
    size_t i = slot_of(table, key);
    while (table->slots[i].used) {
        i = (i + 1) & (table->capacity - 1);
    }
    table->slots[i] = (struct check_table_slot){.key = key, .value = value, .used = true};
    table->count++;
}

static int grow(struct check_table *table) {
    size_t capacity = table->capacity == 0 ? 16 : table->capacity * 2;
    struct check_table_slot *slots = stoa_calloc(capacity, sizeof *slots);
    if (slots == NULL) {
        return STOA_ERR_NOMEM;
    }
    struct check_table old = *table;
    table->slots = slots;
    table->capacity = capacity;
    table->count = 0;
    for (size_t i = 0; i < old.capacity; i++) {
        if (old.slots[i].used) {
            put_fresh(table, old.slots[i].key, old.slots[i].value);
        }
    }
    stoa_free(old.slots);
    return 0;
}

int check_table_put(struct check_table *table, uint64_t key, uint32_t value) {
    if (table->capacity != 0) {
        for (size_t i = slot_of(table, key); table->slots[i].used;
             i = (i + 1) & (table->capacity - 1)) {
            if (table->slots[i].key == key) {
                table->slots[i].value = value;
                return 0;
            }
        }
    }
    if ((table->count + 1) * 2 > table->capacity) {
        int rc = grow(table);
        if (rc != 0) {
            return rc;
        }
    }
    put_fresh(table, key, value);
    return 0;
}

void check_table_remove(struct check_table *table, uint64_t key) {
    if (table->capacity == 0) {
        return;
    }
    size_t mask = table->capacity - 1;
    size_t i = slot_of(table, key);
    while (table->slots[i].used && table->slots[i].key != key) {
        i = (i + 1) & mask;
    }
    if (!table->slots[i].used) {
        return;
    }
    /* Backward-shift: move later entries of the probe run into the hole when their home
     * slot is not between the hole and them. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; table->slots[j].used; j = (j + 1) & mask) {
        size_t home = slot_of(table, table->slots[j].key);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            table->slots[hole] = table->slots[j];
            hole = j;
        }
    }
    table->slots[hole].used = false;
    table->count--;
}
