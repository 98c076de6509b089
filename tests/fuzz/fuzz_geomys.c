/* Fuzz target for the Geomys codec (src/proto/geomys.h).
 *
 * The input is a client's byte stream. It is framed twice, once arriving whole and once one
 * byte at a time, as the server frames it: requests until more bytes are needed or the bytes
 * are malformed. Each frame is decoded, translated to argv and answered through the writer.
 * Checked: a frame is never empty and never passes the bytes given or the request bound,
 * both runs give the same frames and the same ending, every argument lies inside its frame
 * (or the request's own number text), and every response is one well-formed MessagePack map
 * as msgpack-c reads it. Any crash, sanitizer report or leak is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "proto/geomys.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames are recorded as their lengths; at most this many per input are compared. */
#define FRAMES_MAX 256

struct outcome {
    size_t frames[FRAMES_MAX];
    size_t frame_count;
    int ending;
};

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static bool inside(const struct stoa_command_argument *argument, const uint8_t *frame,
                   size_t length, const struct stoa_geomys_request *request) {
    const uint8_t *text = (const uint8_t *)request->offset_text;
    if (argument->data >= text && argument->data < text + sizeof(request->offset_text)) {
        return true;
    }
    return argument->data >= frame && argument->length <= length &&
           (size_t)(argument->data - frame) <= length - argument->length;
}

/* Decodes and answers one frame; the response must read back as one map. */
static void answer(struct stoa_geomys_decoder *decoder, const uint8_t *frame, size_t length) {
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1 << 20);
    struct stoa_geomys_writer writer;
    stoa_geomys_writer_init(&writer, &buf);
    struct stoa_geomys_request request;
    struct stoa_geomys_command command;
    const char *error = NULL;
    int result = stoa_geomys_decode(decoder, frame, length, &request, &error);
    if (result != STOA_OK) {
        check(result == STOA_ERR_INVALID && error != NULL);
        stoa_geomys_write_error(&writer, error);
    } else if (stoa_geomys_request_command(&request, &command) != STOA_OK) {
        stoa_geomys_write_error(&writer, command.error);
    } else {
        check(command.argc >= 1 && command.argc <= STOA_GEOMYS_ARGUMENTS_MAX);
        for (size_t i = 1; i < command.argc; i++) {
            check(inside(&command.argv[i], frame, length, &request) ||
                  command.argv[i].data == (const uint8_t *)command.number ||
                  (command.argv[i].length == 2 && memcmp(command.argv[i].data, "PX", 2) == 0));
        }
        writer.not_found = command.not_found;
        writer.reply.ops->bulk(&writer.reply, command.argv[0].data, command.argv[0].length);
    }
    check(writer.error == STOA_OK);
    msgpack_zone zone;
    check(msgpack_zone_init(&zone, 1024));
    msgpack_object object;
    size_t offset = 0;
    check(msgpack_unpack((const char *)buf.data, buf.length, &offset, &zone, &object) ==
          MSGPACK_UNPACK_SUCCESS);
    check(offset == buf.length && object.type == MSGPACK_OBJECT_MAP);
    msgpack_zone_destroy(&zone);
    stoa_buf_free(&buf);
}

/* Frames data as it arrives piece bytes at a time (all at once if piece is 0). */
static void run(const uint8_t *data, size_t size, size_t piece, bool decode,
                struct outcome *outcome) {
    struct stoa_geomys_decoder decoder;
    check(stoa_geomys_decoder_init(&decoder) == STOA_OK);
    struct stoa_geomys_scanner scanner = {0};
    size_t start = 0;
    size_t have = piece == 0 ? size : 0;
    *outcome = (struct outcome){.ending = STOA_ERR_AGAIN};
    while (outcome->ending == STOA_ERR_AGAIN || outcome->ending == STOA_OK) {
        size_t frame_length = 0;
        const char *error = NULL;
        int result = stoa_geomys_scan(&scanner, data + start, have - start, &frame_length, &error);
        if (result == STOA_OK) {
            check(frame_length > 0 && frame_length <= have - start);
            check(frame_length <= STOA_GEOMYS_REQUEST_BYTES_MAX);
            if (decode) {
                answer(&decoder, data + start, frame_length);
            }
            if (outcome->frame_count < FRAMES_MAX) {
                outcome->frames[outcome->frame_count++] = frame_length;
            }
            start += frame_length;
            outcome->ending = STOA_OK;
            continue;
        }
        outcome->ending = result;
        if (result != STOA_ERR_AGAIN) {
            check(result == STOA_ERR_MALFORMED && error != NULL);
            break;
        }
        if (have == size) {
            break;
        }
        have = have + piece < size ? have + piece : size;
    }
    stoa_geomys_decoder_free(&decoder);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct outcome whole;
    struct outcome bytewise;
    run(data, size, 0, true, &whole);
    run(data, size, 1, false, &bytewise);
    check(whole.ending == bytewise.ending && whole.frame_count == bytewise.frame_count);
    check(memcmp(whole.frames, bytewise.frames, whole.frame_count * sizeof(size_t)) == 0);
    return 0;
}
