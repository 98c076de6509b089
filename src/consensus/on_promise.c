/* PROMISE (phase 1b) at a candidate: merge the acceptor's entries into our log — a value
 * known chosen always, otherwise the value with the highest ballot — and become leader once
 * a quorum has promised. A promise may come in pieces; each must start where the last
 * ended, and only the last (FLAG_LAST) completes it. */
#include "consensus/paxos_int.h"
#include "util/err.h"

/* Whether entry should replace what we hold at its slot. */
static bool adopt(const struct paxos_slot *held, const struct stoa_paxos_entry *entry) {
    if (held == NULL || !held->present) {
        return true;
    }
    if (held->chosen) {
        return false;
    }
    return entry->chosen || stoa_paxos_ballot_compare(entry->ballot, held->ballot) > 0;
}

static int merge(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    uint64_t previous = message->slot - 1;
    for (uint32_t i = 0; i < message->entry_count; i++) {
        const struct stoa_paxos_entry *entry = &message->entries[i];
        if (entry->slot <= previous || entry->slot > message->slot_last) {
            return STOA_ERR_INVALID;
        }
        previous = entry->slot;
        if (entry->slot <= paxos->commit_index) {
            continue;
        }
        if (!paxos_slot_fits(paxos, entry->slot)) {
            return STOA_ERR_FULL;
        }
        if (!adopt(paxos_slot_get(paxos, entry->slot), entry)) {
            continue;
        }
        int result = paxos_slot_write(paxos, entry->slot, entry->ballot, entry->kind, entry->value,
                                      entry->length, entry->chosen);
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}

void paxos_on_promise(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    int index = paxos_peer_index(paxos, message->from);
    struct paxos_peer *peer = &paxos->peers[index];
    if (paxos->role != STOA_PAXOS_CANDIDATE ||
        stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) != 0 || peer->promised ||
        message->slot != peer->promise_next_slot || message->slot_last + 1 < message->slot) {
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "promise ignored",
                       STOA_FIELD_UINT("from", message->from),
                       STOA_FIELD_UINT("slot", message->slot));
        return;
    }
    int result = merge(paxos, message);
    if (result != STOA_OK) {
        /* Entries already merged are real proposals with higher ballots: keeping them is
         * safe. We cannot lead without the rest, so give up this campaign. */
        STOA_LOG_WARN(paxos->log, PAXOS_MODULE, "promise not merged; campaign abandoned",
                      STOA_FIELD_ERR(result), STOA_FIELD_UINT("from", message->from));
        paxos_become_follower(paxos, paxos->leader_ballot, 0);
        return;
    }
    peer->promise_next_slot = message->slot_last + 1;
    if (message->commit_index > peer->commit_index) {
        peer->commit_index = message->commit_index;
    }
    /* Chosen entries merged may extend our commit index (and change membership). */
    paxos_commit_advance(paxos);
    if ((message->flags & STOA_PAXOS_FLAG_LAST) != 0) {
        peer->promised = true;
        paxos_candidate_promised(paxos);
    }
}
