/*
 * fd_watch: a file descriptor watched for readability on the env's event loop, and the few
 * socket calls a library that owns its sockets needs from us.
 *
 * The HTTP door runs libmicrohttpd without threads of its own: the library keeps its
 * connections in one epoll descriptor, which this module watches (a libuv poll handle), and
 * the door calls the library when it is readable. The door also hands the library a
 * listening socket made here (so the address and port 0 work as for every other door), and
 * cuts off a connection that is too slow by shutting its socket down (the library sees the
 * end of the stream and closes it itself; the descriptor stays the library's).
 *
 * Works only on the real env (os/env_uv.h; asserted). Ownership: a watch is allocated with
 * stoa_alloc at start and freed just before its close callback runs; the descriptor stays
 * the caller's.
 */
#ifndef STOA_OS_FD_WATCH_H
#define STOA_OS_FD_WATCH_H

#include "util/address.h"
#include "util/env.h"

struct stoa_os_fd_watch;

/* Called on the loop thread when the descriptor is readable (level-triggered). */
typedef void (*stoa_os_fd_watch_fn)(void *context);

/* Starts watching fd on env's loop. Returns 0, STOA_ERR_NOMEM, or the loop's error. */
int stoa_os_fd_watch_start(struct stoa_env *env, int fd, stoa_os_fd_watch_fn on_readable,
                           void *context, struct stoa_os_fd_watch **watch);

/* Stops watching; on_close (may be NULL) runs from the loop once the handle is gone. */
void stoa_os_fd_watch_close(struct stoa_os_fd_watch *watch, stoa_env_close_fn on_close,
                            void *context);

/* A non-blocking TCP listening socket bound to address (port 0: a free port; SO_REUSEADDR;
 * IPv6 sockets are IPv6-only). Sets *fd and *bound (the real port). Returns 0 or an error
 * (STOA_ERR_ADDRESS_IN_USE, STOA_ERR_PERMISSION, ...), nothing left open. */
int stoa_os_listen_socket(const struct stoa_address *address, int backlog, int *fd,
                          struct stoa_address *bound);

/* Closes a descriptor made by stoa_os_listen_socket that was not handed on. */
void stoa_os_socket_close(int fd);

/* Shuts a connected socket down both ways, without closing the descriptor: its owner then
 * reads the end of the stream and closes it. Errors (the peer already gone) are ignored. */
void stoa_os_socket_shutdown(int fd);

#endif
