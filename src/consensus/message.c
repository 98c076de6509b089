/* The byte encoding of consensus messages (docs/protocols/peer.md, "Consensus messages"). */
#include "consensus/message.h"

#include <string.h>

#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"

static void put_u16(uint8_t *out, uint16_t value) {
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
}

static uint16_t get_u16(const uint8_t *data) {
    return (uint16_t)(data[0] | (data[1] << 8));
}

static bool carries_entries(uint8_t type) {
    return type == STOA_PAXOS_MSG_PROMISE || type == STOA_PAXOS_MSG_ACCEPT ||
           type == STOA_PAXOS_MSG_CATCHUP;
}

/* The flags each type may carry. */
static bool flags_valid(uint8_t type, uint16_t flags) {
    switch (type) {
    case STOA_PAXOS_MSG_PREPARE:
        return (flags & ~STOA_PAXOS_FLAG_TRANSFER) == 0;
    case STOA_PAXOS_MSG_PROMISE:
        return (flags & ~STOA_PAXOS_FLAG_LAST) == 0;
    case STOA_PAXOS_MSG_NACK:
        return flags >= STOA_PAXOS_NACK_BALLOT && flags <= STOA_PAXOS_NACK_BEHIND;
    default:
        return flags == 0;
    }
}

const char *stoa_paxos_message_type_name(uint8_t type) {
    static const char *const names[] = {
        "unknown",   "prepare",       "promise",         "nack",    "accept",      "accepted",
        "heartbeat", "heartbeat_ack", "catchup_request", "catchup", "timeout_now",
    };
    return type <= STOA_PAXOS_MSG_TYPE_MAX ? names[type] : "unknown";
}

size_t stoa_paxos_message_size(const struct stoa_paxos_message *message) {
    size_t size = STOA_PAXOS_MESSAGE_HEADER_BYTES;
    for (uint32_t i = 0; i < message->entry_count; i++) {
        size += STOA_PAXOS_ENTRY_HEADER_BYTES + message->entries[i].length;
    }
    return size;
}

static bool entry_valid(const struct stoa_paxos_entry *entry) {
    return entry->kind >= STOA_PAXOS_KIND_NORMAL && entry->kind <= STOA_PAXOS_KIND_CONFIG &&
           entry->length <= STOA_PAXOS_VALUE_BYTES_MAX;
}

int stoa_paxos_message_encode(const struct stoa_paxos_message *message, uint8_t *out,
                              size_t capacity, size_t *length) {
    if (message->type < 1 || message->type > STOA_PAXOS_MSG_TYPE_MAX ||
        !flags_valid(message->type, message->flags) ||
        message->entry_count > STOA_PAXOS_MESSAGE_ENTRIES_MAX ||
        (message->entry_count > 0 && !carries_entries(message->type))) {
        return STOA_ERR_INVALID;
    }
    for (uint32_t i = 0; i < message->entry_count; i++) {
        if (!entry_valid(&message->entries[i])) {
            return STOA_ERR_INVALID;
        }
    }
    size_t size = stoa_paxos_message_size(message);
    if (size > STOA_PAXOS_MESSAGE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (size > capacity) {
        return STOA_ERR_FULL;
    }
    out[0] = STOA_PAXOS_MESSAGE_VERSION;
    out[1] = message->type;
    put_u16(out + 2, message->flags);
    stoa_bytes_put_u32(out + 4, message->from);
    stoa_bytes_put_u32(out + 8, message->to);
    stoa_bytes_put_u64(out + 12, message->ballot.round);
    stoa_bytes_put_u32(out + 20, message->ballot.node_id);
    stoa_bytes_put_u64(out + 24, message->commit_index);
    stoa_bytes_put_u64(out + 32, message->slot);
    stoa_bytes_put_u64(out + 40, message->slot_last);
    stoa_bytes_put_u64(out + 48, message->round);
    stoa_bytes_put_u64(out + 56, message->snapshot_index);
    stoa_bytes_put_u32(out + 64, message->entry_count);
    size_t offset = STOA_PAXOS_MESSAGE_HEADER_BYTES;
    for (uint32_t i = 0; i < message->entry_count; i++) {
        const struct stoa_paxos_entry *entry = &message->entries[i];
        uint8_t *at = out + offset;
        stoa_bytes_put_u64(at, entry->slot);
        stoa_bytes_put_u64(at + 8, entry->ballot.round);
        stoa_bytes_put_u32(at + 16, entry->ballot.node_id);
        at[20] = entry->kind;
        at[21] = entry->chosen ? 1 : 0;
        stoa_bytes_put_u32(at + 22, entry->length);
        if (entry->length > 0) {
            memcpy(at + STOA_PAXOS_ENTRY_HEADER_BYTES, entry->value, entry->length);
        }
        offset += STOA_PAXOS_ENTRY_HEADER_BYTES + entry->length;
    }
    STOA_ASSERT(offset == size);
    *length = size;
    return STOA_OK;
}

static int decode_entries(const uint8_t *data, size_t length, uint32_t count,
                          struct stoa_paxos_entry *entries) {
    size_t offset = STOA_PAXOS_MESSAGE_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        if (length - offset < STOA_PAXOS_ENTRY_HEADER_BYTES) {
            return STOA_ERR_MALFORMED;
        }
        const uint8_t *at = data + offset;
        struct stoa_paxos_entry entry = {
            .slot = stoa_bytes_get_u64(at),
            .ballot = {.round = stoa_bytes_get_u64(at + 8), .node_id = stoa_bytes_get_u32(at + 16)},
            .kind = at[20],
            .chosen = at[21] == 1,
            .length = stoa_bytes_get_u32(at + 22),
        };
        offset += STOA_PAXOS_ENTRY_HEADER_BYTES;
        if (at[21] > 1 || !entry_valid(&entry) || length - offset < entry.length) {
            return STOA_ERR_MALFORMED;
        }
        entry.value = entry.length > 0 ? data + offset : NULL;
        offset += entry.length;
        entries[i] = entry;
    }
    return offset == length ? STOA_OK : STOA_ERR_MALFORMED;
}

int stoa_paxos_message_decode(const uint8_t *data, size_t length,
                              struct stoa_paxos_message *message, struct stoa_paxos_entry *entries,
                              uint32_t capacity) {
    if (length < STOA_PAXOS_MESSAGE_HEADER_BYTES || length > STOA_PAXOS_MESSAGE_BYTES_MAX ||
        data[0] != STOA_PAXOS_MESSAGE_VERSION) {
        return STOA_ERR_MALFORMED;
    }
    uint8_t type = data[1];
    uint16_t flags = get_u16(data + 2);
    uint32_t count = stoa_bytes_get_u32(data + 64);
    if (type < 1 || type > STOA_PAXOS_MSG_TYPE_MAX || !flags_valid(type, flags) ||
        count > STOA_PAXOS_MESSAGE_ENTRIES_MAX || (count > 0 && !carries_entries(type))) {
        return STOA_ERR_MALFORMED;
    }
    if (count > capacity) {
        return STOA_ERR_TOO_LARGE;
    }
    int result = decode_entries(data, length, count, entries);
    if (result != STOA_OK) {
        return result;
    }
    *message = (struct stoa_paxos_message){
        .type = type,
        .flags = flags,
        .from = stoa_bytes_get_u32(data + 4),
        .to = stoa_bytes_get_u32(data + 8),
        .ballot = {.round = stoa_bytes_get_u64(data + 12),
                   .node_id = stoa_bytes_get_u32(data + 20)},
        .commit_index = stoa_bytes_get_u64(data + 24),
        .slot = stoa_bytes_get_u64(data + 32),
        .slot_last = stoa_bytes_get_u64(data + 40),
        .round = stoa_bytes_get_u64(data + 48),
        .snapshot_index = stoa_bytes_get_u64(data + 56),
        .entry_count = count,
        .entries = count > 0 ? entries : NULL,
    };
    return STOA_OK;
}
