/*
 * config: stoa's configuration, read from a YAML file, the environment and flags.
 *
 * The keys, their types, ranges, defaults and docs are one table (config_keys.h); struct
 * stoa_config has one field per key. A configuration is built in layers, each overriding the
 * one before: defaults < file < environment < flags. The caller runs them in that order:
 *
 *     struct stoa_config config;
 *     struct stoa_config_error error;
 *     stoa_config_defaults(&config);
 *     stoa_config_load_file(&config, "stoa.yaml", bytes, byte_count, &error);
 *     stoa_config_load_env(&config, environ, &error);
 *     stoa_config_load_flags(&config, remaining_argc, remaining_argv, &error);
 *
 * The module does no I/O: the caller reads the file and hands over its bytes, the
 * environment and the arguments. It does not allocate either (libyaml, which parses the
 * file, allocates with its own malloc; see docs/decisions/config-yaml.md).
 *
 * Every load is all or nothing: on error it returns STOA_ERR_CONFIG (STOA_ERR_NOMEM if
 * libyaml ran out of memory), leaves the caller's config exactly as it was, and writes one
 * line into error->message naming the source and the key:
 *
 *     stoa.yaml:12: node.maxPeers: expected an integer in 1..1000, got "abc"
 *     environment NODE_MAXPEERS: expected an integer in 1..1000, got "abc"
 *     flag --node.maxPeers: expected an integer in 1..1000, got "abc"
 *
 * On success error->message is the empty string. The full rules (file layout, environment
 * names, flag syntax) are in docs/config.md.
 *
 * Ownership: every function borrows its arguments for the duration of the call only; a
 * loaded config holds copies of every string. The key descriptions returned by
 * stoa_config_key_at are static.
 */
#ifndef STOA_UTIL_CONFIG_H
#define STOA_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/config_keys.h"
#include "util/limits.h"

/* enum stoa_config_<words> for every ENUM key's word list, numbered from 0. */
/* clang-format off */
#define STOA_CONFIG_ENUM_CONSTANT(constant, word) constant,
#define STOA_CONFIG_ENUM_DECLARE(words)                                                            \
    enum stoa_config_##words { STOA_CONFIG_WORDS_##words(STOA_CONFIG_ENUM_CONSTANT) };
/* clang-format on */
STOA_CONFIG_ENUMS(STOA_CONFIG_ENUM_DECLARE)
#undef STOA_CONFIG_ENUM_DECLARE
#undef STOA_CONFIG_ENUM_CONSTANT

/* One field per key of config_keys.h, named and typed by its row. */
#define STOA_CONFIG_FIELD_INT(field, max, words) int64_t field;
#define STOA_CONFIG_FIELD_DOUBLE(field, max, words) double field;
#define STOA_CONFIG_FIELD_BOOL(field, max, words) bool field;
#define STOA_CONFIG_FIELD_STRING(field, max, words) char field[(max) + 1];
#define STOA_CONFIG_FIELD_ENUM(field, max, words) enum stoa_config_##words field;
#define STOA_CONFIG_FIELD_DURATION(field, max, words) int64_t field;
#define STOA_CONFIG_FIELD(type, name, field, min, max, words, default_text, doc)                   \
    STOA_CONFIG_FIELD_##type(field, max, words)

struct stoa_config {
    STOA_CONFIG_KEYS(STOA_CONFIG_FIELD)
};

#undef STOA_CONFIG_FIELD

enum stoa_config_type {
    STOA_CONFIG_INT,
    STOA_CONFIG_DOUBLE,
    STOA_CONFIG_BOOL,
    STOA_CONFIG_STRING,
    STOA_CONFIG_ENUM,
    STOA_CONFIG_DURATION,
};

/* One key of the schema, for code that lists or documents keys. */
struct stoa_config_key {
    const char *name; /* dotted, as in the file and in flags: "node.maxPeers" */
    enum stoa_config_type type;
    int64_t integer_min; /* INT and DURATION (ms): inclusive range */
    int64_t integer_max;
    double real_min; /* DOUBLE: value > real_min and value <= real_max */
    double real_max;
    size_t length_max;        /* STRING: longest value in bytes */
    const char *const *words; /* ENUM: the allowed words, in the order of the C enum */
    size_t word_count;        /* ENUM: number of words */
    const char *default_text; /* the default, as text the parser accepts */
    const char *doc;          /* one sentence */
};

/* The error of a failed load: one line, NUL-terminated, cut to fit. */
struct stoa_config_error {
    char message[STOA_CONFIG_ERROR_BYTES_MAX];
};

/* Sets every field to its default. */
void stoa_config_defaults(struct stoa_config *config);

/* Applies a YAML file. Nested mappings give dotted keys (node: storage: replicationFactor:
 * 5), and a dotted key may also be written flat at any level ("node.maxPeers: 7", or
 * "storage.storageMode: safe" under node:). file_name is used only in error messages. An
 * unknown key, a bad value, a sequence or an alias, a key set twice, a YAML syntax error,
 * more than one document, or more than STOA_CONFIG_FILE_BYTES_MAX bytes is an error. An
 * empty file (or one with only comments) changes nothing. */
int stoa_config_load_file(struct stoa_config *config, const char *file_name, const char *text,
                          size_t length, struct stoa_config_error *error);

/* Applies the environment, a NULL-terminated array of "NAME=value" strings (environ).
 * Each key is read from its name upper-cased with dots as underscores (node.maxPeers:
 * NODE_MAXPEERS), or from the same name prefixed STOA_ (STOA_NODE_MAXPEERS), which wins:
 * when both are set only the prefixed one is read. Variables that name no key are ignored. */
int stoa_config_load_env(struct stoa_config *config, char **envp, struct stoa_config_error *error);

/* Applies flags: "--node.maxPeers=7" or "--node.maxPeers 7"; a later flag wins over an
 * earlier one for the same key. Every argument must be such a flag: the caller removes its
 * own arguments (the subcommand, --config, ...) first and passes the rest, without the
 * program name. Any other argument ("--bogus=1", "start"), an unknown key, or a flag without
 * a value is an error. */
int stoa_config_load_flags(struct stoa_config *config, int argc, char **argv,
                           struct stoa_config_error *error);

/* Sets one key from text, as a flag would. The error message starts "<source>: <key>: ";
 * source (may be NULL) says where the value came from ("stoa.yaml:12", "CONFIG SET"). */
int stoa_config_set(struct stoa_config *config, const char *key, const char *value,
                    const char *source, struct stoa_config_error *error);

/* Writes the value of key as text that stoa_config_set accepts ("20s", "safe", "10.0";
 * strings as they are), NUL-terminated, into text. *length (may be NULL) gets the length
 * without the NUL. Returns STOA_ERR_NOT_FOUND for an unknown key, STOA_ERR_TOO_LARGE if it
 * does not fit in capacity bytes; text and *length are untouched on failure. */
int stoa_config_format_value(const struct stoa_config *config, const char *key, char *text,
                             size_t capacity, size_t *length);

/* Writes config as a complete YAML file: every key in nested sections, each with a comment
 * giving its doc, type, range and environment variable. The result loads back to exactly
 * config. NUL-terminated; *length gets its length without the NUL. Returns
 * STOA_ERR_TOO_LARGE if capacity is too small (STOA_CONFIG_FILE_BYTES_MAX always suffices),
 * leaving *length untouched. */
int stoa_config_write(const struct stoa_config *config, char *text, size_t capacity,
                      size_t *length);

/* stoa_config_write of the defaults: the file `stoa setup` writes. */
int stoa_config_write_default(char *text, size_t capacity, size_t *length);

/* Writes the reference of every key as a Markdown table (key, type, default, allowed
 * values, environment variable, meaning), as docs/config.md holds it. Same contract as
 * stoa_config_write. */
int stoa_config_write_reference(char *text, size_t capacity, size_t *length);

/* The number of keys, and key index (0 <= index < count) in table order. */
size_t stoa_config_key_count(void);
const struct stoa_config_key *stoa_config_key_at(size_t index);

/* The key named name (exact, case-sensitive), or NULL. */
const struct stoa_config_key *stoa_config_key_find(const char *name);

/* Writes the key's environment variable name without prefix ("NODE_MAXPEERS") into text,
 * which has room for STOA_CONFIG_KEY_BYTES_MAX bytes. */
void stoa_config_env_name(const struct stoa_config_key *key, char text[STOA_CONFIG_KEY_BYTES_MAX]);

#endif
