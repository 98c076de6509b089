/* Peer frames: the codec and the handshake's MAC (docs/protocols/peer.md). */
#include "proto/peer_frame.h"

#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"

/* The role labels the MAC starts with: distinct, and naming the protocol, so a MAC made for
 * anything else with the same secret is never one of these. */
static const char label_dialer[] = "stoa-peer-auth dialer";
static const char label_acceptor[] = "stoa-peer-auth acceptor";

static bool known_type(unsigned type) {
    switch (type) {
    case STOA_PEER_FRAME_HELLO:
    case STOA_PEER_FRAME_CHALLENGE:
    case STOA_PEER_FRAME_AUTH:
    case STOA_PEER_FRAME_WELCOME:
    case STOA_PEER_FRAME_PING:
    case STOA_PEER_FRAME_PONG:
    case STOA_PEER_FRAME_MESSAGE:
        return true;
    default:
        return false;
    }
}

const char *stoa_peer_frame_type_name(int type) {
    switch (type) {
    case STOA_PEER_FRAME_HELLO:
        return "HELLO";
    case STOA_PEER_FRAME_CHALLENGE:
        return "CHALLENGE";
    case STOA_PEER_FRAME_AUTH:
        return "AUTH";
    case STOA_PEER_FRAME_WELCOME:
        return "WELCOME";
    case STOA_PEER_FRAME_PING:
        return "PING";
    case STOA_PEER_FRAME_PONG:
        return "PONG";
    case STOA_PEER_FRAME_MESSAGE:
        return "MESSAGE";
    default:
        return "unknown";
    }
}

/* The checksum: XXH3-64 of the payload, seeded with header bytes 0..7 (magic, version, type
 * and length), so one pass covers every field a corrupted frame could get wrong. */
static uint64_t checksum(const uint8_t header[8], const uint8_t *payload, size_t length) {
    static const uint8_t empty[1] = {0};
    return XXH3_64bits_withSeed(length > 0 ? payload : empty, length, stoa_bytes_get_u64(header));
}

/* Checks the header bytes that have arrived (all 16 may not have). NULL if they are fine so
 * far, else why not. */
static const char *check_header(const uint8_t *data, size_t length, size_t payload_bytes_max) {
    if (length >= 1 && data[0] != STOA_PEER_FRAME_MAGIC_0) {
        return "bad magic: not a stoa peer frame";
    }
    if (length >= 2 && data[1] != STOA_PEER_FRAME_MAGIC_1) {
        return "bad magic: not a stoa peer frame";
    }
    if (length >= 3 && data[2] != STOA_PEER_FRAME_VERSION) {
        return "unsupported frame version";
    }
    if (length >= 4 && !known_type(data[3])) {
        return "unknown frame type";
    }
    if (length >= 8 && stoa_bytes_get_u32(data + 4) > payload_bytes_max) {
        return "frame larger than the bound";
    }
    return NULL;
}

int stoa_peer_frame_decode(const uint8_t *data, size_t length, size_t payload_bytes_max,
                           struct stoa_peer_frame *frame, size_t *frame_bytes, const char **error) {
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(frame != NULL && frame_bytes != NULL && error != NULL);
    const char *problem = check_header(data, length, payload_bytes_max);
    if (problem != NULL) {
        *error = problem;
        return STOA_ERR_MALFORMED;
    }
    if (length < STOA_PEER_FRAME_HEADER_BYTES) {
        return STOA_ERR_AGAIN;
    }
    uint32_t payload_length = stoa_bytes_get_u32(data + 4);
    if (length - STOA_PEER_FRAME_HEADER_BYTES < payload_length) {
        return STOA_ERR_AGAIN;
    }
    const uint8_t *payload = data + STOA_PEER_FRAME_HEADER_BYTES;
    if (checksum(data, payload, payload_length) != stoa_bytes_get_u64(data + 8)) {
        *error = "bad checksum";
        return STOA_ERR_MALFORMED;
    }
    frame->type = (enum stoa_peer_frame_type)data[3];
    frame->payload = payload_length > 0 ? payload : NULL;
    frame->length = payload_length;
    *frame_bytes = STOA_PEER_FRAME_HEADER_BYTES + (size_t)payload_length;
    return STOA_OK;
}

void stoa_peer_frame_header(enum stoa_peer_frame_type type, const uint8_t *payload, uint32_t length,
                            uint8_t header[STOA_PEER_FRAME_HEADER_BYTES]) {
    STOA_ASSERT(known_type((unsigned)type));
    STOA_ASSERT(payload != NULL || length == 0);
    STOA_ASSERT(length <= STOA_PEER_FRAME_PAYLOAD_BYTES_MAX);
    header[0] = STOA_PEER_FRAME_MAGIC_0;
    header[1] = STOA_PEER_FRAME_MAGIC_1;
    header[2] = STOA_PEER_FRAME_VERSION;
    header[3] = (uint8_t)type;
    stoa_bytes_put_u32(header + 4, length);
    stoa_bytes_put_u64(header + 8, checksum(header, payload, length));
}

int stoa_peer_frame_append(struct stoa_buf *buf, enum stoa_peer_frame_type type,
                           const uint8_t *payload, uint32_t length) {
    STOA_ASSERT(buf != NULL);
    int result = stoa_buf_reserve(buf, STOA_PEER_FRAME_HEADER_BYTES + (size_t)length);
    if (result != STOA_OK) {
        return result;
    }
    stoa_peer_frame_header(type, payload, length, buf->data + buf->length);
    if (length > 0) {
        memcpy(buf->data + buf->length + STOA_PEER_FRAME_HEADER_BYTES, payload, length);
    }
    buf->length += STOA_PEER_FRAME_HEADER_BYTES + (size_t)length;
    return STOA_OK;
}

/* ---- handshake payloads ---- */

void stoa_peer_hello_encode(const struct stoa_peer_hello *hello,
                            uint8_t payload[STOA_PEER_HELLO_BYTES]) {
    STOA_ASSERT(hello != NULL && payload != NULL);
    STOA_ASSERT(hello->version_min <= hello->version_max);
    payload[0] = hello->version_min;
    payload[1] = hello->version_max;
    stoa_bytes_put_u64(payload + 2, hello->dialer_id);
    stoa_bytes_put_u64(payload + 10, hello->acceptor_id);
    memcpy(payload + 18, hello->challenge, STOA_PEER_CHALLENGE_BYTES);
}

int stoa_peer_hello_decode(const uint8_t *payload, size_t length, struct stoa_peer_hello *hello) {
    STOA_ASSERT(hello != NULL);
    if (length != STOA_PEER_HELLO_BYTES || payload == NULL || payload[0] > payload[1]) {
        return STOA_ERR_MALFORMED;
    }
    hello->version_min = payload[0];
    hello->version_max = payload[1];
    hello->dialer_id = stoa_bytes_get_u64(payload + 2);
    hello->acceptor_id = stoa_bytes_get_u64(payload + 10);
    memcpy(hello->challenge, payload + 18, STOA_PEER_CHALLENGE_BYTES);
    return STOA_OK;
}

void stoa_peer_challenge_encode(const struct stoa_peer_challenge *challenge,
                                uint8_t payload[STOA_PEER_CHALLENGE_PAYLOAD_BYTES]) {
    STOA_ASSERT(challenge != NULL && payload != NULL);
    payload[0] = challenge->version;
    stoa_bytes_put_u64(payload + 1, challenge->acceptor_id);
    memcpy(payload + 9, challenge->challenge, STOA_PEER_CHALLENGE_BYTES);
}

int stoa_peer_challenge_decode(const uint8_t *payload, size_t length,
                               struct stoa_peer_challenge *challenge) {
    STOA_ASSERT(challenge != NULL);
    if (length != STOA_PEER_CHALLENGE_PAYLOAD_BYTES || payload == NULL) {
        return STOA_ERR_MALFORMED;
    }
    challenge->version = payload[0];
    challenge->acceptor_id = stoa_bytes_get_u64(payload + 1);
    memcpy(challenge->challenge, payload + 9, STOA_PEER_CHALLENGE_BYTES);
    return STOA_OK;
}

/* ---- the MAC ---- */

_Static_assert(crypto_auth_hmacsha512256_BYTES == STOA_PEER_MAC_BYTES, "the MAC's size");

void stoa_peer_auth_mac(const uint8_t *secret, size_t secret_length, enum stoa_peer_auth_role role,
                        const struct stoa_peer_auth_transcript *transcript,
                        uint8_t mac[STOA_PEER_MAC_BYTES]) {
    STOA_ASSERT(secret != NULL && secret_length > 0 && transcript != NULL && mac != NULL);
    STOA_ASSERT(role == STOA_PEER_AUTH_DIALER || role == STOA_PEER_AUTH_ACCEPTOR);
    const char *label = role == STOA_PEER_AUTH_DIALER ? label_dialer : label_acceptor;
    /* The label's NUL is included, so no label is a prefix of the other's input. */
    size_t label_bytes = strlen(label) + 1;
    uint8_t fields[1 + 8 + 8];
    fields[0] = transcript->version;
    stoa_bytes_put_u64(fields + 1, transcript->dialer_id);
    stoa_bytes_put_u64(fields + 9, transcript->acceptor_id);
    crypto_auth_hmacsha512256_state state;
    /* HMAC takes a key of any length; libsodium hashes one longer than a block first. */
    crypto_auth_hmacsha512256_init(&state, secret, secret_length);
    crypto_auth_hmacsha512256_update(&state, (const uint8_t *)label, label_bytes);
    crypto_auth_hmacsha512256_update(&state, fields, sizeof(fields));
    crypto_auth_hmacsha512256_update(&state, transcript->dialer_challenge,
                                     STOA_PEER_CHALLENGE_BYTES);
    crypto_auth_hmacsha512256_update(&state, transcript->acceptor_challenge,
                                     STOA_PEER_CHALLENGE_BYTES);
    crypto_auth_hmacsha512256_final(&state, mac);
    sodium_memzero(&state, sizeof(state));
}

bool stoa_peer_auth_verify(const uint8_t *secret, size_t secret_length,
                           enum stoa_peer_auth_role role,
                           const struct stoa_peer_auth_transcript *transcript,
                           const uint8_t *payload, size_t length) {
    if (length != STOA_PEER_MAC_BYTES || payload == NULL) {
        return false;
    }
    uint8_t expected[STOA_PEER_MAC_BYTES];
    stoa_peer_auth_mac(secret, secret_length, role, transcript, expected);
    return crypto_verify_32(expected, payload) == 0;
}
