/*
 * value_codec: a value as bytes, for snapshots (and, later, for sending a snapshot to a
 * replica).
 *
 * The encoding depends on the type, which travels beside it (the snapshot record's type
 * byte): bytes are themselves; a deque is a varint count followed by each element as a
 * varint length and its bytes; an object is its fields in a fixed order. The byte tables
 * are in docs/formats/snapshot.md ("What the engine puts in records"). Decoding is strict:
 * trailing bytes, truncation, bad varints and out-of-bound lengths are STOA_ERR_MALFORMED,
 * and nothing is left allocated on failure.
 */
#ifndef STOA_ENGINE_VALUE_CODEC_H
#define STOA_ENGINE_VALUE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/value.h"
#include "util/buf.h"

/* Appends value's encoding to out (value's type is value->type). Returns 0, or the
 * buffer's STOA_ERR_NOMEM / STOA_ERR_TOO_LARGE (out then holds a partial encoding past its
 * old length: the caller truncates or discards it). */
int stoa_value_encode(const struct stoa_value *value, struct stoa_buf *out);

/* Decodes length bytes as a value of type into *value, which must hold nothing. Returns 0,
 * STOA_ERR_MALFORMED (also for an unknown type), STOA_ERR_TOO_LARGE, or STOA_ERR_NOMEM;
 * *value holds nothing on failure. */
int stoa_value_decode(enum stoa_value_type type, const uint8_t *data, size_t length,
                      struct stoa_value *value);

#endif
