/*
 * connection: stoa cli's one connection to a node's RESP port, with blocking sockets.
 *
 * The client sends one command and waits for its reply, as redis-cli does, so blocking I/O
 * is the simple and right shape here; the node's own I/O is libuv's (src/os). The socket
 * calls are made here rather than through src/os because a client is not a core: it has no
 * event loop, no timers and nothing to simulate (scripts/style_check.py lists src/cli/ as a
 * home of I/O for that reason).
 *
 * Requests go out as RESP arrays of bulk strings (binary safe); replies are read with the
 * client-side parser (proto/resp_reply.h) under its limits, into a buffer bounded by
 * STOA_CLI_REPLY_BYTES_MAX. A malformed reply closes the connection: the stream cannot be
 * resynchronized.
 *
 * Ownership: the caller owns the struct; stoa_cli_connection_close frees what it holds. A
 * reply and its bytes are borrowed: valid until the next call or close.
 */
#ifndef STOA_CLI_CONNECTION_H
#define STOA_CLI_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/split.h"
#include "proto/resp_reply.h"
#include "util/buf.h"

/* A failure's text: "Could not connect to stoa at <host>:<port>: <reason>" with a long host. */
#define STOA_CLI_CONNECTION_ERROR_BYTES 512

struct stoa_cli_connection {
    int fd; /* -1 while not connected */
    struct stoa_buf in;
    size_t in_used; /* bytes at the front of in taken by the last reply */
    struct stoa_buf request;
    struct stoa_resp_reply_parser parser;
    /* After an error return: what went wrong, one line without a newline. */
    char error[STOA_CLI_CONNECTION_ERROR_BYTES];
};

/* Makes a closed connection. Allocates nothing. */
void stoa_cli_connection_init(struct stoa_cli_connection *connection);

/* Connects to host (a name or a numeric address) and port, giving up on each address after
 * STOA_CLI_CONNECT_TIMEOUT_MS. Closes any earlier connection first. Returns 0, or
 * STOA_ERR_REFUSED, STOA_ERR_NOT_FOUND (no such host), STOA_ERR_TIMEOUT or STOA_ERR_IO with
 * connection->error saying why. */
int stoa_cli_connection_open(struct stoa_cli_connection *connection, const char *host,
                             uint16_t port);

/* Closes the socket and frees the buffers; the connection may be opened again. */
void stoa_cli_connection_close(struct stoa_cli_connection *connection);

bool stoa_cli_connection_is_open(const struct stoa_cli_connection *connection);

/* Sends words[0 .. count) as one command and reads its reply. On 0, *reply and *data (the
 * bytes its elements point into) are valid until the next call or close. Returns
 * STOA_ERR_CLOSED (the server closed the connection, or it was not open), STOA_ERR_IO,
 * STOA_ERR_MALFORMED (not RESP), STOA_ERR_TOO_LARGE (a reply past STOA_CLI_REPLY_BYTES_MAX) or
 * STOA_ERR_NOMEM, with connection->error saying why; after any of them the connection is
 * closed. */
int stoa_cli_connection_call(struct stoa_cli_connection *connection,
                             const struct stoa_cli_word *words, size_t count,
                             struct stoa_resp_reply *reply, const uint8_t **data);

#endif
