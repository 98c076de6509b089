/* CATCHUP at a follower: chosen entries from the leader, in slot order from our commit
 * index. Each is stored as chosen (the flag is persisted with it), so it may be applied even
 * though it carries an older ballot than the leader's. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_on_catchup(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    for (uint32_t i = 0; i < message->entry_count; i++) {
        if (!message->entries[i].chosen ||
            (i > 0 && message->entries[i].slot != message->entries[i - 1].slot + 1)) {
            STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "catch-up dropped",
                           STOA_FIELD_STR("why", "entries not chosen or not in order"));
            return;
        }
    }
    if (!paxos_follow(paxos, message)) {
        return;
    }
    for (uint32_t i = 0; i < message->entry_count; i++) {
        const struct stoa_paxos_entry *entry = &message->entries[i];
        if (entry->slot <= paxos->commit_index) {
            continue;
        }
        if (entry->slot != paxos->commit_index + 1 || !paxos_slot_fits(paxos, entry->slot)) {
            break;
        }
        struct paxos_slot *held = paxos_slot_get(paxos, entry->slot);
        if (held == NULL || !held->present || !held->chosen) {
            if (paxos_slot_write(paxos, entry->slot, entry->ballot, entry->kind, entry->value,
                                 entry->length, true) != STOA_OK) {
                break;
            }
        }
        paxos_commit_advance(paxos);
    }
    paxos->catchup_sent = false;
    paxos_follower_commit(paxos, message->ballot, message->commit_index, message->from);
}
