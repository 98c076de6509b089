/* NACK: an acceptor refused our PREPARE or ACCEPT. A candidate refused for a higher ballot,
 * or because it is behind, gives up this campaign (behind: for two election timeouts, so
 * a node with a fuller log wins); one refused for a lease keeps its campaign until its
 * timeout. A leader refused for a higher ballot steps down. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_on_nack(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (message->round != paxos->own_ballot.round) {
        return; /* about an older ballot of ours */
    }
    uint16_t reason = message->flags;
    if (paxos->role == STOA_PAXOS_CANDIDATE) {
        if (reason == STOA_PAXOS_NACK_BEHIND) {
            STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "campaign abandoned: behind",
                          STOA_FIELD_UINT("from", message->from),
                          STOA_FIELD_UINT("their_commit", message->commit_index));
            paxos_become_follower(paxos, paxos->leader_ballot, 0);
            paxos->behind_until = paxos->now + 2ULL * paxos->config.election_ticks_max;
        } else if (reason == STOA_PAXOS_NACK_BALLOT &&
                   stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) > 0) {
            paxos_become_follower(paxos, paxos->leader_ballot, 0);
        }
        return;
    }
    if (paxos->role == STOA_PAXOS_LEADER && reason == STOA_PAXOS_NACK_BALLOT &&
        stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) > 0) {
        STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "preempted by a higher ballot",
                      STOA_FIELD_UINT("from", message->from),
                      STOA_FIELD_UINT("round", message->ballot.round));
        paxos_become_follower(paxos, message->ballot, 0);
    }
}
