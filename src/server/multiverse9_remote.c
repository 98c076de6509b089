/* AGGREGATE across nodes: a job answers one request whose targets include ULID@host:port
 * (or, on a member of a replica group, any AGGREGATE: its local targets are reads through the
 * group); a fetch is one connection to one other node (multiverse9_server.h). */
#include <stdio.h>
#include <string.h>

#include "server/multiverse9_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* The target text as the reply echoes it: the ULID, and "@host:port" for a remote one. */
#define TARGET_TEXT_BYTES (STOA_ULID_TEXT_LENGTH + 1 + STOA_ADDRESS_TEXT_BYTES_MAX)

struct fetch;
struct multiverse9_job;

struct slot {
    char text[TARGET_TEXT_BYTES];
    char ulid[STOA_ULID_TEXT_LENGTH + 1];
    struct fetch *fetch; /* NULL for a local target */
    bool answered;
    size_t offset; /* of the answer in job->answers */
    size_t length;
    /* A local target on a member of a replica group: its read through the group. */
    bool in_group;
    struct multiverse9_job *job;
    size_t index; /* in job->slots */
    struct stoa_replica_waiter waiter;
    struct stoa_multiverse9_value_reply value; /* the waiter's reply, into value_text */
    struct stoa_buf value_text;
};

struct multiverse9_job {
    struct multiverse9_session *session;
    bool framed;
    int64_t deadline_ms; /* monotonic */
    size_t waiting;      /* slots not answered yet */
    size_t slot_count;
    struct slot *slots;
    struct stoa_buf answers;
    size_t fetch_count;
    struct fetch *fetches[STOA_MULTIVERSE9_REMOTES_MAX];
};

enum fetch_phase {
    FETCH_CONNECTING,
    FETCH_HELLO,   /* waiting for the HELLO reply */
    FETCH_WORKING, /* the AUTH reply, then one AGGREGATE reply per slot */
    FETCH_CLOSING,
};

/* One connection to another node. It may outlive its job (a connect still pending when the
 * job ended): then job is NULL, and it only closes and frees itself. */
struct fetch {
    struct multiverse9_job *job;
    struct stoa_env *env;
    const struct stoa_log *log;
    struct stoa_env_stream *stream;
    struct stoa_address address;
    char address_text[STOA_ADDRESS_TEXT_BYTES_MAX];
    enum fetch_phase phase;
    size_t *slot_indices; /* of job->slots, in the order the requests are sent */
    size_t slot_count;
    size_t replies; /* AGGREGATE replies read */
    bool expect_auth_reply;
    bool connect_failed; /* env connect refused at once: no callback will come */
    bool auth_refused;
    char auth_error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    struct stoa_buf in;
    struct stoa_buf hello; /* each write's bytes live until the fetch is freed */
    struct stoa_buf work;
};

/* ---- answers ---- */

static void job_finish(struct multiverse9_job *job);

/* One less thing to wait for; the last one writes the reply (and frees the job). */
static void job_release(struct multiverse9_job *job) {
    STOA_ASSERT(job->waiting > 0);
    job->waiting--;
    if (job->waiting == 0) {
        job_finish(job);
    }
}

/* Gives slot index its answer (an empty one if memory runs out). May free the job. */
static void answer(struct multiverse9_job *job, size_t index, const void *data, size_t length) {
    struct slot *slot = &job->slots[index];
    STOA_ASSERT(!slot->answered);
    slot->answered = true;
    slot->offset = job->answers.length;
    slot->length = stoa_buf_append(&job->answers, data, length) == STOA_OK ? length : 0;
    job_release(job);
}

static void answer_text(struct multiverse9_job *job, size_t index, const char *text) {
    if (job->slots[index].fetch != NULL) {
        job->session->server->stats.remote_failures++;
    }
    answer(job, index, text, strlen(text));
}

/* Answers every slot of fetch still waiting with "Error: node <address> <what>". */
static void fail_fetch(struct fetch *fetch, const char *what) {
    struct multiverse9_job *job = fetch->job;
    if (job == NULL) {
        return;
    }
    char text[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    if (fetch->auth_refused) {
        snprintf(text, sizeof(text), "Error: node %s %.80s (its AUTH reply: %.80s)",
                 fetch->address_text, what, fetch->auth_error);
    } else {
        snprintf(text, sizeof(text), "Error: node %s %.160s", fetch->address_text, what);
    }
    STOA_LOG_DEBUG(fetch->log, MULTIVERSE9_MODULE, "remote fetch failed",
                   STOA_FIELD_STR("node", fetch->address_text), STOA_FIELD_STR("error", what));
    /* The last answer may finish and free the job (which detaches this fetch): count the
     * slots still waiting first, and touch nothing after the last of them. */
    size_t indices[STOA_MULTIVERSE9_TARGETS_MAX];
    size_t waiting = 0;
    for (size_t i = 0; i < fetch->slot_count; i++) {
        if (!job->slots[fetch->slot_indices[i]].answered) {
            indices[waiting++] = fetch->slot_indices[i];
        }
    }
    for (size_t i = 0; i < waiting; i++) {
        answer_text(job, indices[i], text);
    }
}

/* ---- fetches ---- */

static void fetch_free(struct fetch *fetch) {
    stoa_buf_free(&fetch->in);
    stoa_buf_free(&fetch->hello);
    stoa_buf_free(&fetch->work);
    stoa_free(fetch->slot_indices);
    stoa_free(fetch);
}

static void on_fetch_closed(void *context) {
    fetch_free(context);
}

static void fetch_close(struct fetch *fetch) {
    if (fetch->connect_failed) {
        fetch_free(fetch);
        return;
    }
    if (fetch->phase == FETCH_CLOSING) {
        return;
    }
    if (fetch->phase == FETCH_CONNECTING) {
        /* The connect callback closes or frees it. */
        fetch->job = NULL;
        return;
    }
    fetch->phase = FETCH_CLOSING;
    fetch->job = NULL;
    fetch->env->ops->stream_close(fetch->stream, on_fetch_closed, fetch);
}

static void on_fetch_written(void *context, int status) {
    struct fetch *fetch = context;
    if (status != STOA_OK && fetch->phase != FETCH_CLOSING) {
        fail_fetch(fetch, "closed the connection");
        fetch_close(fetch);
    }
}

static bool fetch_write(struct fetch *fetch, struct stoa_buf *buf) {
    if (fetch->env->ops->stream_write(fetch->stream, buf->data, buf->length, on_fetch_written,
                                      fetch) != STOA_OK) {
        fail_fetch(fetch, "closed the connection");
        fetch_close(fetch);
        return false;
    }
    return true;
}

/* After HELLO's reply: AUTH (when the node sent a challenge), then every AGGREGATE. */
static void send_work(struct fetch *fetch, bool hello_ok, const uint8_t *payload, size_t length) {
    struct stoa_multiverse9_server *server = fetch->job->session->server;
    int result = STOA_OK;
    if (hello_ok &&
        length == STOA_MULTIVERSE9_CHALLENGE_BYTES + STOA_MULTIVERSE9_PUBLIC_KEY_BYTES) {
        uint8_t message[STOA_MULTIVERSE9_AUTH_MESSAGE_BYTES];
        stoa_multiverse9_auth_message(payload, payload + STOA_MULTIVERSE9_CHALLENGE_BYTES,
                                      message);
        uint8_t auth[STOA_MULTIVERSE9_PUBLIC_KEY_BYTES + STOA_MULTIVERSE9_SIGNATURE_BYTES];
        memcpy(auth, server->key->public_key, STOA_MULTIVERSE9_PUBLIC_KEY_BYTES);
        stoa_node_key_sign(server->key, message, sizeof(message),
                           auth + STOA_MULTIVERSE9_PUBLIC_KEY_BYTES);
        result = stoa_multiverse9_write_request(&fetch->work, STOA_MULTIVERSE9_AUTH, auth,
                                                sizeof(auth));
        fetch->expect_auth_reply = true;
    } else {
        /* No challenge: send no AUTH, and ask anyway (the node may be open). */
        fetch->auth_refused = true;
        snprintf(fetch->auth_error, sizeof(fetch->auth_error), "no challenge to HELLO");
    }
    for (size_t i = 0; i < fetch->slot_count && result == STOA_OK; i++) {
        const struct slot *slot = &fetch->job->slots[fetch->slot_indices[i]];
        result = stoa_multiverse9_write_request(&fetch->work, STOA_MULTIVERSE9_AGGREGATE,
                                                (const uint8_t *)slot->ulid,
                                                STOA_ULID_TEXT_LENGTH);
    }
    if (result != STOA_OK) {
        fail_fetch(fetch, "could not be asked (out of memory)");
        fetch_close(fetch);
        return;
    }
    fetch->phase = FETCH_WORKING;
    (void)fetch_write(fetch, &fetch->work);
}

/* One AGGREGATE reply: "ULID:VALUE\0" for the slot, or an error. */
static void on_aggregate_reply(struct fetch *fetch, uint8_t status, const uint8_t *payload,
                               size_t length) {
    struct multiverse9_job *job = fetch->job;
    size_t index = fetch->slot_indices[fetch->replies++];
    const struct slot *slot = &job->slots[index];
    if (status == STOA_MULTIVERSE9_STATUS_OK) {
        size_t prefix = STOA_ULID_TEXT_LENGTH + 1;
        if (length >= prefix + 1 && memcmp(payload, slot->ulid, STOA_ULID_TEXT_LENGTH) == 0 &&
            payload[STOA_ULID_TEXT_LENGTH] == ':' && payload[length - 1] == 0x00) {
            answer(job, index, payload + prefix, length - prefix - 1);
        } else {
            answer_text(job, index, "Error: the node's reply is not an AGGREGATE entry");
        }
        return;
    }
    char text[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    int shown = length > 1 ? (int)(length - 1 < 160 ? length - 1 : 160) : 0;
    snprintf(text, sizeof(text), "Error: node %s refused: %.*s", fetch->address_text, shown,
             length > 1 ? (const char *)payload + 1 : "");
    answer_text(job, index, text);
}

/* Handles every whole reply in fetch->in. */
static void on_fetch_replies(struct fetch *fetch) {
    size_t used = 0;
    while (fetch->job != NULL && fetch->phase != FETCH_CLOSING) {
        uint8_t status = 0;
        const uint8_t *payload = NULL;
        size_t length = 0;
        size_t consumed = 0;
        int result =
            stoa_multiverse9_parse_reply(fetch->in.data + used, fetch->in.length - used,
                                         STOA_MULTIVERSE9_REMOTE_REPLY_BYTES_MAX, &status,
                                         &payload, &length, &consumed);
        if (result == STOA_ERR_AGAIN) {
            break;
        }
        if (result != STOA_OK) {
            fail_fetch(fetch, "sent a reply that is not multiverse9's");
            fetch_close(fetch);
            return;
        }
        used += consumed;
        bool ok = status == STOA_MULTIVERSE9_STATUS_OK;
        if (fetch->phase == FETCH_HELLO) {
            send_work(fetch, ok, payload, length);
        } else if (fetch->expect_auth_reply) {
            fetch->expect_auth_reply = false;
            if (!ok) {
                fetch->auth_refused = true;
                int shown = length > 1 ? (int)(length - 1 < 160 ? length - 1 : 160) : 0;
                snprintf(fetch->auth_error, sizeof(fetch->auth_error), "%.*s", shown,
                         length > 1 ? (const char *)payload + 1 : "");
            }
        } else {
            bool last = fetch->replies + 1 == fetch->slot_count;
            on_aggregate_reply(fetch, status, payload, length);
            if (last) {
                fetch_close(fetch);
                return;
            }
        }
    }
    if (fetch->phase != FETCH_CLOSING && used > 0) {
        stoa_buf_consume(&fetch->in, used);
    }
}

static void on_fetch_read(void *context, int status, const uint8_t *data, size_t length) {
    struct fetch *fetch = context;
    if (fetch->phase == FETCH_CLOSING) {
        return;
    }
    if (fetch->job == NULL) {
        fetch_close(fetch);
        return;
    }
    if (status != STOA_OK) {
        fail_fetch(fetch, "closed the connection before answering");
        fetch_close(fetch);
        return;
    }
    if (stoa_buf_append(&fetch->in, data, length) != STOA_OK) {
        fail_fetch(fetch, "sent a reply that is too large");
        fetch_close(fetch);
        return;
    }
    on_fetch_replies(fetch);
}

static void on_fetch_connected(void *context, int status, struct stoa_env_stream *stream) {
    struct fetch *fetch = context;
    if (status != STOA_OK) {
        if (fetch->job != NULL) {
            char what[128];
            snprintf(what, sizeof(what), "is unreachable (%s)", stoa_err_message(status));
            fail_fetch(fetch, what);
        }
        fetch_free(fetch);
        return;
    }
    fetch->stream = stream;
    fetch->phase = FETCH_HELLO;
    if (fetch->job == NULL) {
        fetch_close(fetch);
        return;
    }
    if (fetch->env->ops->stream_read_start(stream, on_fetch_read, fetch) != STOA_OK ||
        stoa_multiverse9_write_request(&fetch->hello, STOA_MULTIVERSE9_HELLO, NULL, 0) !=
            STOA_OK) {
        fail_fetch(fetch, "could not be read");
        fetch_close(fetch);
        return;
    }
    (void)fetch_write(fetch, &fetch->hello);
}

/* The fetch for address in job, made if new. Returns NULL when out of memory or over
 * STOA_MULTIVERSE9_REMOTES_MAX (the slot is then answered with an error). */
static struct fetch *fetch_for(struct multiverse9_job *job, const struct stoa_address *address,
                               size_t slots_max) {
    for (size_t i = 0; i < job->fetch_count; i++) {
        if (stoa_address_equal(&job->fetches[i]->address, address)) {
            return job->fetches[i];
        }
    }
    if (job->fetch_count == STOA_MULTIVERSE9_REMOTES_MAX) {
        return NULL;
    }
    struct stoa_multiverse9_server *server = job->session->server;
    struct fetch *fetch = stoa_calloc(1, sizeof(*fetch));
    size_t *indices = stoa_calloc(slots_max, sizeof(size_t));
    if (fetch == NULL || indices == NULL) {
        stoa_free(fetch);
        stoa_free(indices);
        return NULL;
    }
    fetch->job = job;
    fetch->env = server->env;
    fetch->log = server->log;
    fetch->address = *address;
    stoa_address_format(address, fetch->address_text);
    fetch->slot_indices = indices;
    stoa_buf_init(&fetch->in, STOA_MULTIVERSE9_REMOTE_REPLY_BYTES_MAX +
                                  2 * STOA_STREAM_READ_BYTES_MAX);
    stoa_buf_init(&fetch->hello, 64);
    stoa_buf_init(&fetch->work, STOA_MULTIVERSE9_TARGETS_MAX * 64 + 256);
    job->fetches[job->fetch_count++] = fetch;
    return fetch;
}

/* ---- jobs ---- */

static void job_free(struct multiverse9_job *job) {
    for (size_t i = 0; i < job->fetch_count; i++) {
        fetch_close(job->fetches[i]);
    }
    struct stoa_replica *replica = job->session->server->replica;
    for (size_t i = 0; i < job->slot_count; i++) {
        struct slot *slot = &job->slots[i];
        if (slot->in_group) {
            /* Cancels a read still waiting: its answer, if it comes, is dropped. */
            stoa_replica_waiter_free(replica, &slot->waiter);
            stoa_buf_free(&slot->value_text);
        }
    }
    stoa_buf_free(&job->answers);
    stoa_free(job->slots);
    stoa_free(job);
}

/* Writes the reply, entries in target order. */
static void job_write_reply(struct multiverse9_job *job) {
    struct stoa_multiverse9_writer *writer = &job->session->writer;
    stoa_multiverse9_reply_begin(writer, job->framed, STOA_MULTIVERSE9_STATUS_OK);
    for (size_t i = 0; i < job->slot_count; i++) {
        const struct slot *slot = &job->slots[i];
        stoa_multiverse9_reply_append(writer, slot->text, strlen(slot->text));
        stoa_multiverse9_reply_append(writer, ":", 1);
        stoa_multiverse9_reply_append(writer, job->answers.data + slot->offset, slot->length);
        stoa_multiverse9_reply_append(writer, "", 1);
    }
    stoa_multiverse9_reply_end(writer);
    job->session->conn->output_error = writer->error;
}

/* Every slot has its answer (after job_start returned): reply and let the connection go on. */
static void job_finish(struct multiverse9_job *job) {
    struct multiverse9_session *session = job->session;
    struct stoa_multiverse9_writer *writer = &session->writer;
    job_write_reply(job);
    session->job = NULL;
    job_free(job);
    struct stoa_conn *conn = session->conn;
    conn->output_error = writer->error;
    if (session->close_when_done) {
        stoa_conn_close_after_reply(conn, "unframed request answered");
    }
    /* This may run inside the replica's callbacks (a group read's answer): the connection's
     * next requests run at the loop hook, outside them. */
    stoa_conn_resume_later(conn);
}

/* The replica's done callback for a local target's read (or called at once when the read was
 * answered at once): the value moves into the job's answers. May finish and free the job. */
static void on_slot_read(struct stoa_replica_waiter *waiter) {
    struct slot *slot = waiter->context;
    /* The text is taken out of the slot first: the answer may free the job and its slots. */
    struct stoa_buf text = slot->value_text;
    stoa_buf_init(&slot->value_text, STOA_VALUE_BYTES_MAX);
    size_t length = slot->value.error == STOA_OK ? text.length : 0;
    answer(slot->job, slot->index, text.data, length);
    stoa_buf_free(&text);
}

/* Reads a local target through the replica group. */
static void slot_read_in_group(struct multiverse9_job *job, size_t index) {
    struct slot *slot = &job->slots[index];
    slot->in_group = true;
    slot->job = job;
    slot->index = index;
    stoa_buf_init(&slot->value_text, STOA_VALUE_BYTES_MAX);
    stoa_multiverse9_value_reply_init(&slot->value, &slot->value_text);
    stoa_replica_waiter_init(&slot->waiter, &slot->value.reply, on_slot_read, slot);
    if (multiverse9_group_read(job->session->server, slot->ulid, &slot->waiter)) {
        on_slot_read(&slot->waiter);
    }
}

static void slot_init(struct slot *slot, const struct stoa_multiverse9_target *target) {
    memcpy(slot->ulid, target->ulid, sizeof(slot->ulid));
    if (!target->remote) {
        snprintf(slot->text, sizeof(slot->text), "%s", target->ulid);
        return;
    }
    char address[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&target->address, address);
    snprintf(slot->text, sizeof(slot->text), "%s@%s", target->ulid, address);
}

/* Assigns every target to its fetch, or answers it at once (local, or over the limits). */
static void job_fill(struct multiverse9_job *job, size_t count) {
    struct stoa_multiverse9_server *server = job->session->server;
    for (size_t i = 0; i < count; i++) {
        const struct stoa_multiverse9_target *target = &server->targets[i];
        slot_init(&job->slots[i], target);
        if (!target->remote) {
            continue;
        }
        struct fetch *fetch = fetch_for(job, &target->address, count);
        if (fetch == NULL) {
            continue;
        }
        job->slots[i].fetch = fetch;
        fetch->slot_indices[fetch->slot_count++] = i;
    }
}

int multiverse9_job_start(struct multiverse9_session *session, size_t count, bool framed) {
    STOA_ASSERT(session->job == NULL && count > 0);
    struct stoa_multiverse9_server *server = session->server;
    struct multiverse9_job *job = stoa_calloc(1, sizeof(*job));
    struct slot *slots = stoa_calloc(count, sizeof(*slots));
    if (job == NULL || slots == NULL) {
        stoa_free(job);
        stoa_free(slots);
        return STOA_ERR_NOMEM;
    }
    job->session = session;
    job->framed = framed;
    job->slots = slots;
    job->slot_count = count;
    job->waiting = count + 1; /* held open until every fetch has started */
    job->deadline_ms = stoa_env_monotonic_ms(server->env) + server->remote_timeout_ms;
    /* The answers end up in the connection's output: they can be no larger. */
    stoa_buf_init(&job->answers, session->conn->out.capacity_max);
    session->job = job;
    job_fill(job, count);
    for (size_t i = 0; i < count; i++) {
        struct slot *slot = &job->slots[i];
        if (!server->targets[i].remote && server->replica != NULL) {
            slot_read_in_group(job, i);
        } else if (!server->targets[i].remote) {
            struct stoa_buf value;
            stoa_buf_init(&value, STOA_VALUE_BYTES_MAX);
            int error = STOA_OK;
            multiverse9_read_value(server, slot->ulid, &value, &error);
            answer(job, i, value.data, error == STOA_OK ? value.length : 0);
            stoa_buf_free(&value);
        } else if (slot->fetch == NULL) {
            answer_text(job, i, "Error: too many remote nodes in one AGGREGATE, or out of memory");
        }
    }
    for (size_t i = 0; i < job->fetch_count; i++) {
        struct fetch *fetch = job->fetches[i];
        server->stats.remote_fetches++;
        int result = server->env->ops->connect(server->env, &fetch->address, on_fetch_connected,
                                               fetch);
        if (result != STOA_OK) {
            fetch->connect_failed = true; /* no callback will come: freed with the job */
            char what[128];
            snprintf(what, sizeof(what), "is unreachable (%s)", stoa_err_message(result));
            fail_fetch(fetch, what);
        }
    }
    /* Release the hold taken above. If every entry is answered already (every node failed at
     * once), reply now, inside the caller's request loop; else wait for the nodes. */
    if (--job->waiting == 0) {
        job_write_reply(job);
        session->job = NULL;
        job_free(job);
        return STOA_OK;
    }
    stoa_conn_pause(session->conn);
    multiverse9_tick_needed(server);
    return STOA_OK;
}

void multiverse9_job_expire(struct multiverse9_session *session, int64_t now_ms) {
    struct multiverse9_job *job = session->job;
    if (job == NULL || now_ms < job->deadline_ms) {
        return;
    }
    char what[96];
    snprintf(what, sizeof(what), "did not answer within %lld ms",
             (long long)session->server->remote_timeout_ms);
    /* Failing a fetch may finish the job (and free it): stop as soon as it is gone. */
    for (size_t i = 0; session->job == job && i < job->fetch_count; i++) {
        fail_fetch(job->fetches[i], what);
    }
}

void multiverse9_job_cancel(struct multiverse9_session *session) {
    if (session->job != NULL) {
        struct multiverse9_job *job = session->job;
        session->job = NULL;
        job_free(job);
    }
}
