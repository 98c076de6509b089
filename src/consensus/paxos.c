/* The paxos core: create and restart, the input entry points (tick, step, propose, reads,
 * compaction), peers and quorums, membership, status. Message handlers live in on_*.c, the
 * election in paxos_election.c, the leader's replication in paxos_replicate.c, and the batch
 * of outputs in paxos_ready.c. docs/consensus.md explains the rules. */
#include <string.h>

#include "consensus/paxos_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"

int stoa_paxos_ballot_compare(struct stoa_paxos_ballot a, struct stoa_paxos_ballot b) {
    if (a.round != b.round) {
        return a.round < b.round ? -1 : 1;
    }
    if (a.node_id != b.node_id) {
        return a.node_id < b.node_id ? -1 : 1;
    }
    return 0;
}

/* ---- peers, quorums, membership ---- */

int paxos_peer_index(const struct stoa_paxos *paxos, uint32_t id) {
    if (id == 0) {
        return -1;
    }
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id == id) {
            return (int)i;
        }
    }
    return -1;
}

uint32_t paxos_voter_mask(const struct stoa_paxos *paxos) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].voter) {
            mask |= 1u << i;
        }
    }
    return mask;
}

bool paxos_is_quorum(const struct stoa_paxos *paxos, uint32_t mask) {
    uint32_t votes = (uint32_t)__builtin_popcount(mask & paxos_voter_mask(paxos));
    return paxos->quorum > 0 && votes >= paxos->quorum;
}

static void quorum_update(struct stoa_paxos *paxos) {
    uint32_t voters = (uint32_t)__builtin_popcount(paxos_voter_mask(paxos));
    paxos->quorum = voters / 2 + 1;
}

static int peer_add(struct stoa_paxos *paxos, uint32_t id, bool voter) {
    int index = paxos_peer_index(paxos, id);
    if (index >= 0) {
        paxos->peers[index].voter = voter;
        return index;
    }
    uint32_t slot = 1;
    while (slot < paxos->peer_count && paxos->peers[slot].id != 0) {
        slot++;
    }
    if (slot >= STOA_PAXOS_PEERS_MAX) {
        return -1;
    }
    uint64_t start = paxos->role == STOA_PAXOS_LEADER ? paxos->leader_start : 1;
    paxos->peers[slot] = (struct paxos_peer){
        .id = id,
        .voter = voter,
        .next_slot = start,
        .match_slot = start - 1,
        .progress_tick = paxos->now,
    };
    if (slot >= paxos->peer_count) {
        paxos->peer_count = slot + 1;
    }
    return (int)slot;
}

/* Removes a peer; its acknowledgement bit is cleared from every slot in flight so that the
 * index can be reused for a newcomer without inheriting votes. */
static void peer_remove(struct stoa_paxos *paxos, uint32_t id) {
    int index = paxos_peer_index(paxos, id);
    if (index <= 0) {
        return;
    }
    uint32_t bit = 1u << index;
    for (uint64_t slot = paxos->commit_index + 1; slot <= paxos->last_slot; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry != NULL) {
            entry->acks &= ~bit;
        }
    }
    paxos->peers[index] = (struct paxos_peer){0};
    while (paxos->peer_count > 1 && paxos->peers[paxos->peer_count - 1].id == 0) {
        paxos->peer_count--;
    }
}

void paxos_members_set(struct stoa_paxos *paxos, const uint32_t *ids, uint32_t count) {
    paxos->peers[0].voter = false;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        bool keep = false;
        for (uint32_t j = 0; j < count; j++) {
            keep = keep || ids[j] == paxos->peers[i].id;
        }
        if (!keep && paxos->peers[i].id != 0) {
            peer_remove(paxos, paxos->peers[i].id);
        }
    }
    for (uint32_t j = 0; j < count; j++) {
        int added = peer_add(paxos, ids[j], true);
        STOA_ASSERT(added >= 0);
    }
    quorum_update(paxos);
}

void paxos_config_apply(struct stoa_paxos *paxos, const struct paxos_slot *slot) {
    enum stoa_paxos_config_op op;
    uint32_t node_id;
    if (stoa_paxos_config_change_decode(slot->value, slot->length, &op, &node_id) != STOA_OK) {
        STOA_LOG_WARN(paxos->log, PAXOS_MODULE, "config entry malformed; ignored",
                      STOA_FIELD_UINT("slot", paxos->commit_index));
        return;
    }
    uint32_t voters = (uint32_t)__builtin_popcount(paxos_voter_mask(paxos));
    if (op == STOA_PAXOS_CONFIG_ADD && voters < STOA_PAXOS_MEMBERS_MAX) {
        if (peer_add(paxos, node_id, true) < 0) {
            STOA_LOG_WARN(paxos->log, PAXOS_MODULE, "no room for member",
                          STOA_FIELD_UINT("member", node_id));
        }
    } else if (op == STOA_PAXOS_CONFIG_REMOVE && voters > 1) {
        if (node_id == paxos->config.self_id) {
            paxos->peers[0].voter = false;
        } else {
            peer_remove(paxos, node_id);
        }
    }
    quorum_update(paxos);
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "membership changed",
                  STOA_FIELD_STR("op", op == STOA_PAXOS_CONFIG_ADD ? "add" : "remove"),
                  STOA_FIELD_UINT("member", node_id), STOA_FIELD_UINT("slot", paxos->commit_index),
                  STOA_FIELD_UINT("quorum", paxos->quorum));
    if (paxos->config_in_flight && paxos->commit_index >= paxos->config_slot) {
        paxos->config_in_flight = false;
    }
    if (!paxos->peers[0].voter && paxos->role == STOA_PAXOS_LEADER) {
        /* A leader that removed itself leads no more once the change is chosen. */
        paxos_become_follower(paxos, paxos->own_ballot, 0);
    }
}

void stoa_paxos_config_change_encode(enum stoa_paxos_config_op op, uint32_t node_id,
                                     uint8_t out[STOA_PAXOS_CONFIG_CHANGE_BYTES]) {
    out[0] = (uint8_t)op;
    stoa_bytes_put_u32(out + 1, node_id);
}

int stoa_paxos_config_change_decode(const uint8_t *value, uint32_t length,
                                    enum stoa_paxos_config_op *op, uint32_t *node_id) {
    if (length != STOA_PAXOS_CONFIG_CHANGE_BYTES || value == NULL) {
        return STOA_ERR_MALFORMED;
    }
    uint32_t id = stoa_bytes_get_u32(value + 1);
    if ((value[0] != STOA_PAXOS_CONFIG_ADD && value[0] != STOA_PAXOS_CONFIG_REMOVE) || id == 0) {
        return STOA_ERR_MALFORMED;
    }
    *op = (enum stoa_paxos_config_op)value[0];
    *node_id = id;
    return STOA_OK;
}

void paxos_ballot_seen(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot) {
    if (ballot.round > paxos->round_seen) {
        paxos->round_seen = ballot.round;
    }
}

/* ---- create and restart ---- */

static int config_check(const struct stoa_paxos_config *config) {
    bool ok = config->self_id != 0 && config->heartbeat_ticks > 0 &&
              config->election_ticks_min > config->heartbeat_ticks &&
              config->election_ticks_max >= config->election_ticks_min &&
              config->election_ticks_max <= STOA_PAXOS_TICKS_MAX &&
              config->drift_ticks < config->election_ticks_min && config->window_slots > 0 &&
              config->window_slots <= STOA_PAXOS_WINDOW_SLOTS_MAX &&
              config->log_slots >= 2 * config->window_slots &&
              config->log_slots <= STOA_PAXOS_LOG_SLOTS_MAX;
    return ok ? STOA_OK : STOA_ERR_INVALID;
}

static int members_check(const uint32_t *ids, uint32_t count) {
    if (count > STOA_PAXOS_MEMBERS_MAX || (count > 0 && ids == NULL)) {
        return STOA_ERR_INVALID;
    }
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (ids[i] == ids[j]) {
                return STOA_ERR_INVALID;
            }
        }
        if (ids[i] == 0) {
            return STOA_ERR_INVALID;
        }
    }
    return STOA_OK;
}

static int persisted_check(const struct stoa_paxos_config *config,
                           const struct stoa_paxos_persisted *persisted) {
    if (persisted->applied_index < persisted->snapshot_index ||
        persisted->commit_index < persisted->snapshot_index ||
        persisted->applied_index > persisted->commit_index ||
        persisted->entry_count > config->log_slots ||
        (persisted->entry_count > 0 && persisted->entries == NULL)) {
        return STOA_ERR_INVALID;
    }
    for (uint32_t i = 0; i < persisted->entry_count; i++) {
        const struct stoa_paxos_entry *entry = &persisted->entries[i];
        if (entry->slot <= persisted->snapshot_index ||
            entry->slot - persisted->snapshot_index > config->log_slots ||
            entry->length > STOA_PAXOS_VALUE_BYTES_MAX ||
            (entry->length > 0 && entry->value == NULL) || entry->kind < STOA_PAXOS_KIND_NORMAL ||
            entry->kind > STOA_PAXOS_KIND_CONFIG) {
            return STOA_ERR_INVALID;
        }
    }
    return STOA_OK;
}

static int paxos_allocate(struct stoa_paxos *paxos) {
    paxos->slots = stoa_calloc(paxos->capacity, sizeof(*paxos->slots));
    paxos->out_entries =
        stoa_calloc(STOA_PAXOS_OUTBOX_ENTRIES_MAX, sizeof(struct stoa_paxos_entry));
    paxos->out_writes = stoa_calloc(paxos->capacity, sizeof(struct stoa_paxos_entry));
    paxos->out_applies = stoa_calloc(STOA_PAXOS_APPLY_MAX, sizeof(struct stoa_paxos_entry));
    if (paxos->slots == NULL || paxos->out_entries == NULL || paxos->out_writes == NULL ||
        paxos->out_applies == NULL) {
        return STOA_ERR_NOMEM;
    }
    return STOA_OK;
}

static int restore(struct stoa_paxos *paxos, const struct stoa_paxos_persisted *persisted) {
    paxos->promised = persisted->promised;
    if (STOA_PLANTED(FORGET_PROMISE)) { /* PLANT FORGET_PROMISE: the promise is forgotten */
        paxos->promised = (struct stoa_paxos_ballot){0};
    }
    paxos->promised_persisted = paxos->promised;
    paxos->snapshot_index = persisted->snapshot_index;
    paxos->last_slot = persisted->snapshot_index;
    paxos->commit_index = persisted->snapshot_index;
    paxos->applied_index = persisted->applied_index;
    paxos_ballot_seen(paxos, persisted->promised);
    for (uint32_t i = 0; i < persisted->entry_count; i++) {
        const struct stoa_paxos_entry *entry = &persisted->entries[i];
        bool chosen = entry->chosen || entry->slot <= persisted->commit_index;
        int result = paxos_slot_write(paxos, entry->slot, entry->ballot, entry->kind, entry->value,
                                      entry->length, chosen);
        if (result != STOA_OK) {
            return result;
        }
        paxos->slots[entry->slot % paxos->capacity].durable = true;
        paxos->slots[entry->slot % paxos->capacity].dirty = false;
        paxos_ballot_seen(paxos, entry->ballot);
    }
    /* The persisted commit index may only name slots that are held (or in the snapshot). */
    paxos_commit_advance(paxos);
    if (paxos->commit_index < persisted->commit_index) {
        STOA_LOG_ERROR(paxos->log, PAXOS_MODULE, "persisted commit index names missing slots",
                       STOA_FIELD_UINT("commit_index", persisted->commit_index),
                       STOA_FIELD_UINT("held_through", paxos->commit_index));
        return STOA_ERR_INVALID;
    }
    paxos->commit_persisted = paxos->commit_index;
    paxos->dirty_low = UINT64_MAX;
    paxos->dirty_high = 0;
    return STOA_OK;
}

int stoa_paxos_create(const struct stoa_paxos_config *config,
                      const struct stoa_paxos_persisted *persisted, struct stoa_paxos **out) {
    STOA_ASSERT(config != NULL && out != NULL);
    struct stoa_paxos_persisted fresh = {0};
    if (persisted == NULL) {
        persisted = &fresh;
    }
    const uint32_t *members = config->members;
    uint32_t member_count = config->member_count;
    if (persisted->snapshot_index > 0 || persisted->snapshot_member_count > 0) {
        members = persisted->snapshot_members;
        member_count = persisted->snapshot_member_count;
    }
    if (config_check(config) != STOA_OK || members_check(members, member_count) != STOA_OK ||
        persisted_check(config, persisted) != STOA_OK) {
        return STOA_ERR_INVALID;
    }
    struct stoa_paxos *paxos = stoa_calloc(1, sizeof(*paxos));
    if (paxos == NULL) {
        return STOA_ERR_NOMEM;
    }
    paxos->config = *config;
    paxos->config.members = NULL;
    paxos->log = config->log;
    paxos->capacity = config->log_slots;
    stoa_prng_init(&paxos->prng, config->seed ^ ((uint64_t)config->self_id << 32));
    paxos->peers[0] = (struct paxos_peer){.id = config->self_id};
    paxos->peer_count = 1;
    paxos->dirty_low = UINT64_MAX;
    int result = paxos_allocate(paxos);
    if (result == STOA_OK) {
        paxos_members_set(paxos, members, member_count);
        result = restore(paxos, persisted);
    }
    if (result != STOA_OK) {
        stoa_paxos_destroy(paxos);
        return result;
    }
    /* A restarted node cannot know whom it heard last: it behaves as if it had just heard a
     * live leader, so it grants no promise that could break that leader's lease. */
    paxos->heard_leader = true;
    paxos->heard_leader_tick = 0;
    paxos_election_reset(paxos);
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "started", STOA_FIELD_UINT("id", config->self_id),
                  STOA_FIELD_UINT("promised_round", paxos->promised.round),
                  STOA_FIELD_UINT("commit_index", paxos->commit_index),
                  STOA_FIELD_UINT("last_slot", paxos->last_slot),
                  STOA_FIELD_UINT("voters", (uint64_t)__builtin_popcount(paxos_voter_mask(paxos))));
    *out = paxos;
    return STOA_OK;
}

void stoa_paxos_destroy(struct stoa_paxos *paxos) {
    if (paxos == NULL) {
        return;
    }
    if (paxos->slots != NULL) {
        for (uint64_t i = 0; i < paxos->capacity; i++) {
            stoa_free(paxos->slots[i].value);
        }
    }
    stoa_free(paxos->slots);
    stoa_free(paxos->out_entries);
    stoa_free(paxos->out_writes);
    stoa_free(paxos->out_applies);
    stoa_free(paxos);
}

/* ---- inputs ---- */

void stoa_paxos_tick(struct stoa_paxos *paxos) {
    STOA_ASSERT(!paxos->in_ready);
    paxos->now++;
    if (paxos->role == STOA_PAXOS_LEADER) {
        paxos_leader_tick(paxos);
        return;
    }
    if (!paxos->peers[0].voter) {
        return;
    }
    bool due = paxos->now >= paxos->election_deadline && paxos->now >= paxos->behind_until;
    if (paxos->campaign_wanted && !paxos_lease_blocks(paxos)) {
        due = true;
    }
    if (due) {
        paxos_start_campaign(paxos, false);
    }
}

/* Messages that only make sense from a peer we track (acknowledgements). */
static bool needs_known_peer(uint8_t type) {
    return type == STOA_PAXOS_MSG_PROMISE || type == STOA_PAXOS_MSG_ACCEPTED ||
           type == STOA_PAXOS_MSG_HEARTBEAT_ACK || type == STOA_PAXOS_MSG_CATCHUP_REQUEST;
}

/* Messages a leader sends: their ballot must be the sender's own. */
static bool from_leader(uint8_t type) {
    return type == STOA_PAXOS_MSG_PREPARE || type == STOA_PAXOS_MSG_ACCEPT ||
           type == STOA_PAXOS_MSG_HEARTBEAT || type == STOA_PAXOS_MSG_CATCHUP ||
           type == STOA_PAXOS_MSG_TIMEOUT_NOW;
}

int stoa_paxos_step(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    STOA_ASSERT(!paxos->in_ready);
    const char *why = NULL;
    if (message->to != paxos->config.self_id) {
        why = "not addressed to this node";
    } else if (message->from == 0 || message->from == paxos->config.self_id) {
        why = "bad sender";
    } else if (needs_known_peer(message->type) && paxos_peer_index(paxos, message->from) < 0) {
        why = "sender is not a member";
    } else if (from_leader(message->type) && message->ballot.node_id != message->from) {
        why = "ballot is not the sender's";
    } else if (message->entry_count > 0 && message->entries == NULL) {
        why = "entries missing";
    }
    if (why != NULL) {
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "message dropped", STOA_FIELD_STR("why", why),
                       STOA_FIELD_UINT("type", message->type),
                       STOA_FIELD_UINT("from", message->from));
        return STOA_ERR_INVALID;
    }
    paxos_ballot_seen(paxos, message->ballot);
    int index = paxos_peer_index(paxos, message->from);
    if (index > 0) {
        paxos->peers[index].heard = true;
        paxos->peers[index].heard_tick = paxos->now;
    }
    switch ((enum stoa_paxos_message_type)message->type) {
    case STOA_PAXOS_MSG_PREPARE:
        paxos_on_prepare(paxos, message);
        break;
    case STOA_PAXOS_MSG_PROMISE:
        paxos_on_promise(paxos, message);
        break;
    case STOA_PAXOS_MSG_NACK:
        paxos_on_nack(paxos, message);
        break;
    case STOA_PAXOS_MSG_ACCEPT:
        paxos_on_accept(paxos, message);
        break;
    case STOA_PAXOS_MSG_ACCEPTED:
        paxos_on_accepted(paxos, message);
        break;
    case STOA_PAXOS_MSG_HEARTBEAT:
        paxos_on_heartbeat(paxos, message);
        break;
    case STOA_PAXOS_MSG_HEARTBEAT_ACK:
        paxos_on_heartbeat_ack(paxos, message);
        break;
    case STOA_PAXOS_MSG_CATCHUP_REQUEST:
        paxos_on_catchup_request(paxos, message);
        break;
    case STOA_PAXOS_MSG_CATCHUP:
        paxos_on_catchup(paxos, message);
        break;
    case STOA_PAXOS_MSG_TIMEOUT_NOW:
        paxos_on_timeout_now(paxos, message);
        break;
    default:
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "message dropped",
                       STOA_FIELD_STR("why", "unknown type"),
                       STOA_FIELD_UINT("type", message->type));
        return STOA_ERR_INVALID;
    }
    return STOA_OK;
}

static int propose_check(struct stoa_paxos *paxos, enum stoa_paxos_kind kind, uint32_t length,
                         uint32_t *leader_hint) {
    if (paxos->role != STOA_PAXOS_LEADER || paxos->transferring) {
        if (leader_hint != NULL) {
            *leader_hint =
                paxos->role == STOA_PAXOS_LEADER ? paxos->transfer_target : paxos->leader_id;
        }
        return STOA_ERR_NOT_LEADER;
    }
    if (kind < STOA_PAXOS_KIND_NORMAL || kind > STOA_PAXOS_KIND_CONFIG) {
        return STOA_ERR_INVALID;
    }
    if (length > STOA_PAXOS_VALUE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (paxos->last_slot - paxos->commit_index >= paxos->config.window_slots ||
        !paxos_slot_fits(paxos, paxos->last_slot + 1)) {
        return STOA_ERR_FULL;
    }
    return STOA_OK;
}

/* A config change is proposed only when the previous one is chosen and known chosen by a
 * quorum, and the leader has finished recovery (docs/consensus.md, "Membership"). */
static int config_check_change(struct stoa_paxos *paxos, const uint8_t *value, uint32_t length) {
    enum stoa_paxos_config_op op;
    uint32_t node_id;
    if (stoa_paxos_config_change_decode(value, length, &op, &node_id) != STOA_OK) {
        return STOA_ERR_INVALID;
    }
    if (!paxos->leader_ready || paxos->config_in_flight) {
        return STOA_ERR_BUSY;
    }
    uint32_t known = 1u;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].commit_index >= paxos->config_slot) {
            known |= 1u << i;
        }
    }
    if (!paxos_is_quorum(paxos, known)) {
        return STOA_ERR_BUSY;
    }
    bool member = paxos_peer_index(paxos, node_id) >= 0 &&
                  paxos->peers[paxos_peer_index(paxos, node_id)].voter;
    if ((op == STOA_PAXOS_CONFIG_ADD && member) || (op == STOA_PAXOS_CONFIG_REMOVE && !member)) {
        return STOA_ERR_INVALID;
    }
    return STOA_OK;
}

int stoa_paxos_propose(struct stoa_paxos *paxos, enum stoa_paxos_kind kind, const uint8_t *value,
                       uint32_t length, uint64_t *slot, uint32_t *leader_hint) {
    STOA_ASSERT(!paxos->in_ready);
    STOA_ASSERT(length == 0 || value != NULL);
    int result = propose_check(paxos, kind, length, leader_hint);
    if (result == STOA_OK && kind == STOA_PAXOS_KIND_CONFIG) {
        result = config_check_change(paxos, value, length);
    }
    if (result != STOA_OK) {
        return result;
    }
    uint64_t next = paxos->last_slot + 1;
    result = paxos_slot_write(paxos, next, paxos->own_ballot, (uint8_t)kind, value, length, false);
    if (result != STOA_OK) {
        return result;
    }
    if (kind == STOA_PAXOS_KIND_CONFIG) {
        paxos->config_in_flight = true;
        paxos->config_slot = next;
    }
    paxos_replicate(paxos);
    if (slot != NULL) {
        *slot = next;
    }
    return STOA_OK;
}

void stoa_paxos_campaign(struct stoa_paxos *paxos) {
    STOA_ASSERT(!paxos->in_ready);
    if (paxos->role == STOA_PAXOS_LEADER || !paxos->peers[0].voter) {
        return;
    }
    paxos->behind_until = 0;
    if (paxos_lease_blocks(paxos)) {
        paxos->campaign_wanted = true;
        return;
    }
    paxos_start_campaign(paxos, false);
}

int stoa_paxos_transfer(struct stoa_paxos *paxos, uint32_t node_id) {
    STOA_ASSERT(!paxos->in_ready);
    if (paxos->role != STOA_PAXOS_LEADER) {
        return STOA_ERR_NOT_LEADER;
    }
    int index = paxos_peer_index(paxos, node_id);
    if (index <= 0 || !paxos->peers[index].voter) {
        return STOA_ERR_INVALID;
    }
    paxos->transferring = true;
    paxos->transfer_target = node_id;
    paxos->transfer_tick = paxos->now;
    paxos->lease_until = 0;
    struct stoa_paxos_message *message =
        paxos_outbox_add(paxos, STOA_PAXOS_MSG_TIMEOUT_NOW, node_id);
    if (message != NULL) {
        message->ballot = paxos->own_ballot;
        message->commit_index = paxos->commit_index;
    }
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "handing leadership over",
                  STOA_FIELD_UINT("to", node_id));
    return STOA_OK;
}

/* Every write a client was told of is applied here: this leader's own writes are answered
 * only after they are applied, and the writes of earlier leaders lie at or below
 * recovery_end. Slots chosen but not yet applied were answered to nobody. */
bool stoa_paxos_read_lease_valid(const struct stoa_paxos *paxos) {
    return paxos->role == STOA_PAXOS_LEADER && paxos->leader_ready && !paxos->transferring &&
           paxos->now < paxos->lease_until && paxos->applied_index >= paxos->recovery_end;
}

int stoa_paxos_read_index(struct stoa_paxos *paxos, uint64_t request_id, uint32_t *leader_hint) {
    STOA_ASSERT(!paxos->in_ready);
    if (paxos->role != STOA_PAXOS_LEADER || paxos->transferring) {
        if (leader_hint != NULL) {
            *leader_hint = paxos->leader_id;
        }
        return STOA_ERR_NOT_LEADER;
    }
    if (!paxos->leader_ready) {
        return STOA_ERR_BUSY;
    }
    if (paxos->read_count >= STOA_PAXOS_READS_MAX) {
        return STOA_ERR_FULL;
    }
    /* The round that confirms this read must be sent after the request arrived: the next one.
     * Reads that arrive together share one round. */
    paxos->reads[paxos->read_count++] = (struct paxos_pending_read){
        .request_id = request_id,
        .index = paxos->commit_index,
        .round = paxos->round + 1,
    };
    paxos->read_round_wanted = true; /* sent by the next ready, not a tick later */
    return STOA_OK;
}

int stoa_paxos_compact(struct stoa_paxos *paxos, uint64_t index) {
    STOA_ASSERT(!paxos->in_ready);
    if (index > paxos->applied_index || index > paxos->commit_persisted) {
        return STOA_ERR_INVALID;
    }
    if (index <= paxos->snapshot_index) {
        return STOA_OK;
    }
    paxos_log_drop_through(paxos, index);
    return STOA_OK;
}

int stoa_paxos_snapshot_installed(struct stoa_paxos *paxos, uint64_t index, const uint32_t *members,
                                  uint32_t member_count) {
    STOA_ASSERT(!paxos->in_ready);
    if (members_check(members, member_count) != STOA_OK || member_count == 0) {
        return STOA_ERR_INVALID;
    }
    if (index <= paxos->commit_index) {
        return STOA_OK; /* we already hold at least as much */
    }
    paxos_log_drop_through(paxos, index);
    paxos->commit_index = index;
    paxos->commit_persisted = index; /* the driver persisted the snapshot */
    paxos->applied_index = index;
    paxos_members_set(paxos, members, member_count);
    paxos_commit_advance(paxos);
    /* A new leader may be sent a snapshot that covers the slots it was recovering (by an
     * acceptor that compacted past them): its recovery is then done. */
    paxos_leader_check_ready(paxos);
    paxos->catchup_sent = false;
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "snapshot installed", STOA_FIELD_UINT("index", index));
    /* Tell the leader where we are, so it resumes from here. */
    if (paxos->leader_id != 0 && paxos->role == STOA_PAXOS_FOLLOWER) {
        struct stoa_paxos_message *message =
            paxos_outbox_add(paxos, STOA_PAXOS_MSG_CATCHUP_REQUEST, paxos->leader_id);
        if (message != NULL) {
            message->ballot = paxos->leader_ballot;
            message->slot = paxos->commit_index + 1;
            message->commit_index = paxos->commit_index;
        }
    }
    return STOA_OK;
}

/* ---- status ---- */

void stoa_paxos_status(const struct stoa_paxos *paxos, struct stoa_paxos_status *status) {
    *status = (struct stoa_paxos_status){
        .role = paxos->role,
        .leader_ready = paxos->role == STOA_PAXOS_LEADER && paxos->leader_ready,
        .self_id = paxos->config.self_id,
        .leader_id = paxos->leader_id,
        .ballot = paxos->leader_ballot,
        .promised = paxos->promised,
        .commit_index = paxos->commit_index,
        .applied_index = paxos->applied_index,
        .snapshot_index = paxos->snapshot_index,
        .first_slot = paxos->snapshot_index + 1,
        .last_slot = paxos->last_slot,
        .tick = paxos->now,
    };
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        const struct paxos_peer *peer = &paxos->peers[i];
        if (peer->id == 0) {
            continue;
        }
        struct stoa_paxos_member_status *member = &status->members[status->member_count++];
        member->node_id = peer->id;
        member->voter = peer->voter;
        if (i == 0) {
            member->match_slot = paxos->last_slot;
        } else if (paxos->role == STOA_PAXOS_LEADER) {
            member->match_slot = peer->match_slot;
            member->lag =
                paxos->last_slot -
                (peer->match_slot < paxos->last_slot ? peer->match_slot : paxos->last_slot);
            member->ticks_since_heard = peer->heard ? paxos->now - peer->heard_tick : paxos->now;
        }
    }
}

uint32_t stoa_paxos_members(const struct stoa_paxos *paxos, uint32_t *ids, uint32_t capacity) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].voter) {
            if (count < capacity) {
                ids[count] = paxos->peers[i].id;
            }
            count++;
        }
    }
    return count;
}
