/* Shows that base64 matches RFC 4648's test vectors in both variants, round-trips every
 * length from 0 to 300, decodes strictly (bad characters, padding, lengths and trailing
 * bits are refused) and reports buffers that are too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/base64.h"
#include "util/err.h"
#include "util/prng.h"

static void encode_expect(const char *data, enum stoa_base64_variant variant,
                          const char *expected) {
    char text[64];
    size_t text_length = 0;
    size_t length = strlen(data);
    assert_int_equal(stoa_base64_encode((const uint8_t *)data, length, variant, text, sizeof(text),
                                        &text_length),
                     STOA_OK);
    assert_int_equal(text_length, strlen(expected));
    assert_int_equal(text_length, stoa_base64_encoded_length(length, variant));
    assert_string_equal(text, expected);
    uint8_t decoded[64];
    size_t decoded_length = 0;
    assert_int_equal(
        stoa_base64_decode(text, text_length, variant, decoded, sizeof(decoded), &decoded_length),
        STOA_OK);
    assert_int_equal(decoded_length, length);
    assert_memory_equal(decoded, data, length);
}

/* The test vectors of RFC 4648 §10, padded and (for the URL variant) unpadded. */
static void test_rfc4648_vectors(void **state) {
    (void)state;
    static const char *const vectors[][3] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        encode_expect(vectors[i][0], STOA_BASE64_STANDARD, vectors[i][1]);
        encode_expect(vectors[i][0], STOA_BASE64_URL, vectors[i][2]);
    }
}

/* The two alphabets differ in the last two characters. */
static void test_alphabets(void **state) {
    (void)state;
    encode_expect("\xfb\xff", STOA_BASE64_STANDARD, "+/8=");
    encode_expect("\xfb\xff", STOA_BASE64_URL, "-_8");
    uint8_t data[4];
    size_t length = 0;
    assert_int_equal(stoa_base64_decode("-_8", 3, STOA_BASE64_STANDARD, data, 4, &length),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_base64_decode("+/8", 3, STOA_BASE64_URL, data, 4, &length),
                     STOA_ERR_MALFORMED);
}

/* Random data of every length 0..300 round-trips in both variants, the encoded length is
 * what the helper says, and the decoded length is within the helper's maximum. */
static void test_round_trips(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 64);
    static const enum stoa_base64_variant variants[] = {STOA_BASE64_STANDARD, STOA_BASE64_URL};
    for (size_t length = 0; length <= 300; length++) {
        uint8_t data[300];
        stoa_prng_fill(&prng, data, length);
        for (size_t v = 0; v < 2; v++) {
            char text[402];
            size_t text_length = 0;
            assert_int_equal(
                stoa_base64_encode(data, length, variants[v], text, sizeof(text), &text_length),
                STOA_OK);
            assert_int_equal(text_length, stoa_base64_encoded_length(length, variants[v]));
            assert_int_equal(strlen(text), text_length);
            assert_true(stoa_base64_decoded_length_max(text_length) >= length);
            assert_true(stoa_base64_decoded_length_max(text_length) <= length + 2);
            uint8_t decoded[300];
            size_t decoded_length = 0;
            assert_int_equal(stoa_base64_decode(text, text_length, variants[v], decoded, length,
                                                &decoded_length),
                             STOA_OK);
            assert_int_equal(decoded_length, length);
            assert_true(length == 0 || memcmp(decoded, data, length) == 0);
        }
    }
}

/* Malformed texts are STOA_ERR_MALFORMED and leave the length untouched. */
static void test_strict_decoding(void **state) {
    (void)state;
    static const struct {
        const char *text;
        enum stoa_base64_variant variant;
    } bad[] = {
        {"Zg=", STOA_BASE64_STANDARD},          /* short padding */
        {"Zg", STOA_BASE64_STANDARD},           /* missing padding */
        {"Zg===", STOA_BASE64_STANDARD},        /* extra padding */
        {"Zm9v=", STOA_BASE64_STANDARD},        /* padding after a full group */
        {"Z===", STOA_BASE64_STANDARD},         /* one character is never a byte */
        {"====", STOA_BASE64_STANDARD},         /* only padding */
        {"Zh==", STOA_BASE64_STANDARD},         /* non-zero trailing bits */
        {"Zm9=", STOA_BASE64_STANDARD},         /* non-zero trailing bits */
        {"Zm 9v", STOA_BASE64_STANDARD},        /* white space */
        {"Zm9v\n", STOA_BASE64_STANDARD},       /* trailing new line */
        {"Zm9vYg==Zm9v", STOA_BASE64_STANDARD}, /* data after padding */
        {"Zm9*", STOA_BASE64_STANDARD},         /* bad character */
        {"Zg==", STOA_BASE64_URL},              /* padding in the unpadded variant */
        {"Z", STOA_BASE64_URL},                 /* one character */
        {"Zm9vY", STOA_BASE64_URL},             /* one character after full groups */
        {"Zh", STOA_BASE64_URL},                /* non-zero trailing bits */
        {"Zm9v.", STOA_BASE64_URL},             /* bad character */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t data[16];
        size_t length = 12345;
        int result = stoa_base64_decode(bad[i].text, strlen(bad[i].text), bad[i].variant, data,
                                        sizeof(data), &length);
        assert_int_equal(result, STOA_ERR_MALFORMED);
        assert_int_equal(length, 12345);
    }
    /* A NUL inside the text is a bad character, not an end. */
    uint8_t data[16];
    size_t length = 0;
    assert_int_equal(
        stoa_base64_decode("Zm9v\0\0\0\0", 8, STOA_BASE64_STANDARD, data, sizeof(data), &length),
        STOA_ERR_MALFORMED);
}

/* Output buffers one byte too small are STOA_ERR_TOO_LARGE, for encode (which needs room
 * for the NUL) and decode; exactly large enough succeeds. */
static void test_small_buffers(void **state) {
    (void)state;
    char text[9];
    size_t text_length = 99;
    const uint8_t *foobar = (const uint8_t *)"foobar";
    assert_int_equal(stoa_base64_encode(foobar, 6, STOA_BASE64_STANDARD, text, 8, &text_length),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(text_length, 99);
    assert_int_equal(stoa_base64_encode(foobar, 6, STOA_BASE64_STANDARD, text, 9, &text_length),
                     STOA_OK);
    assert_int_equal(text_length, 8);
    uint8_t data[6];
    size_t length = 99;
    assert_int_equal(stoa_base64_decode("Zm9vYmFy", 8, STOA_BASE64_STANDARD, data, 5, &length),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_base64_decode("Zm9vYmE", 7, STOA_BASE64_URL, data, 4, &length),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(length, 99);
    assert_int_equal(stoa_base64_decode("Zm9vYmE", 7, STOA_BASE64_URL, data, 5, &length), STOA_OK);
    assert_int_equal(length, 5);
    assert_int_equal(stoa_base64_decode("", 0, STOA_BASE64_URL, NULL, 0, &length), STOA_OK);
    assert_int_equal(length, 0);
}

/* The length helpers give the sizes RFC 4648 implies. */
static void test_length_helpers(void **state) {
    (void)state;
    assert_int_equal(stoa_base64_encoded_length(0, STOA_BASE64_STANDARD), 0);
    assert_int_equal(stoa_base64_encoded_length(1, STOA_BASE64_STANDARD), 4);
    assert_int_equal(stoa_base64_encoded_length(1, STOA_BASE64_URL), 2);
    assert_int_equal(stoa_base64_encoded_length(2, STOA_BASE64_URL), 3);
    assert_int_equal(stoa_base64_encoded_length(3, STOA_BASE64_URL), 4);
    assert_int_equal(stoa_base64_decoded_length_max(0), 0);
    assert_int_equal(stoa_base64_decoded_length_max(2), 1);
    assert_int_equal(stoa_base64_decoded_length_max(3), 2);
    assert_int_equal(stoa_base64_decoded_length_max(4), 3);
    assert_int_equal(stoa_base64_decoded_length_max(8), 6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_round_trips),     cmocka_unit_test(test_strict_decoding),
        cmocka_unit_test(test_small_buffers),   cmocka_unit_test(test_length_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
