/* stoa_sim_client: the simulated clients (see stoa_sim.h). Each has at most one operation in
 * flight, sent to a member picked at random; the events go into one Jepsen-shaped JSON-lines
 * history per model (docs/checking.md), in the order they happen, which is the real-time
 * order of the run. An operation without an answer within SIM_TIMEOUT_TICKS ends as "info"
 * and the client takes a new process id, as in Jepsen.
 *
 * About half the clients (never the first) are session clients: they register (REGISTER_CLIENT),
 * then write the session counters ("c3", "c4") with INCRBY under their client id and the next
 * sequence number, and read them; each write has a number unique in the run, so the world can tell
 * which logical write every application belongs to. A session write without an answer is
 * sent again, with the same sequence, to another member, until a copy is answered: it ends as
 * info only if the run ends first. Once it has been sent twice, a failure answer is no longer
 * final (an earlier copy may still be applied), so it is sent again at the next tick. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check/check.h"
#include "check/history.h"
#include "sim/stoa_sim.h"
#include "util/alloc.h"
#include "util/err.h"

struct sim_client {
    int64_t process;
    bool busy;
    struct sim_op op;
    uint64_t request_id;
    uint64_t invoked;             /* tick */
    uint64_t next_at;             /* tick of its next invoke */
    uint64_t ok_invoked_plus_one; /* invoke tick + 1 of its latest ok operation; 0: none */
    /* Sessions. */
    bool session;
    uint64_t client_id;                            /* 0: not registered yet */
    uint64_t sequence;                             /* of its latest write */
    uint32_t attempts;                             /* copies of the operation sent */
    uint64_t attempt_ids[SIM_SESSION_COPIES_KEPT]; /* request ids of the latest copies */
    uint64_t attempt_at;                           /* tick of the latest copy */
    bool retry_due;                                /* send a copy at the next tick */
    uint32_t member;                               /* where the latest copy went */
    uint64_t logical; /* the number of its current session write (unique in the run) */
};

struct sim_clients {
    struct sim_world *world;
    struct sim_client clients[SIM_CLIENTS_MAX];
    uint32_t count;
    struct stoa_buf history[SIM_MODEL_COUNT];
    uint64_t next_request_id;
    int64_t next_value;
    int64_t next_process;
    uint64_t ops;
    uint64_t ok;
    uint64_t fail;
    uint64_t info;
    uint64_t sessions;
    uint64_t retries;
    bool key_used[SIM_MODEL_COUNT][SIM_KEYS_MAX];
};

static const char *const model_names[SIM_MODEL_COUNT] = {"register", "counter", "deque"};
static const char *const f_names[SIM_OP_KIND_COUNT] = {"write",     "read",      "incr",    "read",
                                                       "push-back", "pop-front", "register"};

static enum sim_model model_of(uint8_t kind) {
    return (enum sim_model)(kind / 2);
}

int sim_clients_create(struct sim_world *world, uint32_t count, struct sim_clients **out) {
    struct sim_clients *clients = stoa_calloc(1, sizeof(*clients));
    if (clients == NULL) {
        return STOA_ERR_NOMEM;
    }
    clients->world = world;
    clients->count = count < SIM_CLIENTS_MAX ? count : SIM_CLIENTS_MAX;
    for (uint32_t i = 0; i < SIM_MODEL_COUNT; i++) {
        stoa_buf_init(&clients->history[i], SIZE_MAX);
    }
    for (uint32_t i = 0; i < clients->count; i++) {
        clients->clients[i].process = clients->next_process++;
        /* Client 0 never has a session, so every model's history has operations. */
        clients->clients[i].session = i > 0 && stoa_prng_below(sim_prng(world), 2) == 0;
    }
    clients->next_value = 1;
    clients->next_request_id = 1;
    *out = clients;
    return STOA_OK;
}

void sim_clients_destroy(struct sim_clients *clients) {
    if (clients == NULL) {
        return;
    }
    for (uint32_t i = 0; i < SIM_MODEL_COUNT; i++) {
        stoa_buf_free(&clients->history[i]);
    }
    stoa_free(clients);
}

/* ---- the history ---- */

static void event(struct sim_clients *clients, const struct sim_client *client, const char *type,
                  bool has_value, int64_t value) {
    char line[256];
    char value_text[32] = "null";
    if (has_value) {
        snprintf(value_text, sizeof(value_text), "%lld", (long long)value);
    }
    static const char prefix[SIM_MODEL_COUNT] = {'r', 'c', 'd'};
    enum sim_model model = model_of(client->op.kind);
    int length = snprintf(line, sizeof(line),
                          "{\"type\":\"%s\",\"process\":%lld,\"f\":\"%s\",\"key\":\"%c%u\","
                          "\"value\":%s,\"time\":%llu}\n",
                          type, (long long)client->process, f_names[client->op.kind], prefix[model],
                          client->op.key, value_text,
                          (unsigned long long)sim_now(clients->world) * SIM_TICK_MS * 1000000);
    if (length > 0 && (size_t)length < sizeof(line)) {
        (void)stoa_buf_append(&clients->history[model], line, (size_t)length);
    }
}

/* ---- invoking and completing ---- */

static struct sim_op draw_op(struct sim_clients *clients) {
    struct stoa_prng *prng = sim_prng(clients->world);
    struct sim_op op = {.key = (uint8_t)stoa_prng_below(prng, SIM_KEYS_PER_MODEL)};
    uint64_t model = stoa_prng_below(prng, SIM_MODEL_COUNT);
    /* Deques get more pops than pushes, so they stay short: an info push or pop on a long
     * deque multiplies the states the checker must visit. */
    bool write = stoa_prng_below(prng, 100) < (model == SIM_MODEL_DEQUE ? 40 : 55);
    op.kind = (uint8_t)(model * 2 + (write ? 0 : 1));
    if (op.kind == SIM_OP_INCR) {
        op.argument = 1 + (int64_t)stoa_prng_below(prng, 5);
    } else if (op.kind == SIM_OP_SET || op.kind == SIM_OP_PUSH) {
        op.argument = clients->next_value++; /* values are unique */
    }
    return op;
}

/* A session client's operation: a write of the session counter, or a read of it. */
static struct sim_op draw_session_op(struct sim_clients *clients, struct sim_client *client) {
    struct stoa_prng *prng = sim_prng(clients->world);
    struct sim_op op = {
        .kind = SIM_OP_COUNT_GET,
        .key = (uint8_t)(SIM_SESSION_KEY_FIRST + stoa_prng_below(prng, SIM_SESSION_KEYS))};
    if (stoa_prng_below(prng, 100) < 60) {
        op.kind = SIM_OP_INCR;
        op.argument = 1 + (int64_t)stoa_prng_below(prng, 5);
        op.client_id = client->client_id;
        op.sequence = ++client->sequence;
        client->logical = (uint64_t)clients->next_value++;
    }
    return op;
}

static bool retries(const struct sim_client *client) {
    return client->op.client_id != 0;
}

/* Sends (a copy of) the operation: the first to any member, a retry to another one. */
static void send_op(struct sim_clients *clients, struct sim_client *client) {
    struct sim_world *world = clients->world;
    uint32_t count = sim_member_count(world);
    uint32_t id = 1 + (uint32_t)stoa_prng_below(sim_prng(world), count);
    if (client->attempts > 0 && count > 1) {
        id = 1 + (uint32_t)stoa_prng_below(sim_prng(world), count - 1);
        id = id >= client->member ? id + 1 : id;
    }
    client->request_id = clients->next_request_id++;
    client->attempt_ids[client->attempts++ % SIM_SESSION_COPIES_KEPT] = client->request_id;
    client->retry_due = false;
    client->attempt_at = sim_now(world);
    client->member = id;
    if (client->op.client_id != 0) {
        sim_session_sent(world, client->op.client_id, client->op.sequence, client->logical,
                         client->op.argument);
    }
    sim_member_request(world, sim_member_of(world, id), 0, client->request_id, &client->op);
}

static void invoke(struct sim_clients *clients, struct sim_client *client) {
    struct sim_world *world = clients->world;
    client->busy = true;
    client->attempts = 0;
    client->invoked = sim_now(world);
    if (client->session && client->client_id == 0) {
        client->op = (struct sim_op){.kind = SIM_OP_REGISTER}; /* not in the history */
        send_op(clients, client);
        return;
    }
    client->op = client->session ? draw_session_op(clients, client) : draw_op(clients);
    clients->ops++;
    clients->key_used[model_of(client->op.kind)][client->op.key] = true;
    bool write = client->op.kind == SIM_OP_SET || client->op.kind == SIM_OP_INCR ||
                 client->op.kind == SIM_OP_PUSH;
    event(clients, client, "invoke", write, client->op.argument);
    send_op(clients, client);
}

/* No answer, or a failure that is not final: a session write is sent again. */
static void retry(struct sim_clients *clients, struct sim_client *client) {
    clients->retries++;
    /* PLANTED (--retry-new-sequence): the copy is numbered as a new write. */
    if (sim_retry_new_sequence(clients->world)) {
        client->op.sequence = ++client->sequence;
    }
    send_op(clients, client);
}

static bool is_attempt(const struct sim_client *client, uint64_t request_id) {
    uint32_t kept =
        client->attempts < SIM_SESSION_COPIES_KEPT ? client->attempts : SIM_SESSION_COPIES_KEPT;
    for (uint32_t i = 0; i < kept; i++) {
        if (client->attempt_ids[i] == request_id) {
            return true;
        }
    }
    return false;
}

static void registered(struct sim_clients *clients, struct sim_client *client,
                       const struct sim_result *result) {
    client->busy = false;
    client->next_at = sim_now(clients->world);
    if (result->status == SIM_STATUS_OK && result->has_value && result->value > 0) {
        client->client_id = (uint64_t)result->value;
        client->sequence = 0;
        clients->sessions++;
    }
}

void sim_clients_reply(struct sim_clients *clients, uint64_t request_id,
                       const struct sim_result *result) {
    for (uint32_t i = 0; i < clients->count; i++) {
        struct sim_client *client = &clients->clients[i];
        if (!client->busy || !is_attempt(client, request_id)) {
            continue;
        }
        if (client->op.kind == SIM_OP_REGISTER) {
            registered(clients, client, result);
            return;
        }
        if (result->status != SIM_STATUS_OK && client->attempts > 1 && retries(client)) {
            /* Not final: an earlier copy may still be applied. Sent again at the next tick
             * (not from here: a member that fails it at once would answer within this call). */
            client->retry_due = true;
            return;
        }
        client->busy = false;
        client->next_at = sim_now(clients->world) + stoa_prng_below(sim_prng(clients->world), 4);
        if (result->status != SIM_STATUS_OK) {
            clients->fail++;
            event(clients, client, "fail", false, 0);
            return;
        }
        if (client->op.client_id != 0) {
            sim_session_acknowledged(clients->world, client->logical);
        }
        clients->ok++;
        client->ok_invoked_plus_one = client->invoked + 1;
        bool carries = result->has_value;
        int64_t value = result->value;
        if (client->op.kind == SIM_OP_SET || client->op.kind == SIM_OP_PUSH) {
            carries = true;
            value = client->op.argument;
        }
        event(clients, client, "ok", carries, value);
        return;
    }
}

void sim_clients_tick(struct sim_clients *clients, bool open) {
    uint64_t now = sim_now(clients->world);
    for (uint32_t i = 0; i < clients->count; i++) {
        struct sim_client *client = &clients->clients[i];
        bool late = now - client->attempt_at >= SIM_TIMEOUT_TICKS;
        if (client->busy && retries(client) && (late || client->retry_due)) {
            retry(clients, client);
            continue;
        }
        if (client->busy && client->op.kind == SIM_OP_REGISTER && late) {
            client->busy = false; /* registers again: not an operation of the history */
            client->next_at = now;
        }
        if (client->busy && late) {
            clients->info++;
            event(clients, client, "info", false, 0);
            client->busy = false;
            client->process = clients->next_process++;
            client->next_at = now;
        }
        if (open && !client->busy && client->next_at <= now) {
            invoke(clients, client);
        }
    }
}

bool sim_clients_all_answered_since(const struct sim_clients *clients, uint64_t tick) {
    for (uint32_t i = 0; i < clients->count; i++) {
        const struct sim_client *client = &clients->clients[i];
        if (client->ok_invoked_plus_one < tick + 1) {
            return false;
        }
    }
    return true;
}

bool sim_clients_idle(const struct sim_clients *clients) {
    for (uint32_t i = 0; i < clients->count; i++) {
        if (clients->clients[i].busy) {
            return false;
        }
    }
    return true;
}

void sim_clients_stats(const struct sim_clients *clients, struct sim_stats *stats) {
    stats->ops += clients->ops;
    stats->ops_ok += clients->ok;
    stats->ops_fail += clients->fail;
    stats->ops_info += clients->info;
    stats->sessions += clients->sessions;
    stats->retries += clients->retries;
    for (uint32_t m = 0; m < SIM_MODEL_COUNT; m++) {
        for (uint32_t k = 0; k < SIM_KEYS_MAX; k++) {
            stats->keys += clients->key_used[m][k] ? 1 : 0;
        }
    }
}

/* ---- checking ---- */

static int write_file(const struct sim_options *options, enum sim_model model,
                      const struct stoa_buf *history) {
    char path[1024];
    const char *base = options->history_path;
    size_t length = strlen(base);
    const char *suffix = ".jsonl";
    if (length >= 6 && strcmp(base + length - 6, suffix) == 0) {
        snprintf(path, sizeof(path), "%.*s.%s.jsonl", (int)(length - 6), base, model_names[model]);
    } else {
        snprintf(path, sizeof(path), "%s.%s.jsonl", base, model_names[model]);
    }
    FILE *file = fopen(path, "wb");
    if (file == NULL) {
        fprintf(stderr, "stoa-sim: cannot write %s\n", path);
        return STOA_ERR_IO;
    }
    size_t written = history->length == 0 ? 0 : fwrite(history->data, 1, history->length, file);
    int closed = fclose(file);
    if (written != history->length || closed != 0) {
        fprintf(stderr, "stoa-sim: cannot write %s\n", path);
        return STOA_ERR_IO;
    }
    return STOA_OK;
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Checks one model's history; 0 linearizable, 1 not (why filled, the explanation printed). */
static int check_model(enum sim_model model, const struct stoa_buf *history,
                       struct sim_stats *stats, char *why, size_t why_bytes) {
    static const enum stoa_check_model models[SIM_MODEL_COUNT] = {
        STOA_CHECK_MODEL_REGISTER, STOA_CHECK_MODEL_COUNTER, STOA_CHECK_MODEL_DEQUE};
    struct stoa_check_history parsed;
    struct stoa_check_parse_error error;
    int64_t start = monotonic_ns();
    int result = stoa_check_history_parse((const char *)history->data, history->length,
                                          models[model], &parsed, &error);
    if (result != STOA_OK) {
        snprintf(why, why_bytes, "the %s history does not parse: line %u: %s", model_names[model],
                 error.line, error.message);
        return 1;
    }
    struct stoa_check_result checked;
    struct stoa_check_options options = {.search_bytes_max = 32ULL * 1024 * 1024};
    result = stoa_check_run(&parsed, &options, &checked);
    stats->check_ns += (uint64_t)(monotonic_ns() - start);
    int verdict = 0;
    if (result != STOA_OK) {
        snprintf(why, why_bytes, "the checker failed: %s", stoa_err_name(result));
        verdict = 1;
    } else if (checked.verdict != STOA_CHECK_LINEARIZABLE) {
        verdict = 1;
        for (uint32_t i = 0; i < checked.key_count; i++) {
            const struct stoa_check_key_result *key = &checked.keys[i];
            if (key->verdict == STOA_CHECK_LINEARIZABLE) {
                continue;
            }
            snprintf(why, why_bytes, "linearizability: %s key \"%s\": %s", model_names[model],
                     parsed.keys[key->key].name, stoa_check_verdict_name(key->verdict));
            struct stoa_buf text;
            stoa_buf_init(&text, SIZE_MAX);
            if (key->verdict == STOA_CHECK_NOT_LINEARIZABLE &&
                stoa_check_explain(&parsed, key, &text) == STOA_OK) {
                fprintf(stderr, "%.*s", (int)text.length, (const char *)text.data);
            }
            stoa_buf_free(&text);
            break;
        }
    }
    if (result == STOA_OK) {
        stoa_check_result_free(&checked);
    }
    stoa_check_history_free(&parsed);
    return verdict;
}

int sim_clients_check(struct sim_clients *clients, const struct sim_options *options,
                      struct sim_stats *stats, char *why, size_t why_bytes) {
    /* Operations still open end as info: they may have taken effect. */
    for (uint32_t i = 0; i < clients->count; i++) {
        struct sim_client *client = &clients->clients[i];
        if (client->busy && client->op.kind == SIM_OP_REGISTER) {
            client->busy = false; /* not an operation of the history */
        }
        if (client->busy) {
            clients->info++;
            event(clients, client, "info", false, 0);
            client->busy = false;
        }
    }
    int verdict = 0;
    for (uint32_t m = 0; m < SIM_MODEL_COUNT; m++) {
        if (options->history_path != NULL &&
            write_file(options, (enum sim_model)m, &clients->history[m]) != STOA_OK) {
            verdict = verdict == 0 ? -1 : verdict;
        }
        if (why == NULL || verdict != 0 || clients->history[m].length == 0) {
            continue;
        }
        verdict = check_model((enum sim_model)m, &clients->history[m], stats, why, why_bytes);
    }
    if (verdict < 0 && why != NULL) {
        snprintf(why, why_bytes, "the history could not be written");
        verdict = STOA_ERR_IO;
    }
    return verdict;
}

void sim_clients_dump(const struct sim_clients *clients) {
    for (uint32_t i = 0; i < clients->count; i++) {
        const struct sim_client *c = &clients->clients[i];
        fprintf(stderr, "  client %u: busy %d kind %u invoked %llu ok_invoked %llu next %llu\n", i,
                c->busy, c->op.kind, (unsigned long long)c->invoked,
                (unsigned long long)c->ok_invoked_plus_one, (unsigned long long)c->next_at);
    }
}
