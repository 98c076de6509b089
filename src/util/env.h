/*
 * env: everything a node needs from the outside world, behind one interface.
 *
 * Clocks, randomness, timers, TCP streams, UDP datagrams and files reach the code above
 * src/os only through a struct stoa_env. src/os implements it for real on libuv; the
 * simulator (tests/sim) implements it in memory from a seed, so whole clusters can be run
 * deterministically and replayed. Nothing outside src/os may read a clock, call rand() or
 * touch a socket or file directly (the style check enforces it).
 *
 * Model: one env is driven by one thread (its event loop). Callbacks run on that thread.
 * Timers, listeners, streams and UDP sockets are handles owned by the env: they are made by
 * the env, and given back with their *_close function; the close is finished when the
 * handle's close callback runs (the handle must not be used after *_close is called).
 *
 * Files are synchronous: a call returns when the kernel has answered. fdatasync blocks the
 * loop, which is what group commit wants (one sync per loop iteration, before replies).
 *
 * Background work that must see a frozen image of memory (writing a snapshot) runs in a
 * forked child through run_in_child; its end is reported on the loop thread.
 *
 * Ownership: every const pointer argument is borrowed for the call only, except the data of
 * stream_write, which is borrowed until its write callback runs.
 */
#ifndef STOA_UTIL_ENV_H
#define STOA_UTIL_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/address.h"

struct stoa_env;
struct stoa_env_timer;
struct stoa_env_loop_hook;
struct stoa_env_listener;
struct stoa_env_stream;
struct stoa_env_udp;
struct stoa_env_file;

/* ---- callbacks ---- */

typedef void (*stoa_env_timer_fn)(void *context);
/* A new connection; the stream is owned by the callee (close it with stream_close). */
typedef void (*stoa_env_accept_fn)(void *context, struct stoa_env_stream *stream);
/* status 0 and a stream, or a negative error and NULL. */
typedef void (*stoa_env_connect_fn)(void *context, int status, struct stoa_env_stream *stream);
/* Bytes received (borrowed for the call), or length 0 with status STOA_ERR_CLOSED at end of
 * stream, or a negative status on error. After an end or an error no more reads arrive. */
typedef void (*stoa_env_read_fn)(void *context, int status, const uint8_t *data, size_t length);
typedef void (*stoa_env_write_fn)(void *context, int status);
typedef void (*stoa_env_close_fn)(void *context);
typedef void (*stoa_env_datagram_fn)(void *context, const struct stoa_address *from,
                                     const uint8_t *data, size_t length);
/* One directory entry name (borrowed). Return nonzero to stop the listing early. */
typedef int (*stoa_env_dir_entry_fn)(void *context, const char *name);
/* Work run by run_in_child, in a copy-on-write child process. Returns the child's exit
 * status, 0..255 (0 = success). */
typedef int (*stoa_env_child_fn)(void *context);
/* The end of a child of run_in_child: its exit status (0..255), or STOA_ERR_IO if it was
 * killed by a signal or its status could not be collected. */
typedef void (*stoa_env_child_exit_fn)(void *context, int status);

enum stoa_env_open_flags {
    STOA_ENV_OPEN_READ = 1 << 0,
    STOA_ENV_OPEN_WRITE = 1 << 1,
    STOA_ENV_OPEN_CREATE = 1 << 2,
    STOA_ENV_OPEN_EXCLUSIVE = 1 << 3, /* with CREATE: fail with STOA_ERR_EXISTS */
    STOA_ENV_OPEN_TRUNCATE = 1 << 4,
    STOA_ENV_OPEN_PRIVATE = 1 << 5, /* with CREATE: owner-only (0600), for secret keys */
};

struct stoa_env_ops {
    /* Clocks. monotonic never goes back; real is wall-clock unix time and may jump. */
    int64_t (*monotonic_ns)(struct stoa_env *env);
    int64_t (*real_ms)(struct stoa_env *env);
    int64_t (*real_us)(struct stoa_env *env); /* the same clock in microseconds (TIME) */
    /* Fills data with random bytes (cryptographic quality in src/os). */
    void (*random_bytes)(struct stoa_env *env, void *data, size_t length);

    /* Timers: created stopped; start replaces any earlier schedule; repeat_ms 0 = once. */
    int (*timer_create)(struct stoa_env *env, stoa_env_timer_fn callback, void *context,
                        struct stoa_env_timer **timer);
    void (*timer_start)(struct stoa_env_timer *timer, int64_t delay_ms, int64_t repeat_ms);
    void (*timer_stop)(struct stoa_env_timer *timer);
    void (*timer_close)(struct stoa_env_timer *timer, stoa_env_close_fn on_close, void *context);

    /* TCP. Port 0 binds a free port; listener_address tells which. */
    int (*listen)(struct stoa_env *env, const struct stoa_address *address,
                  stoa_env_accept_fn on_accept, void *context, struct stoa_env_listener **listener);
    void (*listener_address)(struct stoa_env_listener *listener, struct stoa_address *address);
    void (*listener_close)(struct stoa_env_listener *listener, stoa_env_close_fn on_close,
                           void *context);
    int (*connect)(struct stoa_env *env, const struct stoa_address *address,
                   stoa_env_connect_fn on_connect, void *context);
    /* Starts delivering reads to on_read; call again to resume after stream_read_stop. */
    int (*stream_read_start)(struct stoa_env_stream *stream, stoa_env_read_fn on_read,
                             void *context);
    void (*stream_read_stop)(struct stoa_env_stream *stream);
    /* Queues length bytes; data is borrowed until on_write runs (exactly once). */
    int (*stream_write)(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                        stoa_env_write_fn on_write, void *context);
    /* Writes what the kernel takes now, without queueing or a callback: sets *written (0 ..
     * length; 0 when the socket is full or writes are already queued, which must finish
     * first). Returns 0 or an error (STOA_ERR_CLOSED for a peer gone). The fast path of a
     * server: a reply that fits the socket costs one write(2) and nothing else. */
    int (*stream_try_write)(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                            size_t *written);
    /* Bytes queued and not yet handed to the kernel: for output-buffer limits. */
    size_t (*stream_write_queue_bytes)(struct stoa_env_stream *stream);
    int (*stream_peer_address)(struct stoa_env_stream *stream, struct stoa_address *address);
    /* Closes the stream; pending writes fail with STOA_ERR_CANCELED first. */
    void (*stream_close)(struct stoa_env_stream *stream, stoa_env_close_fn on_close, void *context);

    /* UDP. Datagrams larger than STOA_DATAGRAM_BYTES_MAX are refused (STOA_ERR_TOO_LARGE). */
    int (*udp_bind)(struct stoa_env *env, const struct stoa_address *address,
                    stoa_env_datagram_fn on_datagram, void *context, struct stoa_env_udp **udp);
    void (*udp_address)(struct stoa_env_udp *udp, struct stoa_address *address);
    /* Sends one datagram; data is copied before return. Delivery is not guaranteed. */
    int (*udp_send)(struct stoa_env_udp *udp, const struct stoa_address *to, const uint8_t *data,
                    size_t length);
    void (*udp_close)(struct stoa_env_udp *udp, stoa_env_close_fn on_close, void *context);

    /* Files. Paths are NUL-terminated, at most STOA_PATH_BYTES_MAX bytes. */
    int (*file_open)(struct stoa_env *env, const char *path, unsigned flags,
                     struct stoa_env_file **file);
    /* Reads up to length bytes at offset; *read_length < length only at end of file. */
    int (*file_pread)(struct stoa_env_file *file, void *data, size_t length, uint64_t offset,
                      size_t *read_length);
    /* Writes all length bytes at offset, or fails. */
    int (*file_pwrite)(struct stoa_env_file *file, const void *data, size_t length,
                       uint64_t offset);
    /* Makes written data durable. A failure is STOA_ERR_FSYNC and must not be retried. */
    int (*file_datasync)(struct stoa_env_file *file);
    int (*file_size)(struct stoa_env_file *file, uint64_t *size);
    int (*file_truncate)(struct stoa_env_file *file, uint64_t size);
    /* Makes the file at least size bytes long, the new bytes zero and their space reserved
     * (posix_fallocate), so that later writes inside it change no file metadata and their
     * datasync is cheaper. Like a write, it is durable only after a datasync. Returns 0,
     * STOA_ERR_UNSUPPORTED (the file system cannot: nothing changed), or an I/O error. */
    int (*file_allocate)(struct stoa_env_file *file, uint64_t size);
    void (*file_close)(struct stoa_env_file *file);
    int (*rename)(struct stoa_env *env, const char *from, const char *to);
    int (*unlink)(struct stoa_env *env, const char *path);
    /* Creates a directory; an existing directory is success. */
    int (*mkdir)(struct stoa_env *env, const char *path);
    /* Makes a directory's entries (creates, renames, unlinks) durable. */
    int (*sync_dir)(struct stoa_env *env, const char *path);
    /* Lists a directory's entries except "." and "..", in no particular order. */
    int (*list_dir)(struct stoa_env *env, const char *path, stoa_env_dir_entry_fn on_entry,
                    void *context);

    /* Background work (snapshots). Runs work(context) in a child process made by fork(2): it
     * sees a consistent point-in-time image of this process's memory as of the call, while
     * the parent carries on and its later changes stay invisible to the child. In the child,
     * work may use only this env's file ops and stoa_alloc (no timers, sockets or callbacks:
     * the loop does not run there, and no other thread exists); its return value, 0..255, is
     * the child's exit status, and the child ends without running atexit handlers or flushing
     * stdio.
     * Later, on the loop thread, on_exit(exit_context, status) runs exactly once with that
     * status, or STOA_ERR_IO if the child died by a signal. Returns 0, or an error (nothing
     * started, on_exit never called). The env counts the child as a handle until on_exit:
     * wait for it before the env is torn down.
     * A simulated env may run work inline, in this process, before returning, and schedule
     * on_exit for later. So work must treat the memory it did not allocate as read-only and
     * must free what it allocates, exactly as if it shared the parent's memory. */
    int (*run_in_child)(struct stoa_env *env, stoa_env_child_fn work, void *context,
                        stoa_env_child_exit_fn on_exit, void *exit_context);

    /* The group-commit point: callback runs once per loop iteration, right after that
     * iteration's I/O callbacks (libuv's check phase), while it is started. A server
     * appends the writes of every request it read in the iteration, then flushes the log
     * once here and releases the replies. Created stopped; closed like a timer. */
    int (*loop_hook_create)(struct stoa_env *env, stoa_env_timer_fn callback, void *context,
                            struct stoa_env_loop_hook **hook);
    void (*loop_hook_start)(struct stoa_env_loop_hook *hook);
    void (*loop_hook_stop)(struct stoa_env_loop_hook *hook);
    void (*loop_hook_close)(struct stoa_env_loop_hook *hook, stoa_env_close_fn on_close,
                            void *context);
    /* Work done outside the hooks' turn (or by a hook, for hooks that already ran) needs
     * them to run again: the next loop iteration does not wait for I/O. */
    void (*loop_hook_wake)(struct stoa_env_loop_hook *hook);
};

struct stoa_env {
    const struct stoa_env_ops *ops;
    void *self; /* the implementation's state */
};

/* ---- convenience wrappers: stoa_env_<op>(env, ...) reads better at call sites ---- */

static inline int64_t stoa_env_monotonic_ns(struct stoa_env *env) {
    return env->ops->monotonic_ns(env);
}

static inline int64_t stoa_env_monotonic_ms(struct stoa_env *env) {
    return env->ops->monotonic_ns(env) / 1000000;
}

static inline int64_t stoa_env_real_ms(struct stoa_env *env) {
    return env->ops->real_ms(env);
}

static inline int64_t stoa_env_real_us(struct stoa_env *env) {
    return env->ops->real_us(env);
}

static inline void stoa_env_random_bytes(struct stoa_env *env, void *data, size_t length) {
    env->ops->random_bytes(env, data, length);
}

#endif
