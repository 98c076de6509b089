/*
 * config_int: what config.c shares with config_yaml.c, the YAML file reader. No other
 * module includes this file.
 */
#ifndef STOA_UTIL_CONFIG_INT_H
#define STOA_UTIL_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/config.h"

/* The index of each key in the schema table: CONFIG_KEY_<field>. */
#define CONFIG_KEY_INDEX(type, key_name, field, ...) CONFIG_KEY_##field,
enum config_key_index { STOA_CONFIG_KEYS(CONFIG_KEY_INDEX) CONFIG_KEY_COUNT };
#undef CONFIG_KEY_INDEX

/* A value quoted for an error message: a quote, up to STOA_CONFIG_ERROR_QUOTE_BYTES_MAX
 * bytes each escaped to at most 4, "...", a quote and the NUL. */
#define CONFIG_QUOTE_BYTES (4 * STOA_CONFIG_ERROR_QUOTE_BYTES_MAX + 8)

/* The index of the key named by the length bytes of name (exact match), or
 * CONFIG_KEY_COUNT. */
size_t config_key_find(const char *name, size_t length);

/* If the length bytes of name are a section, the part before a dot of some key ("node",
 * "node.storage"), returns the index of the first such key; else CONFIG_KEY_COUNT. */
size_t config_section_find(const char *name, size_t length);

/* Parses length bytes of text as the value of key index and stores it in config. On error
 * returns STOA_ERR_CONFIG with "<where>: <what was expected>, got <text>" in error, and
 * config is untouched. */
int config_key_set(struct stoa_config *config, size_t index, const char *text, size_t length,
                   const char *where, struct stoa_config_error *error);

/* Writes the formatted message into error and returns STOA_ERR_CONFIG. */
int config_fail(struct stoa_config_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes length bytes of text between double quotes, with quotes, backslashes and control
 * bytes escaped, cut after STOA_CONFIG_ERROR_QUOTE_BYTES_MAX bytes (then ending "..."). */
void config_quote(const char *text, size_t length, char quoted[CONFIG_QUOTE_BYTES]);

#endif
