/*
 * node_key: this node's Ed25519 key pair, the identity it proves to other nodes
 * (multiverse9's HELLO/AUTH exchange, docs/protocols/multiverse9.md).
 *
 * The key is made at first start from the env's random bytes and kept in <data dir>/node.key:
 * 64 hexadecimal characters of the 32-byte Ed25519 seed and a newline, created owner-only
 * (mode 0600) and written durably (temporary file, fdatasync, rename, directory sync). It is
 * never replaced: a file that exists but does not hold a valid seed stops the start
 * (STOA_ERR_CORRUPT). docs/decisions/node-keys.md says why.
 *
 * Public keys are written as 64 hexadecimal characters (logs, METADATA) and read as hex or
 * as standard base64 (44 characters), so a key can be pasted from either form.
 *
 * Signatures are libsodium's crypto_sign_detached (Ed25519). Ownership: plain values.
 */
#ifndef STOA_SERVER_NODE_KEY_H
#define STOA_SERVER_NODE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/env.h"

#define STOA_NODE_KEY_PUBLIC_BYTES 32
#define STOA_NODE_KEY_SECRET_BYTES 64
#define STOA_NODE_KEY_SEED_BYTES 32
#define STOA_NODE_KEY_SIGNATURE_BYTES 64
/* Hex text of a public key, without the NUL. */
#define STOA_NODE_KEY_HEX_LENGTH (2 * STOA_NODE_KEY_PUBLIC_BYTES)

struct stoa_node_key {
    uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES];
    uint8_t secret_key[STOA_NODE_KEY_SECRET_BYTES];
};

/* Reads the key from <dir>/node.key, or makes and stores a new one if the file does not
 * exist (*created is then true). Returns 0, STOA_ERR_CORRUPT for a file that is not a key,
 * or the env's file error. */
int stoa_node_key_load(struct stoa_env *env, const char *dir, struct stoa_node_key *key,
                       bool *created);

/* Makes a key from seed (for tests and tools). */
void stoa_node_key_from_seed(const uint8_t seed[STOA_NODE_KEY_SEED_BYTES],
                             struct stoa_node_key *key);

void stoa_node_key_sign(const struct stoa_node_key *key, const uint8_t *message, size_t length,
                        uint8_t signature[STOA_NODE_KEY_SIGNATURE_BYTES]);

bool stoa_node_key_verify(const uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES],
                          const uint8_t *message, size_t length,
                          const uint8_t signature[STOA_NODE_KEY_SIGNATURE_BYTES]);

/* Parses a public key of exactly length bytes: 64 hex characters (either case) or 44 of
 * standard base64. Returns 0 or STOA_ERR_MALFORMED. */
int stoa_node_key_parse_public(const char *text, size_t length,
                               uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES]);

/* Writes the 64 lower-case hex characters of a public key and a NUL. */
void stoa_node_key_format_public(const uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES],
                                 char text[STOA_NODE_KEY_HEX_LENGTH + 1]);

#endif
