#include "cli/connection.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "os/os.h"
#include "proto/resp.h"
#include "util/err.h"
#include "util/limits.h"

/* Bytes read from the socket at a time. */
#define READ_CHUNK_BYTES (64 * 1024)
/* A request is bounded like the node bounds one (STOA_RESP_REQUEST_BYTES_MAX). */
#define REQUEST_BYTES_MAX STOA_RESP_REQUEST_BYTES_MAX

void stoa_cli_connection_init(struct stoa_cli_connection *connection) {
    *connection = (struct stoa_cli_connection){.fd = -1};
    stoa_buf_init(&connection->in, STOA_CLI_REPLY_BYTES_MAX);
    stoa_buf_init(&connection->request, REQUEST_BYTES_MAX);
    stoa_resp_reply_parser_init(&connection->parser);
}

void stoa_cli_connection_close(struct stoa_cli_connection *connection) {
    if (connection->fd >= 0) {
        close(connection->fd);
    }
    char error[STOA_CLI_CONNECTION_ERROR_BYTES];
    memcpy(error, connection->error, sizeof(error));
    stoa_buf_free(&connection->in);
    stoa_buf_free(&connection->request);
    stoa_resp_reply_parser_free(&connection->parser);
    stoa_cli_connection_init(connection);
    memcpy(connection->error, error, sizeof(error)); /* the reason outlives the close */
}

bool stoa_cli_connection_is_open(const struct stoa_cli_connection *connection) {
    return connection->fd >= 0;
}

static void set_send_timeout(int fd, int64_t timeout_ms) {
    struct timeval timeout = {.tv_sec = (time_t)(timeout_ms / 1000),
                              .tv_usec = (suseconds_t)(timeout_ms % 1000 * 1000)};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

/* Connects a socket to one address; SO_SNDTIMEO bounds connect(2) on Linux. Returns the
 * socket or -1 with errno set. */
static int connect_address(const struct addrinfo *address) {
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, address->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    set_send_timeout(fd, STOA_CLI_CONNECT_TIMEOUT_MS);
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
        int saved = errno;
        close(fd);
        errno = saved == EINPROGRESS ? ETIMEDOUT : saved;
        return -1;
    }
    set_send_timeout(fd, 0);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int stoa_cli_connection_open(struct stoa_cli_connection *connection, const char *host,
                             uint16_t port) {
    stoa_cli_connection_close(connection);
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    int status = getaddrinfo(host, service, &hints, &addresses);
    if (status != 0) {
        snprintf(connection->error, sizeof(connection->error),
                 "Could not connect to stoa at %s:%u: %s", host, port, gai_strerror(status));
        return STOA_ERR_NOT_FOUND;
    }
    int saved = ECONNREFUSED;
    for (const struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        connection->fd = connect_address(address);
        if (connection->fd >= 0) {
            break;
        }
        saved = errno;
    }
    freeaddrinfo(addresses);
    if (connection->fd < 0) {
        snprintf(connection->error, sizeof(connection->error),
                 "Could not connect to stoa at %s:%u: %s", host, port, strerror(saved));
        int result = stoa_os_err_from_errno(saved);
        return result == STOA_ERR_REFUSED || result == STOA_ERR_TIMEOUT ? result : STOA_ERR_IO;
    }
    connection->error[0] = '\0';
    return STOA_OK;
}

/* Fails the call: records why and closes the connection. */
static int fail(struct stoa_cli_connection *connection, int result, const char *what) {
    snprintf(connection->error, sizeof(connection->error), "%s", what);
    if (connection->fd >= 0) {
        close(connection->fd);
        connection->fd = -1;
    }
    stoa_cli_connection_close(connection);
    return result;
}

static int encode(struct stoa_cli_connection *connection, const struct stoa_cli_word *words,
                  size_t count) {
    stoa_buf_reset(&connection->request);
    struct stoa_resp_writer writer;
    stoa_resp_writer_init(&writer, &connection->request, STOA_RESP_VERSION_2);
    stoa_resp_write_array(&writer, count);
    for (size_t i = 0; i < count; i++) {
        stoa_resp_write_bulk(&writer, words[i].data, words[i].length);
    }
    return writer.error;
}

static int send_all(struct stoa_cli_connection *connection) {
    const uint8_t *bytes = connection->request.data;
    size_t left = connection->request.length;
    while (left > 0) {
        ssize_t sent = send(connection->fd, bytes, left, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            int closed = errno == EPIPE || errno == ECONNRESET;
            return fail(connection, closed ? STOA_ERR_CLOSED : STOA_ERR_IO,
                        closed ? "Server closed the connection" : strerror(errno));
        }
        bytes += sent;
        left -= (size_t)sent;
    }
    return STOA_OK;
}

/* Reads until the parser has a whole reply. Each round reads at least a byte or fails. */
static int read_reply(struct stoa_cli_connection *connection, struct stoa_resp_reply *reply) {
    uint8_t chunk[READ_CHUNK_BYTES];
    for (;;) {
        size_t used = 0;
        int result = stoa_resp_reply_parse(&connection->parser, connection->in.data,
                                           connection->in.length, reply, &used);
        if (result == STOA_OK) {
            connection->in_used = used;
            return STOA_OK;
        }
        if (result == STOA_ERR_MALFORMED) {
            char what[STOA_CLI_CONNECTION_ERROR_BYTES];
            snprintf(what, sizeof(what), "Protocol error: %s", connection->parser.error);
            return fail(connection, result, what);
        }
        if (result != STOA_ERR_AGAIN) {
            return fail(connection, result, stoa_err_message(result));
        }
        ssize_t received = recv(connection->fd, chunk, sizeof(chunk), 0);
        if (received < 0 && errno == EINTR) {
            continue;
        }
        if (received == 0 || (received < 0 && errno == ECONNRESET)) {
            return fail(connection, STOA_ERR_CLOSED, "Server closed the connection");
        }
        if (received < 0) {
            return fail(connection, STOA_ERR_IO, strerror(errno));
        }
        result = stoa_buf_append(&connection->in, chunk, (size_t)received);
        if (result != STOA_OK) {
            return fail(connection, result, "Reply too large");
        }
    }
}

int stoa_cli_connection_call(struct stoa_cli_connection *connection,
                             const struct stoa_cli_word *words, size_t count,
                             struct stoa_resp_reply *reply, const uint8_t **data) {
    if (connection->fd < 0) {
        snprintf(connection->error, sizeof(connection->error), "Not connected");
        return STOA_ERR_CLOSED;
    }
    stoa_buf_consume(&connection->in, connection->in_used);
    connection->in_used = 0;
    int result = encode(connection, words, count);
    if (result != STOA_OK) {
        return fail(connection, result, "Request too large");
    }
    result = send_all(connection);
    if (result != STOA_OK) {
        return result;
    }
    result = read_reply(connection, reply);
    if (result != STOA_OK) {
        return result;
    }
    *data = connection->in.data;
    return STOA_OK;
}
