/*
 * env_uv_int: what the files of the env_uv module share (env_uv.c: setup, clocks, random,
 * timers, addresses; env_uv_tcp.c; env_uv_udp.c; env_uv_file.c; env_uv_child.c). No other
 * module includes this header.
 */
#ifndef STOA_OS_ENV_UV_INT_H
#define STOA_OS_ENV_UV_INT_H

#include <sys/socket.h>

#include "os/env_uv.h"

/* Returns the os env behind an env made by stoa_os_env_init. */
struct stoa_os_env *stoa_os_env_of(struct stoa_env *env);

/* Counts a handle made / a handle whose close completed. */
void stoa_os_env_handle_opened(struct stoa_os_env *os);
void stoa_os_env_handle_closed(struct stoa_os_env *os);

/* Fills storage with the socket address of address; returns it as a struct sockaddr. */
const struct sockaddr *stoa_os_sockaddr_from(const struct stoa_address *address,
                                             struct sockaddr_storage *storage);
/* Converts an IPv4 or IPv6 socket address; STOA_ERR_UNSUPPORTED for any other family. */
int stoa_os_address_from(const struct sockaddr *socket_address, struct stoa_address *address);

/* TCP (env_uv_tcp.c). */
int stoa_os_env_listen(struct stoa_env *env, const struct stoa_address *address,
                       stoa_env_accept_fn on_accept, void *context,
                       struct stoa_env_listener **listener);
void stoa_os_env_listener_address(struct stoa_env_listener *listener, struct stoa_address *address);
void stoa_os_env_listener_close(struct stoa_env_listener *listener, stoa_env_close_fn on_close,
                                void *context);
int stoa_os_env_connect(struct stoa_env *env, const struct stoa_address *address,
                        stoa_env_connect_fn on_connect, void *context);
int stoa_os_env_stream_read_start(struct stoa_env_stream *stream, stoa_env_read_fn on_read,
                                  void *context);
void stoa_os_env_stream_read_stop(struct stoa_env_stream *stream);
int stoa_os_env_stream_write(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                             stoa_env_write_fn on_write, void *context);
int stoa_os_env_stream_try_write(struct stoa_env_stream *stream, const uint8_t *data,
                                 size_t length, size_t *written);
size_t stoa_os_env_stream_write_queue_bytes(struct stoa_env_stream *stream);
int stoa_os_env_stream_peer_address(struct stoa_env_stream *stream, struct stoa_address *address);
void stoa_os_env_stream_close(struct stoa_env_stream *stream, stoa_env_close_fn on_close,
                              void *context);
/* Frees the write requests kept for reuse (at deinit). */
void stoa_os_env_write_pool_drain(struct stoa_os_env *os);

/* UDP (env_uv_udp.c). */
int stoa_os_env_udp_bind(struct stoa_env *env, const struct stoa_address *address,
                         stoa_env_datagram_fn on_datagram, void *context,
                         struct stoa_env_udp **udp);
void stoa_os_env_udp_address(struct stoa_env_udp *udp, struct stoa_address *address);
int stoa_os_env_udp_send(struct stoa_env_udp *udp, const struct stoa_address *to,
                         const uint8_t *data, size_t length);
void stoa_os_env_udp_close(struct stoa_env_udp *udp, stoa_env_close_fn on_close, void *context);

/* Files (env_uv_file.c). */
int stoa_os_env_file_open(struct stoa_env *env, const char *path, unsigned flags,
                          struct stoa_env_file **file);
int stoa_os_env_file_pread(struct stoa_env_file *file, void *data, size_t length, uint64_t offset,
                           size_t *read_length);
int stoa_os_env_file_pwrite(struct stoa_env_file *file, const void *data, size_t length,
                            uint64_t offset);
int stoa_os_env_file_datasync(struct stoa_env_file *file);
int stoa_os_env_file_size(struct stoa_env_file *file, uint64_t *size);
int stoa_os_env_file_truncate(struct stoa_env_file *file, uint64_t size);
int stoa_os_env_file_allocate(struct stoa_env_file *file, uint64_t size);
void stoa_os_env_file_close(struct stoa_env_file *file);
int stoa_os_env_rename(struct stoa_env *env, const char *from, const char *to);
int stoa_os_env_unlink(struct stoa_env *env, const char *path);
int stoa_os_env_mkdir(struct stoa_env *env, const char *path);
int stoa_os_env_sync_dir(struct stoa_env *env, const char *path);
int stoa_os_env_list_dir(struct stoa_env *env, const char *path, stoa_env_dir_entry_fn on_entry,
                         void *context);

/* Background work in forked children (env_uv_child.c). */
int stoa_os_env_run_in_child(struct stoa_env *env, stoa_env_child_fn work, void *context,
                             stoa_env_child_exit_fn on_exit, void *exit_context);

#endif
