/* TIMEOUT_NOW from our leader: it hands leadership over to us. We campaign at once, with the
 * transfer flag, so followers that still count the old leader's lease promise anyway (the
 * old leader stopped serving lease reads when it sent this). */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_on_timeout_now(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (paxos->role != STOA_PAXOS_FOLLOWER || paxos->leader_id != message->from ||
        stoa_paxos_ballot_compare(paxos->leader_ballot, message->ballot) != 0 ||
        !paxos->peers[0].voter) {
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "timeout-now ignored",
                       STOA_FIELD_UINT("from", message->from));
        return;
    }
    paxos->transfer_from = message->ballot;
    paxos_start_campaign(paxos, true);
}
