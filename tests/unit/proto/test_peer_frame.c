/* Shows that peer frames encode to the exact bytes of docs/protocols/peer.md, decode back,
 * report need-more-bytes for every prefix, and refuse garbage, wrong versions and types,
 * oversized lengths and bad checksums without asserting; and that the handshake payloads
 * round-trip and the MAC is HMAC-SHA-512-256 over the documented transcript, bound to role,
 * ids and challenges. Golden bytes were computed independently (Python's hmac and
 * libxxhash through ctypes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/peer_frame.h"
#include "util/alloc.h"
#include "util/err.h"

static const uint8_t golden_ping[] = {0x53, 0x50, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00,
                                      0xdd, 0x7d, 0x75, 0x64, 0x61, 0xe8, 0xda, 0x92};
static const uint8_t golden_message[] = {0x53, 0x50, 0x01, 0x10, 0x05, 0x00, 0x00,
                                         0x00, 0xc5, 0x93, 0x66, 0xfd, 0x4f, 0x73,
                                         0xd6, 0x2c, 'h',  'e',  'l',  'l',  'o'};

static int decode(const uint8_t *data, size_t length, size_t payload_max,
                  struct stoa_peer_frame *frame, size_t *frame_bytes, const char **error) {
    *frame_bytes = 0;
    *error = NULL;
    return stoa_peer_frame_decode(data, length, payload_max, frame, frame_bytes, error);
}

/* A PING and a MESSAGE "hello" encode to their golden bytes. */
static void test_golden_encode(void **state) {
    (void)state;
    uint8_t header[STOA_PEER_FRAME_HEADER_BYTES];
    stoa_peer_frame_header(STOA_PEER_FRAME_PING, NULL, 0, header);
    assert_memory_equal(header, golden_ping, sizeof(golden_ping));
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1024);
    assert_int_equal(
        stoa_peer_frame_append(&buf, STOA_PEER_FRAME_MESSAGE, (const uint8_t *)"hello", 5), 0);
    assert_int_equal(buf.length, sizeof(golden_message));
    assert_memory_equal(buf.data, golden_message, sizeof(golden_message));
    stoa_buf_free(&buf);
}

/* The golden bytes decode to the frame they stand for, and two frames in a row decode one
 * after the other. */
static void test_golden_decode(void **state) {
    (void)state;
    uint8_t both[sizeof(golden_ping) + sizeof(golden_message)];
    memcpy(both, golden_message, sizeof(golden_message));
    memcpy(both + sizeof(golden_message), golden_ping, sizeof(golden_ping));
    struct stoa_peer_frame frame;
    size_t used = 0;
    const char *error = NULL;
    assert_int_equal(decode(both, sizeof(both), 64, &frame, &used, &error), 0);
    assert_int_equal(frame.type, STOA_PEER_FRAME_MESSAGE);
    assert_int_equal(frame.length, 5);
    assert_memory_equal(frame.payload, "hello", 5);
    assert_int_equal(used, sizeof(golden_message));
    assert_int_equal(decode(both + used, sizeof(both) - used, 64, &frame, &used, &error), 0);
    assert_int_equal(frame.type, STOA_PEER_FRAME_PING);
    assert_int_equal(frame.length, 0);
    assert_null(frame.payload);
    assert_int_equal(used, sizeof(golden_ping));
}

/* Every frame type with payloads of several sizes round-trips through append and decode. */
static void test_round_trip(void **state) {
    (void)state;
    static const enum stoa_peer_frame_type types[] = {
        STOA_PEER_FRAME_HELLO,   STOA_PEER_FRAME_CHALLENGE, STOA_PEER_FRAME_AUTH,
        STOA_PEER_FRAME_WELCOME, STOA_PEER_FRAME_PING,      STOA_PEER_FRAME_PONG,
        STOA_PEER_FRAME_MESSAGE};
    static const size_t sizes[] = {0, 1, 15, 16, 17, 255, 4096, 70000};
    static uint8_t payload[70000];
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(i * 31 + 7);
    }
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct stoa_buf buf;
            stoa_buf_init(&buf, 1 << 20);
            assert_int_equal(stoa_peer_frame_append(&buf, types[t], payload, (uint32_t)sizes[s]),
                             0);
            struct stoa_peer_frame frame;
            size_t used = 0;
            const char *error = NULL;
            assert_int_equal(decode(buf.data, buf.length, 1 << 20, &frame, &used, &error), 0);
            assert_int_equal(frame.type, types[t]);
            assert_int_equal(frame.length, sizes[s]);
            assert_int_equal(used, buf.length);
            if (sizes[s] > 0) {
                assert_memory_equal(frame.payload, payload, sizes[s]);
            }
            stoa_buf_free(&buf);
        }
    }
}

/* Every proper prefix of a valid frame is "need more bytes", never malformed or done. */
static void test_truncated(void **state) {
    (void)state;
    for (size_t length = 0; length < sizeof(golden_message); length++) {
        struct stoa_peer_frame frame;
        size_t used = 0;
        const char *error = NULL;
        assert_int_equal(decode(golden_message, length, 64, &frame, &used, &error), STOA_ERR_AGAIN);
        assert_int_equal(used, 0);
    }
}

/* Text that is not a frame (a RESP command, an HTTP request) is refused at its first byte. */
static void test_garbage(void **state) {
    (void)state;
    static const char *const texts[] = {"*1\r\n$4\r\nPING\r\n", "GET / HTTP/1.1\r\n", "S", "SX",
                                        "\x00\x00\x00\x00"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t length = strlen(texts[i]) > 0 ? strlen(texts[i]) : 4;
        struct stoa_peer_frame frame;
        size_t used = 0;
        const char *error = NULL;
        int result = decode((const uint8_t *)texts[i], length, 64, &frame, &used, &error);
        if (i == 2) {
            assert_int_equal(result, STOA_ERR_AGAIN); /* "S" could still be a frame */
            continue;
        }
        assert_int_equal(result, STOA_ERR_MALFORMED);
        assert_string_equal(error, "bad magic: not a stoa peer frame");
        assert_int_equal(used, 0);
    }
}

/* A changed version or type byte is refused with its own reason as soon as it arrives. */
static void test_version_and_type(void **state) {
    (void)state;
    uint8_t bytes[sizeof(golden_ping)];
    struct stoa_peer_frame frame;
    size_t used = 0;
    const char *error = NULL;
    memcpy(bytes, golden_ping, sizeof(bytes));
    bytes[2] = 2;
    assert_int_equal(decode(bytes, 3, 64, &frame, &used, &error), STOA_ERR_MALFORMED);
    assert_string_equal(error, "unsupported frame version");
    memcpy(bytes, golden_ping, sizeof(bytes));
    bytes[3] = 0;
    assert_int_equal(decode(bytes, 4, 64, &frame, &used, &error), STOA_ERR_MALFORMED);
    assert_string_equal(error, "unknown frame type");
    bytes[3] = 17;
    assert_int_equal(decode(bytes, 4, 64, &frame, &used, &error), STOA_ERR_MALFORMED);
}

/* A length above the caller's bound is refused from the header alone, before any payload
 * byte arrives; the bound itself is accepted. */
static void test_oversized(void **state) {
    (void)state;
    struct stoa_peer_frame frame;
    size_t used = 0;
    const char *error = NULL;
    assert_int_equal(decode(golden_message, 8, 4, &frame, &used, &error), STOA_ERR_MALFORMED);
    assert_string_equal(error, "frame larger than the bound");
    assert_int_equal(decode(golden_message, sizeof(golden_message), 5, &frame, &used, &error), 0);
    uint8_t huge[8] = {0x53, 0x50, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(
        decode(huge, sizeof(huge), STOA_PEER_FRAME_PAYLOAD_BYTES_MAX, &frame, &used, &error),
        STOA_ERR_MALFORMED);
    assert_string_equal(error, "frame larger than the bound");
}

/* Flipping any single bit of the length, checksum or payload is caught (length changes that
 * make the frame longer are "need more bytes" first, and caught once the bytes arrive). */
static void test_bad_checksum(void **state) {
    (void)state;
    for (size_t byte = 4; byte < sizeof(golden_message); byte++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t bytes[sizeof(golden_message) + 256];
            memset(bytes, 0, sizeof(bytes));
            memcpy(bytes, golden_message, sizeof(golden_message));
            bytes[byte] ^= (uint8_t)(1u << bit);
            struct stoa_peer_frame frame;
            size_t used = 0;
            const char *error = NULL;
            int result = decode(bytes, sizeof(bytes), 1 << 20, &frame, &used, &error);
            if (byte < 8 && (size_t)bit + 8 * (byte - 4) >= 9) {
                /* A length past the buffer: malformed by bound or still waiting. */
                assert_true(result == STOA_ERR_AGAIN || result == STOA_ERR_MALFORMED);
                continue;
            }
            assert_int_equal(result, STOA_ERR_MALFORMED);
        }
    }
    uint8_t bytes[sizeof(golden_message)];
    memcpy(bytes, golden_message, sizeof(bytes));
    bytes[sizeof(bytes) - 1] ^= 1;
    struct stoa_peer_frame frame;
    size_t used = 0;
    const char *error = NULL;
    assert_int_equal(decode(bytes, sizeof(bytes), 64, &frame, &used, &error), STOA_ERR_MALFORMED);
    assert_string_equal(error, "bad checksum");
}

/* HELLO and CHALLENGE payloads round-trip; wrong lengths and an empty version range are
 * malformed and leave the output untouched. */
static void test_handshake_payloads(void **state) {
    (void)state;
    struct stoa_peer_hello hello = {
        .version_min = 1, .version_max = 3, .dialer_id = 7, .acceptor_id = 0xfffffffe};
    for (int i = 0; i < STOA_PEER_CHALLENGE_BYTES; i++) {
        hello.challenge[i] = (uint8_t)i;
    }
    uint8_t payload[STOA_PEER_HELLO_BYTES];
    stoa_peer_hello_encode(&hello, payload);
    assert_int_equal(payload[0], 1);
    assert_int_equal(payload[1], 3);
    assert_int_equal(payload[2], 7);
    assert_int_equal(payload[10], 0xfe);
    struct stoa_peer_hello back;
    assert_int_equal(stoa_peer_hello_decode(payload, sizeof(payload), &back), 0);
    assert_memory_equal(&back.challenge, &hello.challenge, STOA_PEER_CHALLENGE_BYTES);
    assert_int_equal(back.dialer_id, 7);
    assert_int_equal(back.acceptor_id, 0xfffffffe);
    struct stoa_peer_hello untouched = {.dialer_id = 99};
    assert_int_equal(stoa_peer_hello_decode(payload, sizeof(payload) - 1, &untouched),
                     STOA_ERR_MALFORMED);
    assert_int_equal(untouched.dialer_id, 99);
    payload[0] = 4;
    assert_int_equal(stoa_peer_hello_decode(payload, sizeof(payload), &untouched),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_peer_hello_decode(NULL, 0, &untouched), STOA_ERR_MALFORMED);

    struct stoa_peer_challenge challenge = {.version = 1, .acceptor_id = 2};
    memset(challenge.challenge, 0xab, STOA_PEER_CHALLENGE_BYTES);
    uint8_t challenge_payload[STOA_PEER_CHALLENGE_PAYLOAD_BYTES];
    stoa_peer_challenge_encode(&challenge, challenge_payload);
    struct stoa_peer_challenge challenge_back;
    assert_int_equal(
        stoa_peer_challenge_decode(challenge_payload, sizeof(challenge_payload), &challenge_back),
        0);
    assert_int_equal(challenge_back.acceptor_id, 2);
    assert_int_equal(challenge_back.challenge[31], 0xab);
    assert_int_equal(stoa_peer_challenge_decode(challenge_payload, 3, &challenge_back),
                     STOA_ERR_MALFORMED);
}

static const uint8_t secret[] = "correct horse battery staple";
#define SECRET_LENGTH (sizeof(secret) - 1)

static void transcript_init(struct stoa_peer_auth_transcript *transcript) {
    memset(transcript, 0, sizeof(*transcript));
    transcript->version = 1;
    transcript->dialer_id = 1;
    transcript->acceptor_id = 2;
    for (int i = 0; i < STOA_PEER_CHALLENGE_BYTES; i++) {
        transcript->dialer_challenge[i] = (uint8_t)i;
        transcript->acceptor_challenge[i] = (uint8_t)(32 + i);
    }
}

/* The MAC of each role is HMAC-SHA-512-256 of the documented transcript (golden bytes from
 * Python's hmac). */
static void test_mac_golden(void **state) {
    (void)state;
    static const uint8_t dialer[] = {0xd6, 0x27, 0xc8, 0x7e, 0x92, 0x26, 0x86, 0x92,
                                     0xc5, 0x93, 0x34, 0x24, 0x18, 0x15, 0x4c, 0xb6,
                                     0x2f, 0x88, 0x29, 0x9d, 0xc7, 0x4e, 0x09, 0x72,
                                     0xcc, 0x11, 0xc1, 0xb4, 0x55, 0x75, 0x61, 0x99};
    static const uint8_t acceptor[] = {0x5a, 0xe6, 0x6a, 0xcf, 0xf2, 0x4d, 0x4a, 0x75,
                                       0x1b, 0x73, 0x60, 0xce, 0x69, 0xef, 0xe9, 0x7a,
                                       0xb3, 0xa7, 0x69, 0x91, 0x4c, 0x83, 0x38, 0xbb,
                                       0x85, 0xb4, 0xe9, 0x90, 0xd3, 0x36, 0x39, 0x31};
    struct stoa_peer_auth_transcript transcript;
    transcript_init(&transcript);
    uint8_t mac[STOA_PEER_MAC_BYTES];
    stoa_peer_auth_mac(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &transcript, mac);
    assert_memory_equal(mac, dialer, sizeof(dialer));
    stoa_peer_auth_mac(secret, SECRET_LENGTH, STOA_PEER_AUTH_ACCEPTOR, &transcript, mac);
    assert_memory_equal(mac, acceptor, sizeof(acceptor));
    assert_true(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_ACCEPTOR, &transcript,
                                      acceptor, sizeof(acceptor)));
}

/* A MAC verifies only for the same secret, role, ids, challenges and version: changing any
 * one of them (a wrong secret, a reflected proof, a replay with a new challenge, a swapped
 * id) makes it fail, as does a cut or empty MAC. */
static void test_mac_binding(void **state) {
    (void)state;
    struct stoa_peer_auth_transcript transcript;
    transcript_init(&transcript);
    uint8_t mac[STOA_PEER_MAC_BYTES];
    stoa_peer_auth_mac(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &transcript, mac);
    assert_true(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &transcript,
                                      mac, sizeof(mac)));
    static const uint8_t other_secret[] = "correct horse battery staplf";
    assert_false(stoa_peer_auth_verify(other_secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER,
                                       &transcript, mac, sizeof(mac)));
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_ACCEPTOR, &transcript,
                                       mac, sizeof(mac)));
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &transcript,
                                       mac, sizeof(mac) - 1));
    assert_false(
        stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &transcript, NULL, 0));
    struct stoa_peer_auth_transcript changed;
    changed = transcript;
    changed.acceptor_challenge[5] ^= 1;
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &changed, mac,
                                       sizeof(mac)));
    changed = transcript;
    changed.dialer_challenge[0] ^= 0x80;
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &changed, mac,
                                       sizeof(mac)));
    changed = transcript;
    changed.dialer_id = 2;
    changed.acceptor_id = 1;
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &changed, mac,
                                       sizeof(mac)));
    changed = transcript;
    changed.version = 2;
    assert_false(stoa_peer_auth_verify(secret, SECRET_LENGTH, STOA_PEER_AUTH_DIALER, &changed, mac,
                                       sizeof(mac)));
}

/* Appending into a buffer with no room fails with the buffer unchanged; a failed allocation
 * is reported as NOMEM. */
static void test_append_errors(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 20);
    assert_int_equal(
        stoa_peer_frame_append(&buf, STOA_PEER_FRAME_MESSAGE, (const uint8_t *)"hello", 5),
        STOA_ERR_TOO_LARGE);
    assert_int_equal(buf.length, 0);
    stoa_buf_init(&buf, 1024);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_peer_frame_append(&buf, STOA_PEER_FRAME_PING, NULL, 0), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_int_equal(buf.length, 0);
    stoa_buf_free(&buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_encode),
        cmocka_unit_test(test_golden_decode),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_version_and_type),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_handshake_payloads),
        cmocka_unit_test(test_mac_golden),
        cmocka_unit_test(test_mac_binding),
        cmocka_unit_test(test_append_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
