/* Fuzz target for the multiverse9 parser and writer (src/proto/multiverse9.h).
 *
 * The input is a client's byte stream. It is parsed as the server does, twice: once whole
 * and once fed one byte more at a time (at_end only when every byte is in), requests until
 * more bytes are needed, the end, or an error. Each request's payload is split into targets
 * (with and without remote addresses) and answered through the writer; the same bytes are
 * also read as a stream of framed replies (the client side). Checked: a request never uses
 * more bytes than given nor zero bytes, its payload lies inside it and within the bound,
 * both runs see the same requests and the same ending, every target is a canonical ULID,
 * and every framed reply written reads back with its exact payload. Any crash, sanitizer
 * report or leak is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/multiverse9.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUESTS_MAX 256

struct outcome {
    size_t used[REQUESTS_MAX];
    size_t count;
    int ending;
};

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static void answer(const struct stoa_multiverse9_request *request) {
    static struct stoa_multiverse9_target targets[STOA_MULTIVERSE9_TARGETS_MAX];
    char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    size_t count = 0;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 4 * STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX);
    struct stoa_multiverse9_writer writer;
    stoa_multiverse9_writer_init(&writer, &buf);
    for (int remote = 0; remote < 2; remote++) {
        if (stoa_multiverse9_targets(request->payload, request->payload_length, remote == 1,
                                     targets, STOA_MULTIVERSE9_TARGETS_MAX, &count,
                                     error) != STOA_OK) {
            check(strlen(error) > 0);
            stoa_multiverse9_write_error(&writer, true, STOA_MULTIVERSE9_ERROR_MALFORMED, error);
            continue;
        }
        check(count > 0 && count <= STOA_MULTIVERSE9_TARGETS_MAX);
        for (size_t i = 0; i < count; i++) {
            check(strlen(targets[i].ulid) == STOA_ULID_TEXT_LENGTH);
            check(targets[i].text >= request->payload &&
                  targets[i].text + targets[i].text_length <=
                      request->payload + request->payload_length);
            check(remote == 1 || !targets[i].remote);
        }
    }
    size_t start = buf.length;
    stoa_multiverse9_write_ok(&writer, true, request->payload, request->payload_length);
    check(writer.error == STOA_OK);
    uint8_t status = 0;
    const uint8_t *payload = NULL;
    size_t length = 0;
    size_t consumed = 0;
    check(stoa_multiverse9_parse_reply(buf.data + start, buf.length - start,
                                       STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX, &status, &payload,
                                       &length, &consumed) == STOA_OK);
    check(status == 0 && consumed == buf.length - start && length == request->payload_length);
    check(length == 0 || memcmp(payload, request->payload, length) == 0);
    stoa_buf_free(&buf);
}

/* Parses data[0 .. have) from offset on, as the server does after each read. */
static void parse_from(const uint8_t *data, size_t have, bool at_end, size_t *offset,
                       struct outcome *outcome, bool answer_each) {
    while (outcome->ending == STOA_ERR_AGAIN && outcome->count < REQUESTS_MAX) {
        struct stoa_multiverse9_request request;
        size_t consumed = 0;
        const char *error = NULL;
        int result = stoa_multiverse9_parse(data + *offset, have - *offset, at_end, &request,
                                            &consumed, &error);
        if (result == STOA_ERR_AGAIN) {
            check(!at_end);
            return;
        }
        if (result != STOA_OK) {
            check(result == STOA_ERR_EMPTY || error != NULL);
            outcome->ending = result;
            return;
        }
        check(consumed > 0 && consumed <= have - *offset);
        check(request.payload >= data + *offset &&
              request.payload + request.payload_length <= data + *offset + consumed);
        check(request.payload_length <= STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX);
        if (answer_each) {
            answer(&request);
        }
        outcome->used[outcome->count++] = consumed;
        *offset += consumed;
        if (!request.framed) {
            outcome->ending = STOA_OK; /* an unframed request ends the stream */
        }
    }
}

static void read_replies(const uint8_t *data, size_t size) {
    size_t offset = 0;
    for (int i = 0; i < REQUESTS_MAX && offset < size; i++) {
        uint8_t status = 0;
        const uint8_t *payload = NULL;
        size_t length = 0;
        size_t consumed = 0;
        if (stoa_multiverse9_parse_reply(data + offset, size - offset, 4096, &status, &payload,
                                         &length, &consumed) != STOA_OK) {
            return;
        }
        check(status <= 1 && consumed == length + 5 && consumed <= size - offset);
        offset += consumed;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct outcome whole = {.ending = STOA_ERR_AGAIN};
    size_t offset = 0;
    parse_from(data, size, true, &offset, &whole, true);
    struct outcome bytewise = {.ending = STOA_ERR_AGAIN};
    offset = 0;
    for (size_t have = 0; have <= size && bytewise.ending == STOA_ERR_AGAIN; have++) {
        parse_from(data, have, have == size, &offset, &bytewise, false);
    }
    /* Byte by byte, a request past the size bound is refused as soon as its length shows it,
     * which a whole run also does: the same requests, the same ending. */
    check(whole.count == bytewise.count && whole.ending == bytewise.ending);
    for (size_t i = 0; i < whole.count; i++) {
        check(whole.used[i] == bytewise.used[i]);
    }
    read_replies(data, size);
    return 0;
}
