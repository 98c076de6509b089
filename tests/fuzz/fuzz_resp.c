/* Fuzz target for the RESP parser and writer (src/proto/resp.h).
 *
 * The input is a client's byte stream. It is parsed twice, once arriving whole and once cut
 * in two at a position taken from its first byte, as a server would parse it: requests until
 * more bytes are needed or a protocol error. Each request is written back through the writer
 * as an array of bulk strings. Checked: every argument lies inside the bytes its request
 * used, the bytes used never pass the bytes given, both runs give the same bytes and the
 * same ending, the written requests parse back to themselves, and error lines carry no CR or
 * LF. Any crash, sanitizer report or leak is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/resp.h"
#include "util/alloc.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one run of a stream gave: the requests as RESP, and how it ended. */
struct outcome {
    struct stoa_buf written;
    size_t request_count;
    int ending; /* STOA_ERR_AGAIN, or the error */
    size_t kept;
    char error[STOA_RESP_ERROR_BYTES_MAX];
};

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static void write_request(struct stoa_resp_writer *writer, const struct stoa_resp_request *request,
                          const uint8_t *data, size_t used) {
    check(request->argument_count >= 1 && request->argument_count <= STOA_RESP_ARGUMENTS_MAX);
    check(used >= 1);
    stoa_resp_write_array(writer, request->argument_count);
    for (size_t i = 0; i < request->argument_count; i++) {
        const struct stoa_resp_argument *argument = &request->arguments[i];
        check(argument->offset <= used && argument->length <= used - argument->offset);
        stoa_resp_write_bulk(writer, data + argument->offset, argument->length);
    }
    check(writer->error == STOA_OK);
}

/* Parses size bytes arriving as split bytes and then the rest (a copy: inline escapes are
 * rewritten in place). */
static void run(const uint8_t *data, size_t size, size_t split, bool unauthenticated,
                struct outcome *outcome) {
    uint8_t *copy = stoa_alloc(size + 1);
    check(copy != NULL);
    if (size > 0) {
        memcpy(copy, data, size);
    }
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    parser.unauthenticated = unauthenticated;
    stoa_buf_init(&outcome->written, 64ULL * 1024 * 1024);
    struct stoa_resp_writer writer;
    stoa_resp_writer_init(&writer, &outcome->written, STOA_RESP_VERSION_2);
    outcome->request_count = 0;
    outcome->ending = STOA_OK; /* set below when the stream ends */
    size_t consumed = 0;
    size_t arrived = split;
    /* Each round consumes at least a byte, brings more bytes, or ends. */
    for (size_t round = 0; round <= 2 * size + 2; round++) {
        struct stoa_resp_request request;
        size_t used = 0;
        int result = stoa_resp_parse(&parser, copy + consumed, arrived - consumed, &request, &used);
        if (result == STOA_OK) {
            check(used <= arrived - consumed);
            write_request(&writer, &request, copy + consumed, used);
            outcome->request_count++;
            consumed += used;
            continue;
        }
        if (result == STOA_ERR_AGAIN) {
            check(used <= arrived - consumed);
            consumed += used;
            if (arrived < size) {
                arrived = size;
                continue;
            }
        }
        outcome->ending = result;
        outcome->kept = arrived - consumed;
        memcpy(outcome->error, parser.error, sizeof(outcome->error));
        check(result == STOA_ERR_AGAIN || strncmp(parser.error, "ERR ", 4) == 0);
        break;
    }
    check(outcome->ending != STOA_OK && consumed <= size);
    stoa_resp_parser_free(&parser);
    stoa_free(copy);
}

/* The written requests are multibulk requests that parse back to exactly themselves. */
static void check_round_trip(const struct outcome *outcome) {
    struct outcome again;
    run(outcome->written.data, outcome->written.length, outcome->written.length, false, &again);
    check(again.ending == STOA_ERR_AGAIN && again.kept == 0);
    check(again.request_count == outcome->request_count);
    check(again.written.length == outcome->written.length);
    check(again.written.length == 0 ||
          memcmp(again.written.data, outcome->written.data, again.written.length) == 0);
    stoa_buf_free(&again.written);
}

/* The error reply line is one line, in either protocol version. */
static void check_error_line(const char *error, int version) {
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1024);
    struct stoa_resp_writer writer;
    stoa_resp_writer_init(&writer, &buf, version);
    writer.reply.ops->error(&writer.reply, STOA_ERR_MALFORMED, error);
    check(writer.error == STOA_OK && buf.length >= 3 && buf.data[0] == '-');
    check(memchr(buf.data, '\r', buf.length) == buf.data + buf.length - 2);
    check(memchr(buf.data, '\n', buf.length) == buf.data + buf.length - 1);
    stoa_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) {
        return 0;
    }
    size_t split = data[0] % (size + 1);
    bool unauthenticated = (data[0] & 0x80) != 0;
    struct outcome whole;
    struct outcome cut;
    run(data, size, size, unauthenticated, &whole);
    run(data, size, split, unauthenticated, &cut);
    check(whole.ending == cut.ending);
    /* Bytes kept matter only when waiting: an error may be found before the rest arrives. */
    check(whole.ending != STOA_ERR_AGAIN || whole.kept == cut.kept);
    check(whole.request_count == cut.request_count);
    check(whole.written.length == cut.written.length);
    check(whole.written.length == 0 ||
          memcmp(whole.written.data, cut.written.data, whole.written.length) == 0);
    if (whole.ending != STOA_ERR_AGAIN) {
        check(strcmp(whole.error, cut.error) == 0);
        check_error_line(whole.error, 2 + (data[0] & 1));
    }
    check_round_trip(&whole);
    stoa_buf_free(&whole.written);
    stoa_buf_free(&cut.written);
    return 0;
}
