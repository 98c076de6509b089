/* The log ring: slots (snapshot_index, last_slot] held in a fixed array, slot s at s modulo
 * the capacity. Values are copied in when an entry is written, and freed when it is
 * overwritten or dropped by compaction. */
#include <string.h>

#include "consensus/paxos_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

bool paxos_slot_fits(const struct stoa_paxos *paxos, uint64_t slot) {
    return slot > paxos->snapshot_index && slot - paxos->snapshot_index <= paxos->capacity;
}

struct paxos_slot *paxos_slot_get(struct stoa_paxos *paxos, uint64_t slot) {
    if (slot <= paxos->snapshot_index || slot > paxos->last_slot) {
        return NULL;
    }
    return &paxos->slots[slot % paxos->capacity];
}

void paxos_slot_clear(struct paxos_slot *slot) {
    stoa_free(slot->value);
    *slot = (struct paxos_slot){0};
}

void paxos_slot_mark_dirty(struct stoa_paxos *paxos, uint64_t slot) {
    struct paxos_slot *entry = &paxos->slots[slot % paxos->capacity];
    entry->dirty = true;
    entry->durable = false;
    if (slot < paxos->dirty_low) {
        paxos->dirty_low = slot;
    }
    if (slot > paxos->dirty_high) {
        paxos->dirty_high = slot;
    }
}

int paxos_slot_write(struct stoa_paxos *paxos, uint64_t slot, struct stoa_paxos_ballot ballot,
                     uint8_t kind, const uint8_t *value, uint32_t length, bool chosen) {
    STOA_ASSERT(paxos_slot_fits(paxos, slot));
    STOA_ASSERT(length <= STOA_PAXOS_VALUE_BYTES_MAX);
    uint8_t *copy = NULL;
    if (length > 0) {
        copy = stoa_alloc(length);
        if (copy == NULL) {
            return STOA_ERR_NOMEM;
        }
        memcpy(copy, value, length);
    }
    /* Slots between the old last slot and this one are holes: make sure they are empty (the
     * ring may hold leftovers of slots dropped long ago only if a bug left them). */
    for (uint64_t hole = paxos->last_slot + 1; hole < slot; hole++) {
        STOA_DEBUG_ASSERT(!paxos->slots[hole % paxos->capacity].present);
    }
    struct paxos_slot *entry = &paxos->slots[slot % paxos->capacity];
    stoa_free(entry->value);
    *entry = (struct paxos_slot){
        .ballot = ballot,
        .value = copy,
        .length = length,
        .kind = kind,
        .present = true,
        .chosen = chosen,
    };
    if (slot > paxos->last_slot) {
        paxos->last_slot = slot;
    }
    paxos_slot_mark_dirty(paxos, slot);
    return STOA_OK;
}

void paxos_log_drop_through(struct stoa_paxos *paxos, uint64_t index) {
    uint64_t end = index < paxos->last_slot ? index : paxos->last_slot;
    for (uint64_t slot = paxos->snapshot_index + 1; slot <= end; slot++) {
        paxos_slot_clear(&paxos->slots[slot % paxos->capacity]);
    }
    if (index >= paxos->last_slot) {
        /* Everything held is covered: the ring restarts after index. */
        paxos->last_slot = index;
    }
    paxos->snapshot_index = index;
    if (paxos->dirty_low <= index) {
        paxos->dirty_low = index + 1;
    }
}

bool paxos_commit_advance(struct stoa_paxos *paxos) {
    bool moved = false;
    for (;;) {
        struct paxos_slot *next = paxos_slot_get(paxos, paxos->commit_index + 1);
        if (next == NULL || !next->present || !next->chosen) {
            break;
        }
        paxos->commit_index++;
        moved = true;
        if (next->kind == STOA_PAXOS_KIND_CONFIG) {
            paxos_config_apply(paxos, next);
        }
    }
    return moved;
}

struct stoa_paxos_entry paxos_slot_entry(const struct stoa_paxos *paxos, uint64_t slot) {
    const struct paxos_slot *entry = &paxos->slots[slot % paxos->capacity];
    STOA_ASSERT(entry->present);
    return (struct stoa_paxos_entry){
        .slot = slot,
        .ballot = entry->ballot,
        .kind = entry->kind,
        .chosen = entry->chosen,
        .length = entry->length,
        .value = entry->value,
    };
}

bool stoa_paxos_entry_get(const struct stoa_paxos *paxos, uint64_t slot,
                          struct stoa_paxos_entry *entry) {
    STOA_ASSERT(paxos != NULL && entry != NULL);
    if (slot <= paxos->snapshot_index || slot > paxos->last_slot) {
        return false;
    }
    if (!paxos->slots[slot % paxos->capacity].present) {
        return false;
    }
    *entry = paxos_slot_entry(paxos, slot);
    return true;
}
