/* Fuzz target for the peer frame codec (src/proto/peer_frame.h).
 *
 * The input is what a peer sends on a connection. It is decoded as the transport decodes it,
 * frame after frame until more bytes are needed or the bytes are malformed, once arriving
 * whole and once one byte at a time, under the handshake's small payload bound and under a
 * larger one. Checked: a frame never passes the bytes given or the bound; both runs give the
 * same frames and the same ending; a malformed ending has a reason; every decoded frame
 * encodes back to exactly its bytes (the format has one encoding per frame); handshake
 * payloads decode or are refused, and a HELLO or CHALLENGE that decodes re-encodes to the
 * same payload. Any crash or sanitizer report is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/peer_frame.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames are recorded as their lengths; at most this many per input are compared. */
#define FRAMES_MAX 256
/* The larger bound: big enough for any corpus frame, small enough to run fast. */
#define LARGE_PAYLOAD_BYTES_MAX (64 * 1024)

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

static void check_payloads(const struct stoa_peer_frame *frame) {
    if (frame->type == STOA_PEER_FRAME_HELLO) {
        struct stoa_peer_hello hello;
        if (stoa_peer_hello_decode(frame->payload, frame->length, &hello) == STOA_OK) {
            uint8_t payload[STOA_PEER_HELLO_BYTES];
            stoa_peer_hello_encode(&hello, payload);
            check(frame->length == sizeof(payload));
            check(memcmp(payload, frame->payload, sizeof(payload)) == 0);
        }
    } else if (frame->type == STOA_PEER_FRAME_CHALLENGE) {
        struct stoa_peer_challenge challenge;
        if (stoa_peer_challenge_decode(frame->payload, frame->length, &challenge) == STOA_OK) {
            uint8_t payload[STOA_PEER_CHALLENGE_PAYLOAD_BYTES];
            stoa_peer_challenge_encode(&challenge, payload);
            check(memcmp(payload, frame->payload, sizeof(payload)) == 0);
        }
    }
}

/* One decoded frame: inside the bytes and the bound, and encoding it gives its bytes. */
static void check_frame(const uint8_t *data, const struct stoa_peer_frame *frame,
                        size_t frame_bytes, size_t available, size_t bound) {
    check(frame_bytes == STOA_PEER_FRAME_HEADER_BYTES + (size_t)frame->length);
    check(frame_bytes <= available && frame->length <= bound);
    check((frame->length == 0) == (frame->payload == NULL));
    uint8_t header[STOA_PEER_FRAME_HEADER_BYTES];
    stoa_peer_frame_header(frame->type, frame->payload, frame->length, header);
    check(memcmp(header, data, sizeof(header)) == 0);
    check_payloads(frame);
}

/* Decodes data as it arrives piece bytes at a time (all at once if piece is 0). */
static void run(const uint8_t *data, size_t size, size_t piece, size_t bound,
                struct outcome *outcome) {
    size_t start = 0;
    size_t have = piece == 0 ? size : 0;
    *outcome = (struct outcome){.ending = STOA_ERR_AGAIN};
    for (;;) {
        struct stoa_peer_frame frame;
        size_t frame_bytes = 0;
        const char *error = NULL;
        int result =
            stoa_peer_frame_decode(data + start, have - start, bound, &frame, &frame_bytes, &error);
        if (result == STOA_OK) {
            check_frame(data + start, &frame, frame_bytes, have - start, bound);
            if (outcome->frame_count < FRAMES_MAX) {
                outcome->frames[outcome->frame_count++] = frame_bytes;
            }
            start += frame_bytes;
            continue;
        }
        outcome->ending = result;
        if (result != STOA_ERR_AGAIN) {
            check(result == STOA_ERR_MALFORMED && error != NULL);
            return;
        }
        if (have == size) {
            return;
        }
        have = have + piece < size ? have + piece : size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const size_t bounds[] = {STOA_PEER_HANDSHAKE_PAYLOAD_BYTES_MAX, LARGE_PAYLOAD_BYTES_MAX};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        struct outcome whole;
        struct outcome bytewise;
        run(data, size, 0, bounds[i], &whole);
        run(data, size, 1, bounds[i], &bytewise);
        check(whole.ending == bytewise.ending && whole.frame_count == bytewise.frame_count);
        check(memcmp(whole.frames, bytewise.frames, whole.frame_count * sizeof(size_t)) == 0);
    }
    return 0;
}
