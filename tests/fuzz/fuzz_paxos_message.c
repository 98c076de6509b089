/* Fuzz target for the consensus message codec (src/consensus/message.h) and the handlers
 * behind it.
 *
 * The whole input is decoded as one message; a message that decodes must encode back to the
 * same bytes (the encoding is canonical). Then the input is read as a stream of messages,
 * each a u32 little-endian length and that many bytes, stepped into a fresh core (node 1 of
 * three) with a tick and a full batch (ready, advance) after each, so that whatever a peer
 * sends reaches every handler. Checked: decode never reads past its input, the core's
 * commit index never passes its last slot, applies are consecutive chosen slots. Any crash,
 * assertion, sanitizer report or leak is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/message.h"
#include "consensus/paxos.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Messages stepped per input, so one input stays fast. */
#define STREAM_MESSAGES_MAX 64

static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static void round_trip(const uint8_t *data, size_t size) {
    struct stoa_paxos_message message;
    int result =
        stoa_paxos_message_decode(data, size, &message, entries, STOA_PAXOS_MESSAGE_ENTRIES_MAX);
    if (result != STOA_OK) {
        check(result == STOA_ERR_MALFORMED || result == STOA_ERR_TOO_LARGE);
        return;
    }
    check(stoa_paxos_message_size(&message) == size);
    uint8_t *copy = stoa_alloc(size);
    check(copy != NULL);
    size_t length = 0;
    check(stoa_paxos_message_encode(&message, copy, size, &length) == STOA_OK);
    check(length == size && memcmp(copy, data, size) == 0);
    stoa_free(copy);
}

static bool from_leader(uint8_t type) {
    return type == STOA_PAXOS_MSG_PREPARE || type == STOA_PAXOS_MSG_ACCEPT ||
           type == STOA_PAXOS_MSG_HEARTBEAT || type == STOA_PAXOS_MSG_CATCHUP ||
           type == STOA_PAXOS_MSG_TIMEOUT_NOW;
}

static void drain(struct stoa_paxos *paxos, uint64_t *applied) {
    struct stoa_paxos_ready ready;
    while (stoa_paxos_ready(paxos, &ready)) {
        for (uint32_t i = 0; i < ready.apply_count; i++) {
            check(ready.applies[i].slot == *applied + 1 && ready.applies[i].chosen);
            *applied = ready.applies[i].slot;
        }
        for (uint32_t i = 0; i < ready.message_count; i++) {
            uint8_t buffer[4096];
            size_t length = 0;
            int result =
                stoa_paxos_message_encode(&ready.messages[i], buffer, sizeof(buffer), &length);
            check(result == STOA_OK || result == STOA_ERR_FULL);
        }
        stoa_paxos_advance(paxos);
    }
    struct stoa_paxos_status status;
    stoa_paxos_status(paxos, &status);
    check(status.commit_index <= status.last_slot && status.applied_index <= status.commit_index);
}

static void stream(const uint8_t *data, size_t size) {
    static const uint32_t members[] = {1, 2, 3};
    struct stoa_paxos_config config = {.self_id = 1,
                                       .members = members,
                                       .member_count = 3,
                                       .heartbeat_ticks = 1,
                                       .election_ticks_min = 2,
                                       .election_ticks_max = 4,
                                       .window_slots = 8,
                                       .log_slots = 64};
    struct stoa_paxos *paxos = NULL;
    check(stoa_paxos_create(&config, NULL, &paxos) == STOA_OK);
    uint64_t applied = 0;
    size_t offset = 0;
    for (int count = 0; count < STREAM_MESSAGES_MAX && size - offset >= 4; count++) {
        uint32_t length = stoa_bytes_get_u32(data + offset);
        offset += 4;
        if (length > size - offset) {
            break;
        }
        struct stoa_paxos_message message;
        if (stoa_paxos_message_decode(data + offset, length, &message, entries,
                                      STOA_PAXOS_MESSAGE_ENTRIES_MAX) == STOA_OK) {
            message.to = 1;
            message.from = 2 + message.from % 2;
            if (from_leader(message.type)) {
                message.ballot.node_id = message.from;
            }
            (void)stoa_paxos_step(paxos, &message);
        }
        offset += length;
        stoa_paxos_tick(paxos);
        drain(paxos, &applied);
    }
    stoa_paxos_destroy(paxos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    round_trip(data, size);
    stream(data, size);
    return 0;
}
