/* The simulated env: clocks, timers and a fault-injecting disk in memory (sim_env.h). */
#include "sim/sim_env.h"

#include <stdbool.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/heap.h"
#include "util/limits.h"
#include "util/prng.h"
#include "util/time.h"

/* The clocks start at arbitrary, non-zero points: 1000 s of uptime, 2026-01-01T00:00:00Z. */
#define MONOTONIC_START_NS (INT64_C(1000) * STOA_NS_PER_S)
#define REAL_START_MS INT64_C(1767225600000)
/* A simulated file is at most 4 GiB: far above what a unit test writes, and offsets stay
 * well inside size_t. */
#define FILE_BYTES_MAX (UINT64_C(1) << 32)
/* Timer callbacks one advance may run: a repeating 1 ms timer over a simulated day. */
#define TIMER_FIRES_PER_ADVANCE_MAX (UINT64_C(1) << 27)
/* Entries a simulated disk holds, so a runaway test fails instead of eating memory. */
#define ENTRIES_MAX 65536

/* A growable byte array: a file's visible or durable contents. */
struct bytes {
    uint8_t *data;
    size_t length;
    size_t capacity;
};

/* One write or truncation not yet made durable. */
struct pending {
    bool is_truncate;
    uint64_t offset; /* a write's offset, or a truncation's new size */
    size_t length;
    uint8_t *data; /* a copy of the written bytes; NULL for a truncation */
};

/* A file or a directory. Referenced by each name (visible and durable) and each handle. */
struct inode {
    bool is_directory;
    uint64_t references;
    struct bytes visible;
    struct bytes durable;
    struct pending *pending;
    size_t pending_count;
    size_t pending_capacity;
    struct inode *previous;
    struct inode *next;
};

/* One name in a directory table. */
struct entry {
    char *path;
    struct inode *inode;
};

struct table {
    struct entry *entries;
    size_t count;
    size_t capacity;
};

struct stoa_env_file {
    struct stoa_sim_env *sim;
    struct inode *inode;
    unsigned flags;
    uint64_t generation; /* the sim's crash generation at open */
};

struct stoa_env_timer {
    struct stoa_heap_node node;
    struct stoa_sim_env *sim;
    stoa_env_timer_fn callback;
    void *context;
    int64_t repeat_ms;
    stoa_env_close_fn on_close;
    void *close_context;
    struct stoa_env_timer *next_closing;
};

/* A finished child (run_in_child) whose on_exit has not run yet. */
struct child_exit {
    stoa_env_child_exit_fn on_exit;
    void *context;
    int status;
    struct child_exit *next;
};

struct stoa_sim_env {
    struct stoa_env env;
    struct stoa_prng prng;
    int64_t monotonic_ns;
    int64_t real_ns;
    struct stoa_heap timers;
    struct stoa_env_timer *closing;
    struct child_exit *exits_first; /* in the order the children ran */
    struct child_exit *exits_last;
    struct table visible;
    struct table durable;
    struct inode *inodes; /* every live inode, for crash */
    uint64_t generation;
    uint64_t fail_fsync_countdown; /* 0 = off */
    uint64_t fail_write_countdown;
    bool halt_armed;
    uint64_t halt_countdown; /* successful syncs left before the halt */
    bool halted;
    struct stoa_sim_env_stats stats;
};

typedef char path_buffer[STOA_PATH_BYTES_MAX + 1];

static struct stoa_sim_env *sim_of(struct stoa_env *env) {
    STOA_ASSERT(env != NULL && env->self != NULL);
    return env->self;
}

/* ---- clocks and randomness ---- */

static int64_t monotonic_ns(struct stoa_env *env) {
    return sim_of(env)->monotonic_ns;
}

static int64_t real_ms(struct stoa_env *env) {
    return sim_of(env)->real_ns / STOA_NS_PER_MS;
}

static int64_t real_us(struct stoa_env *env) {
    return sim_of(env)->real_ns / 1000;
}

static void random_bytes(struct stoa_env *env, void *data, size_t length) {
    stoa_prng_fill(&sim_of(env)->prng, data, length);
}

/* ---- timers ---- */

static int sim_timer_create(struct stoa_env *env, stoa_env_timer_fn callback, void *context,
                            struct stoa_env_timer **timer_out) {
    struct stoa_sim_env *sim = sim_of(env);
    STOA_ASSERT(callback != NULL && timer_out != NULL);
    struct stoa_env_timer *timer = stoa_calloc(1, sizeof(*timer));
    if (timer == NULL) {
        return STOA_ERR_NOMEM;
    }
    /* Grow the heap now, so that starting the timer later (a void call) cannot fail. */
    stoa_heap_node_init(&timer->node);
    int status = stoa_heap_push(&sim->timers, &timer->node, 0);
    if (status != 0) {
        stoa_free(timer);
        return status;
    }
    stoa_heap_remove(&sim->timers, &timer->node);
    timer->sim = sim;
    timer->callback = callback;
    timer->context = context;
    sim->stats.timer_count++;
    *timer_out = timer;
    return STOA_OK;
}

static void sim_timer_start(struct stoa_env_timer *timer, int64_t delay_ms, int64_t repeat_ms) {
    STOA_ASSERT(timer != NULL && delay_ms >= 0 && repeat_ms >= 0);
    struct stoa_sim_env *sim = timer->sim;
    int64_t deadline = sim->monotonic_ns + delay_ms * STOA_NS_PER_MS;
    timer->repeat_ms = repeat_ms;
    if (stoa_heap_contains(&sim->timers, &timer->node)) {
        stoa_heap_update(&sim->timers, &timer->node, deadline);
        return;
    }
    int status = stoa_heap_push(&sim->timers, &timer->node, deadline);
    STOA_ASSERT(status == 0); /* room was made at create */
}

static void sim_timer_stop(struct stoa_env_timer *timer) {
    STOA_ASSERT(timer != NULL);
    if (stoa_heap_contains(&timer->sim->timers, &timer->node)) {
        stoa_heap_remove(&timer->sim->timers, &timer->node);
    }
}

static void sim_timer_close(struct stoa_env_timer *timer, stoa_env_close_fn on_close,
                            void *context) {
    sim_timer_stop(timer);
    timer->on_close = on_close;
    timer->close_context = context;
    timer->next_closing = timer->sim->closing;
    timer->sim->closing = timer;
}

static void run_closes(struct stoa_sim_env *sim) {
    while (sim->closing != NULL) {
        struct stoa_env_timer *timer = sim->closing;
        sim->closing = timer->next_closing;
        stoa_env_close_fn on_close = timer->on_close;
        void *context = timer->close_context;
        stoa_free(timer);
        sim->stats.timer_count--;
        if (on_close != NULL) {
            on_close(context);
        }
    }
}

/* ---- background work: run inline, reported at the next advance ---- */

static int run_in_child(struct stoa_env *env, stoa_env_child_fn work, void *context,
                        stoa_env_child_exit_fn on_exit, void *exit_context) {
    struct stoa_sim_env *sim = sim_of(env);
    STOA_ASSERT(work != NULL && on_exit != NULL);
    struct child_exit *exit = stoa_calloc(1, sizeof(*exit));
    if (exit == NULL) {
        return STOA_ERR_NOMEM;
    }
    int status = work(context);
    STOA_ASSERT(status >= 0 && status <= 255);
    *exit = (struct child_exit){.on_exit = on_exit, .context = exit_context, .status = status};
    if (sim->exits_last != NULL) {
        sim->exits_last->next = exit;
    } else {
        sim->exits_first = exit;
    }
    sim->exits_last = exit;
    sim->stats.child_count++;
    return STOA_OK;
}

static void run_closes(struct stoa_sim_env *sim);

/* Runs pending close callbacks and child exits. */
static void run_pending(struct stoa_sim_env *sim) {
    run_closes(sim);
    while (sim->exits_first != NULL) {
        struct child_exit *exit = sim->exits_first;
        sim->exits_first = exit->next;
        if (sim->exits_first == NULL) {
            sim->exits_last = NULL;
        }
        struct child_exit copy = *exit;
        stoa_free(exit);
        sim->stats.child_count--;
        copy.on_exit(copy.context, copy.status);
        run_closes(sim);
    }
}

void stoa_sim_env_advance(struct stoa_sim_env *sim, int64_t ms) {
    STOA_ASSERT(sim != NULL && ms >= 0);
    int64_t target = sim->monotonic_ns + ms * STOA_NS_PER_MS;
    run_pending(sim);
    for (uint64_t fires = 0;; fires++) {
        STOA_ASSERT(fires < TIMER_FIRES_PER_ADVANCE_MAX);
        struct stoa_heap_node *node = stoa_heap_peek(&sim->timers);
        if (node == NULL || node->priority > target) {
            break;
        }
        struct stoa_env_timer *timer = STOA_HEAP_ENTRY(node, struct stoa_env_timer, node);
        stoa_heap_remove(&sim->timers, node);
        sim->real_ns += node->priority - sim->monotonic_ns;
        sim->monotonic_ns = node->priority;
        if (timer->repeat_ms > 0) {
            int64_t next = sim->monotonic_ns + timer->repeat_ms * STOA_NS_PER_MS;
            int status = stoa_heap_push(&sim->timers, &timer->node, next);
            STOA_ASSERT(status == 0);
        }
        timer->callback(timer->context);
        run_pending(sim);
    }
    sim->real_ns += target - sim->monotonic_ns;
    sim->monotonic_ns = target;
}

void stoa_sim_env_set_real_ms(struct stoa_sim_env *sim, int64_t unix_ms) {
    STOA_ASSERT(sim != NULL);
    sim->real_ns = unix_ms * STOA_NS_PER_MS;
}

/* ---- the loop hook: the simulator has no I/O phase yet (issue 7 adds the network) ---- */

static int loop_hook_unsupported(struct stoa_env *env, stoa_env_timer_fn callback,
                                 void *context, struct stoa_env_loop_hook **hook) {
    (void)sim_of(env);
    (void)callback, (void)context, (void)hook;
    return STOA_ERR_UNSUPPORTED;
}

/* No hook is ever made, so these are never called with one. */
static void loop_hook_never(struct stoa_env_loop_hook *hook) {
    (void)hook;
    STOA_UNREACHABLE();
}

static void loop_hook_close_never(struct stoa_env_loop_hook *hook, stoa_env_close_fn on_close,
                                  void *context) {
    (void)hook, (void)on_close, (void)context;
    STOA_UNREACHABLE();
}

/* ---- the network: not yet simulated (issue 7) ---- */

static int listen_unsupported(struct stoa_env *env, const struct stoa_address *address,
                              stoa_env_accept_fn on_accept, void *context,
                              struct stoa_env_listener **listener) {
    (void)sim_of(env);
    (void)address, (void)on_accept, (void)context, (void)listener;
    return STOA_ERR_UNSUPPORTED;
}

static int connect_unsupported(struct stoa_env *env, const struct stoa_address *address,
                               stoa_env_connect_fn on_connect, void *context) {
    (void)sim_of(env);
    (void)address, (void)on_connect, (void)context;
    return STOA_ERR_UNSUPPORTED;
}

static int udp_bind_unsupported(struct stoa_env *env, const struct stoa_address *address,
                                stoa_env_datagram_fn on_datagram, void *context,
                                struct stoa_env_udp **udp) {
    (void)sim_of(env);
    (void)address, (void)on_datagram, (void)context, (void)udp;
    return STOA_ERR_UNSUPPORTED;
}

/* No listener, stream or UDP handle is ever made, so none of these can be called. */
static void listener_address(struct stoa_env_listener *listener, struct stoa_address *address) {
    (void)listener, (void)address;
    STOA_UNREACHABLE();
}

static void listener_close(struct stoa_env_listener *listener, stoa_env_close_fn on_close,
                           void *context) {
    (void)listener, (void)on_close, (void)context;
    STOA_UNREACHABLE();
}

static int stream_read_start(struct stoa_env_stream *stream, stoa_env_read_fn on_read,
                             void *context) {
    (void)stream, (void)on_read, (void)context;
    STOA_UNREACHABLE();
}

static void stream_read_stop(struct stoa_env_stream *stream) {
    (void)stream;
    STOA_UNREACHABLE();
}

static int stream_write(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                        stoa_env_write_fn on_write, void *context) {
    (void)stream, (void)data, (void)length, (void)on_write, (void)context;
    STOA_UNREACHABLE();
}

static int stream_try_write(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                            size_t *written) {
    (void)stream, (void)data, (void)length, (void)written;
    STOA_UNREACHABLE();
}

static size_t stream_write_queue_bytes(struct stoa_env_stream *stream) {
    (void)stream;
    STOA_UNREACHABLE();
}

static int stream_peer_address(struct stoa_env_stream *stream, struct stoa_address *address) {
    (void)stream, (void)address;
    STOA_UNREACHABLE();
}

static void stream_close(struct stoa_env_stream *stream, stoa_env_close_fn on_close,
                         void *context) {
    (void)stream, (void)on_close, (void)context;
    STOA_UNREACHABLE();
}

static void udp_address(struct stoa_env_udp *udp, struct stoa_address *address) {
    (void)udp, (void)address;
    STOA_UNREACHABLE();
}

static int udp_send(struct stoa_env_udp *udp, const struct stoa_address *to, const uint8_t *data,
                    size_t length) {
    (void)udp, (void)to, (void)data, (void)length;
    STOA_UNREACHABLE();
}

static void udp_close(struct stoa_env_udp *udp, stoa_env_close_fn on_close, void *context) {
    (void)udp, (void)on_close, (void)context;
    STOA_UNREACHABLE();
}

/* ---- byte arrays ---- */

static int bytes_reserve(struct bytes *bytes, uint64_t length) {
    if (length > FILE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (length <= bytes->capacity) {
        return STOA_OK;
    }
    size_t capacity = bytes->capacity < 64 ? 64 : bytes->capacity;
    while (capacity < length) {
        capacity *= 2;
    }
    uint8_t *data = stoa_realloc(bytes->data, capacity);
    if (data == NULL) {
        return STOA_ERR_NOMEM;
    }
    bytes->data = data;
    bytes->capacity = capacity;
    return STOA_OK;
}

/* Sets the length, zero-filling any growth; room must have been reserved. */
static void bytes_resize(struct bytes *bytes, size_t length) {
    STOA_ASSERT(length <= bytes->capacity || length == 0);
    if (length > bytes->length) {
        memset(bytes->data + bytes->length, 0, length - bytes->length);
    }
    bytes->length = length;
}

/* Writes data at offset; room for offset + length must have been reserved. */
static void bytes_put(struct bytes *bytes, uint64_t offset, const uint8_t *data, size_t length) {
    if (offset + length > bytes->length) {
        bytes_resize(bytes, (size_t)(offset + length));
    }
    if (length > 0) {
        memcpy(bytes->data + offset, data, length);
    }
}

/* ---- inodes ---- */

static struct inode *inode_new(struct stoa_sim_env *sim, bool is_directory) {
    struct inode *inode = stoa_calloc(1, sizeof(*inode));
    if (inode == NULL) {
        return NULL;
    }
    inode->is_directory = is_directory;
    inode->next = sim->inodes;
    if (sim->inodes != NULL) {
        sim->inodes->previous = inode;
    }
    sim->inodes = inode;
    return inode;
}

static void pending_clear(struct inode *inode) {
    for (size_t i = 0; i < inode->pending_count; i++) {
        stoa_free(inode->pending[i].data);
    }
    inode->pending_count = 0;
}

static void inode_unref(struct stoa_sim_env *sim, struct inode *inode) {
    STOA_ASSERT(inode->references > 0);
    inode->references--;
    if (inode->references > 0) {
        return;
    }
    if (inode->previous != NULL) {
        inode->previous->next = inode->next;
    } else {
        sim->inodes = inode->next;
    }
    if (inode->next != NULL) {
        inode->next->previous = inode->previous;
    }
    pending_clear(inode);
    stoa_free(inode->pending);
    stoa_free(inode->visible.data);
    stoa_free(inode->durable.data);
    stoa_free(inode);
}

/* Records an unsynced operation; data (may be NULL) is copied. */
static int pending_add(struct inode *inode, bool is_truncate, uint64_t offset, const uint8_t *data,
                       size_t length) {
    if (inode->pending_count == inode->pending_capacity) {
        size_t capacity = inode->pending_capacity == 0 ? 8 : inode->pending_capacity * 2;
        struct pending *grown = stoa_realloc(inode->pending, capacity * sizeof(*grown));
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        inode->pending = grown;
        inode->pending_capacity = capacity;
    }
    uint8_t *copy = NULL;
    if (length > 0) {
        copy = stoa_alloc(length);
        if (copy == NULL) {
            return STOA_ERR_NOMEM;
        }
        memcpy(copy, data, length);
    }
    inode->pending[inode->pending_count++] = (struct pending){
        .is_truncate = is_truncate, .offset = offset, .length = length, .data = copy};
    return STOA_OK;
}

/* Applies the first count pending operations to the durable contents, the last of them cut
 * to last_length bytes (SIZE_MAX = whole). */
static int pending_apply(struct inode *inode, size_t count, size_t last_length) {
    uint64_t end = inode->durable.length;
    for (size_t i = 0; i < count; i++) {
        const struct pending *op = &inode->pending[i];
        uint64_t op_end = op->is_truncate ? op->offset : op->offset + op->length;
        end = op_end > end ? op_end : end;
    }
    int status = bytes_reserve(&inode->durable, end);
    if (status != 0) {
        return status;
    }
    for (size_t i = 0; i < count; i++) {
        const struct pending *op = &inode->pending[i];
        if (op->is_truncate) {
            bytes_resize(&inode->durable, (size_t)op->offset);
            continue;
        }
        size_t length = i + 1 == count && last_length < op->length ? last_length : op->length;
        bytes_put(&inode->durable, op->offset, op->data, length);
    }
    return STOA_OK;
}

/* ---- paths and directory tables ---- */

/* Copies path without repeated or trailing slashes. */
static int normalize(const char *path, char *out) {
    STOA_ASSERT(path != NULL && path[0] != '\0');
    size_t length = 0;
    for (size_t i = 0; path[i] != '\0'; i++) {
        if (path[i] == '/' && length > 0 && out[length - 1] == '/') {
            continue;
        }
        if (length == STOA_PATH_BYTES_MAX) {
            return STOA_ERR_TOO_LARGE;
        }
        out[length++] = path[i];
    }
    if (length > 1 && out[length - 1] == '/') {
        length--;
    }
    out[length] = '\0';
    return STOA_OK;
}

static bool is_root(const char *path) {
    return strcmp(path, "/") == 0 || strcmp(path, ".") == 0;
}

/* Whether path names an entry directly inside directory. */
static bool is_child_of(const char *path, const char *directory) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return strcmp(directory, ".") == 0;
    }
    if (slash == path) {
        return strcmp(directory, "/") == 0 && path[1] != '\0';
    }
    size_t length = (size_t)(slash - path);
    return strlen(directory) == length && memcmp(path, directory, length) == 0;
}

static void parent_of(const char *path, char *out) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        memcpy(out, ".", 2);
        return;
    }
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    memcpy(out, path, length);
    out[length] = '\0';
}

static struct entry *table_find(struct table *table, const char *path) {
    for (size_t i = 0; i < table->count; i++) {
        if (strcmp(table->entries[i].path, path) == 0) {
            return &table->entries[i];
        }
    }
    return NULL;
}

static int table_add(struct table *table, const char *path, struct inode *inode) {
    if (table->count == ENTRIES_MAX) {
        return STOA_ERR_FULL;
    }
    if (table->count == table->capacity) {
        size_t capacity = table->capacity == 0 ? 16 : table->capacity * 2;
        struct entry *grown = stoa_realloc(table->entries, capacity * sizeof(*grown));
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        table->entries = grown;
        table->capacity = capacity;
    }
    char *copy = stoa_strndup(path, strlen(path));
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    inode->references++;
    table->entries[table->count++] = (struct entry){.path = copy, .inode = inode};
    return STOA_OK;
}

static void table_remove(struct stoa_sim_env *sim, struct table *table, struct entry *entry) {
    struct inode *inode = entry->inode;
    stoa_free(entry->path);
    *entry = table->entries[--table->count];
    inode_unref(sim, inode);
}

static void table_clear(struct stoa_sim_env *sim, struct table *table) {
    while (table->count > 0) {
        table_remove(sim, table, &table->entries[table->count - 1]);
    }
}

/* Whether directory exists in the visible tree. */
static bool directory_exists(struct stoa_sim_env *sim, const char *directory) {
    if (is_root(directory)) {
        return true;
    }
    struct entry *entry = table_find(&sim->visible, directory);
    return entry != NULL && entry->inode->is_directory;
}

static bool parent_exists(struct stoa_sim_env *sim, const char *path) {
    path_buffer parent;
    parent_of(path, parent);
    return directory_exists(sim, parent);
}

/* ---- faults ---- */

/* Counts down an "nth from now" fault; returns whether this call is the one. */
static bool countdown_fires(uint64_t *countdown) {
    if (*countdown == 0) {
        return false;
    }
    (*countdown)--;
    return *countdown == 0;
}

/* Decides whether this sync fails, and advances the halt. */
static bool sync_fails(struct stoa_sim_env *sim) {
    if (sim->halted || countdown_fires(&sim->fail_fsync_countdown)) {
        sim->stats.fsync_failure_count++;
        return true;
    }
    if (sim->halt_armed) {
        if (sim->halt_countdown == 0) {
            sim->halted = true;
            sim->stats.fsync_failure_count++;
            return true;
        }
        sim->halt_countdown--;
    }
    return false;
}

/* ---- files ---- */

static bool handle_dead(const struct stoa_env_file *file) {
    return file->generation != file->sim->generation;
}

/* Finds or makes the inode for an open; *created tells whether it is new. */
static int open_inode(struct stoa_sim_env *sim, const char *path, unsigned flags,
                      struct inode **inode_out) {
    struct entry *entry = table_find(&sim->visible, path);
    if (entry != NULL) {
        bool exclusive = (flags & STOA_ENV_OPEN_EXCLUSIVE) != 0;
        if (exclusive && (flags & STOA_ENV_OPEN_CREATE) != 0) {
            return STOA_ERR_EXISTS;
        }
        if (entry->inode->is_directory) {
            return STOA_ERR_INVALID;
        }
        *inode_out = entry->inode;
        return STOA_OK;
    }
    if ((flags & STOA_ENV_OPEN_CREATE) == 0 || !parent_exists(sim, path)) {
        return STOA_ERR_NOT_FOUND;
    }
    struct inode *inode = inode_new(sim, false);
    if (inode == NULL) {
        return STOA_ERR_NOMEM;
    }
    inode->references = 1; /* held while it is added */
    int status = table_add(&sim->visible, path, inode);
    inode_unref(sim, inode);
    if (status != 0) {
        return status;
    }
    *inode_out = inode;
    return STOA_OK;
}

static int truncate_inode(struct inode *inode, uint64_t size) {
    int status = bytes_reserve(&inode->visible, size);
    if (status == 0) {
        status = pending_add(inode, true, size, NULL, 0);
    }
    if (status == 0) {
        bytes_resize(&inode->visible, (size_t)size);
    }
    return status;
}

static int file_open(struct stoa_env *env, const char *path, unsigned flags,
                     struct stoa_env_file **file_out) {
    struct stoa_sim_env *sim = sim_of(env);
    STOA_ASSERT(file_out != NULL);
    STOA_ASSERT((flags & (STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE)) != 0);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    struct stoa_env_file *file = stoa_calloc(1, sizeof(*file));
    if (file == NULL) {
        return STOA_ERR_NOMEM;
    }
    struct inode *inode = NULL;
    status = open_inode(sim, clean, flags, &inode);
    if (status == 0 && (flags & STOA_ENV_OPEN_TRUNCATE) != 0) {
        STOA_ASSERT((flags & STOA_ENV_OPEN_WRITE) != 0);
        status = truncate_inode(inode, 0);
    }
    if (status != 0) {
        stoa_free(file);
        return status;
    }
    inode->references++;
    *file = (struct stoa_env_file){
        .sim = sim, .inode = inode, .flags = flags, .generation = sim->generation};
    sim->stats.open_file_count++;
    *file_out = file;
    return STOA_OK;
}

static int file_pread(struct stoa_env_file *file, void *data, size_t length, uint64_t offset,
                      size_t *read_length) {
    STOA_ASSERT(file != NULL && read_length != NULL && (data != NULL || length == 0));
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    if ((file->flags & STOA_ENV_OPEN_READ) == 0) {
        return STOA_ERR_PERMISSION;
    }
    const struct bytes *visible = &file->inode->visible;
    size_t count = 0;
    if (offset < visible->length) {
        size_t available = visible->length - (size_t)offset;
        count = length < available ? length : available;
        memcpy(data, visible->data + offset, count);
    }
    *read_length = count;
    return STOA_OK;
}

/* Puts bytes into the page cache as an unsynced write; all or nothing. */
static int write_bytes(struct inode *inode, const uint8_t *data, size_t length, uint64_t offset) {
    if (offset > FILE_BYTES_MAX || length > FILE_BYTES_MAX - offset) {
        return STOA_ERR_TOO_LARGE;
    }
    int status = bytes_reserve(&inode->visible, offset + length);
    if (status == 0 && length > 0) {
        status = pending_add(inode, false, offset, data, length);
    }
    if (status == 0) {
        bytes_put(&inode->visible, offset, data, length);
    }
    return status;
}

static int file_pwrite(struct stoa_env_file *file, const void *data, size_t length,
                       uint64_t offset) {
    STOA_ASSERT(file != NULL && (data != NULL || length == 0));
    struct stoa_sim_env *sim = file->sim;
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    if ((file->flags & STOA_ENV_OPEN_WRITE) == 0) {
        return STOA_ERR_PERMISSION;
    }
    sim->stats.write_count++;
    if (countdown_fires(&sim->fail_write_countdown)) {
        /* A failed write may still have put part of its bytes in the page cache. */
        sim->stats.write_failure_count++;
        size_t landed = (size_t)stoa_prng_below(&sim->prng, (uint64_t)length + 1);
        (void)write_bytes(file->inode, data, landed, offset);
        return STOA_ERR_IO;
    }
    return write_bytes(file->inode, data, length, offset);
}

static int file_datasync(struct stoa_env_file *file) {
    STOA_ASSERT(file != NULL);
    struct stoa_sim_env *sim = file->sim;
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    sim->stats.datasync_count++;
    struct inode *inode = file->inode;
    if (sync_fails(sim)) {
        /* The kernel forgets the dirty pages: they never become durable. */
        if (!sim->halted) {
            pending_clear(inode);
        }
        return STOA_ERR_FSYNC;
    }
    int status = pending_apply(inode, inode->pending_count, SIZE_MAX);
    if (status != 0) {
        return status;
    }
    pending_clear(inode);
    return STOA_OK;
}

static int file_size(struct stoa_env_file *file, uint64_t *size) {
    STOA_ASSERT(file != NULL && size != NULL);
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    *size = file->inode->visible.length;
    return STOA_OK;
}

static int file_truncate(struct stoa_env_file *file, uint64_t size) {
    STOA_ASSERT(file != NULL);
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    if ((file->flags & STOA_ENV_OPEN_WRITE) == 0) {
        return STOA_ERR_PERMISSION;
    }
    return truncate_inode(file->inode, size);
}

/* Grows the file with zeros, as an unsynced size change (a truncate that lengthens): a crash
 * before a datasync may drop it, as it may drop the length a real posix_fallocate set. It is
 * not a write (no write count, no injected write failure). */
static int file_allocate(struct stoa_env_file *file, uint64_t size) {
    STOA_ASSERT(file != NULL);
    if (handle_dead(file)) {
        return STOA_ERR_IO;
    }
    if ((file->flags & STOA_ENV_OPEN_WRITE) == 0) {
        return STOA_ERR_PERMISSION;
    }
    if (size <= file->inode->visible.length) {
        return STOA_OK;
    }
    return truncate_inode(file->inode, size);
}

static void file_close(struct stoa_env_file *file) {
    STOA_ASSERT(file != NULL);
    struct stoa_sim_env *sim = file->sim;
    sim->stats.open_file_count--;
    inode_unref(sim, file->inode);
    stoa_free(file);
}

/* ---- names ---- */

static int sim_rename(struct stoa_env *env, const char *from, const char *to) {
    struct stoa_sim_env *sim = sim_of(env);
    path_buffer clean_from;
    path_buffer clean_to;
    int status = normalize(from, clean_from);
    if (status == 0) {
        status = normalize(to, clean_to);
    }
    if (status != 0) {
        return status;
    }
    struct entry *source = table_find(&sim->visible, clean_from);
    if (source == NULL || !parent_exists(sim, clean_to)) {
        return STOA_ERR_NOT_FOUND;
    }
    if (source->inode->is_directory) {
        return STOA_ERR_UNSUPPORTED;
    }
    if (strcmp(clean_from, clean_to) == 0) {
        return STOA_OK;
    }
    struct entry *target = table_find(&sim->visible, clean_to);
    if (target != NULL && target->inode->is_directory) {
        return STOA_ERR_EXISTS;
    }
    char *copy = stoa_strndup(clean_to, strlen(clean_to));
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    stoa_free(source->path);
    source->path = copy;
    if (target != NULL) {
        table_remove(sim, &sim->visible, target); /* may move entries; source is not used */
    }
    return STOA_OK;
}

static int sim_unlink(struct stoa_env *env, const char *path) {
    struct stoa_sim_env *sim = sim_of(env);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    struct entry *entry = table_find(&sim->visible, clean);
    if (entry == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    if (entry->inode->is_directory) {
        return STOA_ERR_INVALID;
    }
    table_remove(sim, &sim->visible, entry);
    return STOA_OK;
}

static int sim_mkdir(struct stoa_env *env, const char *path) {
    struct stoa_sim_env *sim = sim_of(env);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    if (is_root(clean)) {
        return STOA_OK;
    }
    struct entry *entry = table_find(&sim->visible, clean);
    if (entry != NULL) {
        return entry->inode->is_directory ? STOA_OK : STOA_ERR_EXISTS;
    }
    if (!parent_exists(sim, clean)) {
        return STOA_ERR_NOT_FOUND;
    }
    struct inode *inode = inode_new(sim, true);
    if (inode == NULL) {
        return STOA_ERR_NOMEM;
    }
    inode->references = 1;
    status = table_add(&sim->visible, clean, inode);
    inode_unref(sim, inode);
    return status;
}

/* Makes the durable entries of directory equal to the visible ones. Adds first, so that a
 * failed allocation changes nothing. */
static int sync_entries(struct stoa_sim_env *sim, const char *directory) {
    size_t durable_count = sim->durable.count;
    for (size_t i = 0; i < sim->visible.count; i++) {
        const struct entry *entry = &sim->visible.entries[i];
        if (!is_child_of(entry->path, directory)) {
            continue;
        }
        int status = table_add(&sim->durable, entry->path, entry->inode);
        if (status != 0) {
            while (sim->durable.count > durable_count) {
                table_remove(sim, &sim->durable, &sim->durable.entries[sim->durable.count - 1]);
            }
            return status;
        }
    }
    /* Drop the old durable entries of this directory (those before durable_count). */
    for (size_t i = durable_count; i > 0; i--) {
        if (is_child_of(sim->durable.entries[i - 1].path, directory)) {
            table_remove(sim, &sim->durable, &sim->durable.entries[i - 1]);
        }
    }
    return STOA_OK;
}

static int sim_sync_dir(struct stoa_env *env, const char *path) {
    struct stoa_sim_env *sim = sim_of(env);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    if (!directory_exists(sim, clean)) {
        return STOA_ERR_NOT_FOUND;
    }
    sim->stats.sync_dir_count++;
    if (sync_fails(sim)) {
        return STOA_ERR_FSYNC;
    }
    return sync_entries(sim, clean);
}

/* Lists names in an order drawn from the sim's stream: callers must not depend on order. */
static int sim_list_dir(struct stoa_env *env, const char *path, stoa_env_dir_entry_fn on_entry,
                        void *context) {
    struct stoa_sim_env *sim = sim_of(env);
    STOA_ASSERT(on_entry != NULL);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    if (!directory_exists(sim, clean)) {
        return table_find(&sim->visible, clean) != NULL ? STOA_ERR_INVALID : STOA_ERR_NOT_FOUND;
    }
    /* Copy the names first: the callback may create or unlink entries. */
    char **names = stoa_calloc(sim->visible.count + 1, sizeof(*names));
    if (names == NULL) {
        return STOA_ERR_NOMEM;
    }
    size_t count = 0;
    for (size_t i = 0; i < sim->visible.count && status == 0; i++) {
        const char *name = sim->visible.entries[i].path;
        if (!is_child_of(name, clean)) {
            continue;
        }
        const char *slash = strrchr(name, '/');
        const char *base = slash == NULL ? name : slash + 1;
        names[count] = stoa_strndup(base, strlen(base));
        status = names[count] == NULL ? STOA_ERR_NOMEM : STOA_OK;
        count += status == 0 ? 1 : 0;
    }
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)stoa_prng_below(&sim->prng, i);
        char *swap = names[i - 1];
        names[i - 1] = names[j];
        names[j] = swap;
    }
    bool stopped = status != 0;
    for (size_t i = 0; i < count; i++) {
        if (!stopped && on_entry(context, names[i]) != 0) {
            stopped = true;
        }
        stoa_free(names[i]);
    }
    stoa_free(names);
    return status;
}

/* ---- crash and corruption ---- */

/* What survives of one file's unsynced writes. Never fails: room is made before. */
static void crash_file(struct stoa_sim_env *sim, struct inode *inode,
                       enum stoa_sim_crash_mode mode) {
    if (mode == STOA_SIM_CRASH_TORN && inode->pending_count > 0) {
        size_t kept = (size_t)stoa_prng_below(&sim->prng, (uint64_t)inode->pending_count + 1);
        size_t last_length = SIZE_MAX;
        if (kept > 0 && !inode->pending[kept - 1].is_truncate) {
            uint64_t length = inode->pending[kept - 1].length;
            /* Half the time the last kept write is torn at a random byte. */
            if (stoa_prng_below(&sim->prng, 2) == 0) {
                last_length = (size_t)stoa_prng_below(&sim->prng, length + 1);
            }
        }
        int status = pending_apply(inode, kept, last_length);
        STOA_ASSERT(status == 0); /* a crash test that runs out of memory is broken */
    }
    pending_clear(inode);
    int status = bytes_reserve(&inode->visible, inode->durable.length);
    STOA_ASSERT(status == 0);
    bytes_resize(&inode->visible, 0);
    bytes_put(&inode->visible, 0, inode->durable.data, inode->durable.length);
}

/* Drops durable entries whose directory is not durable itself, until none is left. */
static void prune_orphans(struct stoa_sim_env *sim) {
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = sim->durable.count; i > 0; i--) {
            struct entry *entry = &sim->durable.entries[i - 1];
            path_buffer parent;
            parent_of(entry->path, parent);
            if (is_root(parent)) {
                continue;
            }
            struct entry *directory = table_find(&sim->durable, parent);
            if (directory == NULL || !directory->inode->is_directory) {
                table_remove(sim, &sim->durable, entry);
                changed = true;
            }
        }
    }
}

void stoa_sim_env_crash(struct stoa_sim_env *sim, enum stoa_sim_crash_mode mode) {
    STOA_ASSERT(sim != NULL);
    STOA_ASSERT(mode == STOA_SIM_CRASH_LOSE || mode == STOA_SIM_CRASH_TORN);
    sim->stats.crash_count++;
    sim->generation++;
    for (struct inode *inode = sim->inodes; inode != NULL; inode = inode->next) {
        if (!inode->is_directory) {
            crash_file(sim, inode, mode);
        }
    }
    prune_orphans(sim);
    /* The visible tree becomes the durable one. Add first so no inode is freed between. */
    struct table old = sim->visible;
    sim->visible = (struct table){0};
    for (size_t i = 0; i < sim->durable.count; i++) {
        int status =
            table_add(&sim->visible, sim->durable.entries[i].path, sim->durable.entries[i].inode);
        STOA_ASSERT(status == 0);
    }
    table_clear(sim, &old);
    stoa_free(old.entries);
    sim->fail_fsync_countdown = 0;
    sim->fail_write_countdown = 0;
    sim->halt_armed = false;
    sim->halted = false;
}

int stoa_sim_env_corrupt(struct stoa_sim_env *sim, const char *path, uint64_t offset,
                         uint8_t mask) {
    STOA_ASSERT(sim != NULL);
    path_buffer clean;
    int status = normalize(path, clean);
    if (status != 0) {
        return status;
    }
    struct entry *entry = table_find(&sim->visible, clean);
    if (entry == NULL || entry->inode->is_directory) {
        return STOA_ERR_NOT_FOUND;
    }
    struct inode *inode = entry->inode;
    bool found = false;
    if (offset < inode->visible.length) {
        inode->visible.data[offset] ^= mask;
        found = true;
    }
    if (offset < inode->durable.length) {
        inode->durable.data[offset] ^= mask;
        found = true;
    }
    return found ? STOA_OK : STOA_ERR_RANGE;
}

/* ---- faults, stats, life cycle ---- */

void stoa_sim_env_fail_fsync_nth(struct stoa_sim_env *sim, uint64_t n) {
    STOA_ASSERT(sim != NULL);
    sim->fail_fsync_countdown = n;
}

void stoa_sim_env_fail_write_nth(struct stoa_sim_env *sim, uint64_t n) {
    STOA_ASSERT(sim != NULL);
    sim->fail_write_countdown = n;
}

void stoa_sim_env_halt_after_fsync(struct stoa_sim_env *sim, uint64_t n) {
    STOA_ASSERT(sim != NULL);
    sim->halt_armed = true;
    sim->halt_countdown = n;
    sim->halted = false;
}

void stoa_sim_env_stats(const struct stoa_sim_env *sim, struct stoa_sim_env_stats *stats) {
    STOA_ASSERT(sim != NULL && stats != NULL);
    *stats = sim->stats;
}

static const struct stoa_env_ops sim_env_ops = {
    .monotonic_ns = monotonic_ns,
    .real_ms = real_ms,
    .real_us = real_us,
    .random_bytes = random_bytes,
    .timer_create = sim_timer_create,
    .timer_start = sim_timer_start,
    .timer_stop = sim_timer_stop,
    .timer_close = sim_timer_close,
    .listen = listen_unsupported,
    .listener_address = listener_address,
    .listener_close = listener_close,
    .connect = connect_unsupported,
    .stream_read_start = stream_read_start,
    .stream_read_stop = stream_read_stop,
    .stream_write = stream_write,
    .stream_try_write = stream_try_write,
    .stream_write_queue_bytes = stream_write_queue_bytes,
    .stream_peer_address = stream_peer_address,
    .stream_close = stream_close,
    .udp_bind = udp_bind_unsupported,
    .udp_address = udp_address,
    .udp_send = udp_send,
    .udp_close = udp_close,
    .file_open = file_open,
    .file_pread = file_pread,
    .file_pwrite = file_pwrite,
    .file_datasync = file_datasync,
    .file_size = file_size,
    .file_truncate = file_truncate,
    .file_allocate = file_allocate,
    .file_close = file_close,
    .rename = sim_rename,
    .unlink = sim_unlink,
    .mkdir = sim_mkdir,
    .sync_dir = sim_sync_dir,
    .list_dir = sim_list_dir,
    .run_in_child = run_in_child,
    .loop_hook_create = loop_hook_unsupported,
    .loop_hook_start = loop_hook_never,
    .loop_hook_stop = loop_hook_never,
    .loop_hook_close = loop_hook_close_never,
    .loop_hook_wake = loop_hook_never,
};

int stoa_sim_env_create(uint64_t seed, struct stoa_sim_env **sim_out) {
    STOA_ASSERT(sim_out != NULL);
    struct stoa_sim_env *sim = stoa_calloc(1, sizeof(*sim));
    if (sim == NULL) {
        return STOA_ERR_NOMEM;
    }
    sim->env = (struct stoa_env){.ops = &sim_env_ops, .self = sim};
    stoa_prng_init(&sim->prng, seed);
    sim->monotonic_ns = MONOTONIC_START_NS;
    sim->real_ns = REAL_START_MS * STOA_NS_PER_MS;
    stoa_heap_init(&sim->timers);
    *sim_out = sim;
    return STOA_OK;
}

void stoa_sim_env_destroy(struct stoa_sim_env *sim) {
    if (sim == NULL) {
        return;
    }
    run_closes(sim);
    STOA_ASSERT(sim->stats.child_count == 0); /* advance until every on_exit ran */
    STOA_ASSERT(sim->stats.open_file_count == 0);
    STOA_ASSERT(sim->stats.timer_count == 0);
    table_clear(sim, &sim->visible);
    table_clear(sim, &sim->durable);
    STOA_ASSERT(sim->inodes == NULL);
    stoa_free(sim->visible.entries);
    stoa_free(sim->durable.entries);
    stoa_heap_free(&sim->timers);
    stoa_free(sim);
}

struct stoa_env *stoa_sim_env_get(struct stoa_sim_env *sim) {
    STOA_ASSERT(sim != NULL);
    return &sim->env;
}
