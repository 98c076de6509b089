#include "util/config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/assert.h"
#include "util/config_int.h"
#include "util/err.h"
#include "util/member_list.h"
#include "util/time.h"

/* ---- the schema, generated from config_keys.h ---- */

#define WORD_TEXT(constant, word) word,
#define DECLARE_WORDS(list)                                                                        \
    static const char *const words_##list[] = {STOA_CONFIG_WORDS_##list(WORD_TEXT)};
STOA_CONFIG_ENUMS(DECLARE_WORDS)

#define RANGE_INT(min, max, list) .integer_min = (min), .integer_max = (max),
#define RANGE_DURATION(min, max, list) .integer_min = (min), .integer_max = (max),
#define RANGE_DOUBLE(min, max, list) .real_min = (min), .real_max = (max),
#define RANGE_BOOL(min, max, list)
#define RANGE_STRING(min, max, list) .length_max = (max),
#define RANGE_ENUM(min, max, list)                                                                 \
    .words = words_##list, .word_count = sizeof(words_##list) / sizeof(words_##list[0]),
#define KEY_ROW(kind, key_name, field, min, max, list, default_value, doc_text)                    \
    {.name = key_name,                                                                             \
     .type = STOA_CONFIG_##kind,                                                                   \
     RANGE_##kind(min, max, list).default_text = default_value,                                    \
     .doc = doc_text},

static const struct stoa_config_key keys[CONFIG_KEY_COUNT] = {STOA_CONFIG_KEYS(KEY_ROW)};

/* A parsed value, before it is stored in its field. */
struct value {
    int64_t integer;  /* INT, DURATION (ms), ENUM (word index), BOOL (0 or 1) */
    double real;      /* DOUBLE */
    const char *text; /* STRING: borrowed from the input */
    size_t length;
};

/* Longest text read as a number: any valid int64 or double is far shorter. */
#define NUMBER_TEXT_BYTES_MAX 64
/* Width of the comment lines in the YAML that stoa_config_write produces. */
#define YAML_COMMENT_COLUMNS 92

static void store_text(char *field, size_t capacity, const struct value *value) {
    STOA_ASSERT(value->length < capacity);
    memcpy(field, value->text, value->length);
    field[value->length] = '\0';
}

#define STORE_INT(target, list, value) target = (value)->integer;
#define STORE_DURATION(target, list, value) target = (value)->integer;
#define STORE_DOUBLE(target, list, value) target = (value)->real;
#define STORE_BOOL(target, list, value) target = (value)->integer != 0;
#define STORE_STRING(target, list, value) store_text(target, sizeof(target), value);
#define STORE_ENUM(target, list, value) target = (enum stoa_config_##list)(value)->integer;
#define STORE_CASE(kind, key_name, field, min, max, list, ...)                                     \
    case CONFIG_KEY_##field:                                                                       \
        STORE_##kind(config->field, list, value) break;

static void store(struct stoa_config *config, enum config_key_index index,
                  const struct value *value) {
    switch (index) {
        STOA_CONFIG_KEYS(STORE_CASE)
    case CONFIG_KEY_COUNT:
        STOA_UNREACHABLE();
    }
}

#define LOAD_INT(source, value) (value)->integer = (source);
#define LOAD_DURATION(source, value) (value)->integer = (source);
#define LOAD_DOUBLE(source, value) (value)->real = (source);
#define LOAD_BOOL(source, value) (value)->integer = (source) ? 1 : 0;
#define LOAD_STRING(source, value)                                                                 \
    (value)->text = (source);                                                                      \
    (value)->length = strnlen((source), sizeof(source));
#define LOAD_ENUM(source, value) (value)->integer = (int64_t)(source);
#define LOAD_CASE(kind, key_name, field, ...)                                                      \
    case CONFIG_KEY_##field:                                                                       \
        LOAD_##kind(config->field, value) break;

static void load(const struct stoa_config *config, enum config_key_index index,
                 struct value *value) {
    memset(value, 0, sizeof(*value));
    switch (index) {
        STOA_CONFIG_KEYS(LOAD_CASE)
    case CONFIG_KEY_COUNT:
        STOA_UNREACHABLE();
    }
}

/* ---- shared helpers ---- */

int config_fail(struct stoa_config_error *error, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof(error->message), format, arguments);
    va_end(arguments);
    return STOA_ERR_CONFIG;
}

void config_quote(const char *text, size_t length, char quoted[CONFIG_QUOTE_BYTES]) {
    size_t shown =
        length > STOA_CONFIG_ERROR_QUOTE_BYTES_MAX ? STOA_CONFIG_ERROR_QUOTE_BYTES_MAX : length;
    size_t at = 0;
    quoted[at++] = '"';
    for (size_t i = 0; i < shown; i++) {
        unsigned char byte = (unsigned char)text[i];
        if (byte == '"' || byte == '\\') {
            quoted[at++] = '\\';
            quoted[at++] = (char)byte;
        } else if (byte < 0x20 || byte == 0x7f) {
            snprintf(quoted + at, 5, "\\x%02x", byte);
            at += 4;
        } else {
            quoted[at++] = (char)byte;
        }
    }
    if (shown < length) {
        memcpy(quoted + at, "...", 3);
        at += 3;
    }
    quoted[at++] = '"';
    quoted[at] = '\0';
    STOA_ASSERT(at < CONFIG_QUOTE_BYTES);
}

size_t config_key_find(const char *name, size_t length) {
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        if (strlen(keys[index].name) == length && memcmp(keys[index].name, name, length) == 0) {
            return index;
        }
    }
    return CONFIG_KEY_COUNT;
}

size_t config_section_find(const char *name, size_t length) {
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        const char *key = keys[index].name;
        if (strlen(key) > length && key[length] == '.' && memcmp(key, name, length) == 0) {
            return index;
        }
    }
    return CONFIG_KEY_COUNT;
}

static bool equals_word(const char *text, size_t length, const char *word) {
    return strlen(word) == length && strncasecmp(text, word, length) == 0;
}

/* Writes ms in the largest unit that holds it exactly: "500ms", "20s", "5m", "2h". */
static void format_duration(int64_t ms, char *text, size_t capacity) {
    if (ms != 0 && ms % (3600 * STOA_MS_PER_S) == 0) {
        snprintf(text, capacity, "%" PRId64 "h", ms / (3600 * STOA_MS_PER_S));
    } else if (ms != 0 && ms % (60 * STOA_MS_PER_S) == 0) {
        snprintf(text, capacity, "%" PRId64 "m", ms / (60 * STOA_MS_PER_S));
    } else if (ms != 0 && ms % STOA_MS_PER_S == 0) {
        snprintf(text, capacity, "%" PRId64 "s", ms / STOA_MS_PER_S);
    } else {
        snprintf(text, capacity, "%" PRId64 "ms", ms);
    }
}

/* Writes the shortest text that reads back as exactly value, with a ".0" if it would
 * otherwise look like an integer. */
static void format_real(double value, char *text, size_t capacity) {
    snprintf(text, capacity, "%.15g", value);
    if (strtod(text, NULL) != value) {
        snprintf(text, capacity, "%.17g", value);
    }
    size_t length = strlen(text);
    if (strspn(text, "-0123456789") == length && length + 3 <= capacity) {
        memcpy(text + length, ".0", 3);
    }
}

/* Describes the values key accepts, after "expected": "an integer in 1..1000". */
static void describe(const struct stoa_config_key *key, char *text, size_t capacity) {
    char low[32];
    char high[32];
    switch (key->type) {
    case STOA_CONFIG_INT:
        snprintf(text, capacity, "an integer in %" PRId64 "..%" PRId64, key->integer_min,
                 key->integer_max);
        return;
    case STOA_CONFIG_DOUBLE:
        snprintf(text, capacity, "a number greater than %.15g and at most %.15g", key->real_min,
                 key->real_max);
        return;
    case STOA_CONFIG_BOOL:
        snprintf(text, capacity, "true or false");
        return;
    case STOA_CONFIG_STRING:
        snprintf(text, capacity, "text of at most %zu bytes", key->length_max);
        return;
    case STOA_CONFIG_DURATION:
        format_duration(key->integer_min, low, sizeof(low));
        format_duration(key->integer_max, high, sizeof(high));
        snprintf(text, capacity, "a duration in %s..%s (such as 500ms, 20s, 5m or 1h)", low, high);
        return;
    case STOA_CONFIG_ENUM:
        break;
    }
    size_t at = 0;
    for (size_t i = 0; i < key->word_count && at < capacity; i++) {
        const char *separator = i == 0 ? "" : (i + 1 == key->word_count ? " or " : ", ");
        int written = snprintf(text + at, capacity - at, "%s%s", separator, key->words[i]);
        at += written > 0 ? (size_t)written : 0;
    }
}

/* ---- parsing one value ---- */

static int expected(const struct stoa_config_key *key, const char *text, size_t length,
                    const char *where, struct stoa_config_error *error) {
    char description[256];
    char quoted[CONFIG_QUOTE_BYTES];
    describe(key, description, sizeof(description));
    config_quote(text, length, quoted);
    return config_fail(error, "%s: expected %s, got %s", where, description, quoted);
}

/* Copies a number's text into buffer, NUL-terminated, if it looks like one: not empty, not
 * too long, no NUL inside, and starting with a digit or a sign (strtoll and strtod would skip
 * leading spaces). */
static bool number_text(const char *text, size_t length, char buffer[NUMBER_TEXT_BYTES_MAX]) {
    if (length == 0 || length >= NUMBER_TEXT_BYTES_MAX || memchr(text, '\0', length) != NULL) {
        return false;
    }
    bool digit = text[0] >= '0' && text[0] <= '9';
    if (!digit && text[0] != '-' && text[0] != '+') {
        return false;
    }
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    return true;
}

static bool parse_integer(const char *text, size_t length, int64_t *integer) {
    char buffer[NUMBER_TEXT_BYTES_MAX];
    if (!number_text(text, length, buffer)) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll(buffer, &end, 10);
    if (errno != 0 || end != buffer + length) {
        return false;
    }
    *integer = parsed;
    return true;
}

static bool parse_real(const char *text, size_t length, double *real) {
    char buffer[NUMBER_TEXT_BYTES_MAX];
    if (!number_text(text, length, buffer)) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    double parsed = strtod(buffer, &end);
    if (errno != 0 || end != buffer + length || !isfinite(parsed)) {
        return false;
    }
    *real = parsed;
    return true;
}

static bool parse_bool(const char *text, size_t length, int64_t *integer) {
    static const char *const true_words[] = {"true", "yes", "on", "1"};
    static const char *const false_words[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(true_words) / sizeof(true_words[0]); i++) {
        if (equals_word(text, length, true_words[i])) {
            *integer = 1;
            return true;
        }
        if (equals_word(text, length, false_words[i])) {
            *integer = 0;
            return true;
        }
    }
    return false;
}

static bool parse_word(const struct stoa_config_key *key, const char *text, size_t length,
                       int64_t *integer) {
    for (size_t i = 0; i < key->word_count; i++) {
        if (equals_word(text, length, key->words[i])) {
            *integer = (int64_t)i;
            return true;
        }
    }
    return false;
}

static int parse_string(const struct stoa_config_key *key, const char *text, size_t length,
                        const char *where, struct value *value, struct stoa_config_error *error) {
    if (length > key->length_max) {
        return config_fail(error, "%s: expected text of at most %zu bytes, got %zu bytes", where,
                           key->length_max, length);
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)text[i];
        if (byte < 0x20 || byte == 0x7f) {
            char quoted[CONFIG_QUOTE_BYTES];
            config_quote(text, length, quoted);
            return config_fail(error, "%s: expected text without control characters, got %s", where,
                               quoted);
        }
    }
    value->text = text;
    value->length = length;
    return STOA_OK;
}

static int parse_value(const struct stoa_config_key *key, const char *text, size_t length,
                       const char *where, struct value *value, struct stoa_config_error *error) {
    bool ok = false;
    switch (key->type) {
    case STOA_CONFIG_STRING:
        return parse_string(key, text, length, where, value, error);
    case STOA_CONFIG_INT:
        ok = parse_integer(text, length, &value->integer) && value->integer >= key->integer_min &&
             value->integer <= key->integer_max;
        break;
    case STOA_CONFIG_DURATION:
        ok = stoa_duration_parse(text, length, &value->integer) == STOA_OK &&
             value->integer >= key->integer_min && value->integer <= key->integer_max;
        break;
    case STOA_CONFIG_DOUBLE:
        ok = parse_real(text, length, &value->real) && value->real > key->real_min &&
             value->real <= key->real_max;
        break;
    case STOA_CONFIG_BOOL:
        ok = parse_bool(text, length, &value->integer);
        break;
    case STOA_CONFIG_ENUM:
        ok = parse_word(key, text, length, &value->integer);
        break;
    }
    return ok ? STOA_OK : expected(key, text, length, where, error);
}

int config_key_set(struct stoa_config *config, size_t index, const char *text, size_t length,
                   const char *where, struct stoa_config_error *error) {
    STOA_ASSERT(index < CONFIG_KEY_COUNT);
    struct value value;
    memset(&value, 0, sizeof(value));
    int result = parse_value(&keys[index], text, length, where, &value, error);
    if (result != STOA_OK) {
        return result;
    }
    if (index == CONFIG_KEY_cluster_members) {
        /* The member list has a grammar of its own; a bad one is refused here, at load, with
         * the entry named, rather than when the transport starts. */
        struct stoa_member_list members;
        char reason[STOA_MEMBER_LIST_ERROR_BYTES];
        if (stoa_member_list_parse(text, length, &members, reason) != STOA_OK) {
            return config_fail(error, "%s: %s", where, reason);
        }
    }
    store(config, (enum config_key_index)index, &value);
    return STOA_OK;
}

/* ---- the public API: schema, defaults, set ---- */

size_t stoa_config_key_count(void) {
    return CONFIG_KEY_COUNT;
}

const struct stoa_config_key *stoa_config_key_at(size_t index) {
    STOA_ASSERT(index < CONFIG_KEY_COUNT);
    return &keys[index];
}

const struct stoa_config_key *stoa_config_key_find(const char *name) {
    STOA_ASSERT(name != NULL);
    size_t index = config_key_find(name, strlen(name));
    return index < CONFIG_KEY_COUNT ? &keys[index] : NULL;
}

void stoa_config_env_name(const struct stoa_config_key *key, char text[STOA_CONFIG_KEY_BYTES_MAX]) {
    STOA_ASSERT(key != NULL && text != NULL);
    size_t length = strlen(key->name);
    STOA_ASSERT(length < STOA_CONFIG_KEY_BYTES_MAX);
    for (size_t i = 0; i < length; i++) {
        char c = key->name[i];
        text[i] = c == '.' ? '_' : (c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
    }
    text[length] = '\0';
}

void stoa_config_defaults(struct stoa_config *config) {
    STOA_ASSERT(config != NULL);
    memset(config, 0, sizeof(*config));
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        struct stoa_config_error error;
        const char *text = keys[index].default_text;
        int result = config_key_set(config, index, text, strlen(text), keys[index].name, &error);
        STOA_ASSERT(result == STOA_OK); /* the table's defaults are valid */
    }
}

int stoa_config_set(struct stoa_config *config, const char *key, const char *value,
                    const char *source, struct stoa_config_error *error) {
    STOA_ASSERT(config != NULL && key != NULL && value != NULL && error != NULL);
    error->message[0] = '\0';
    char where[STOA_CONFIG_ERROR_BYTES_MAX];
    int key_shown = (int)strnlen(key, STOA_CONFIG_KEY_BYTES_MAX);
    if (source != NULL) {
        snprintf(where, sizeof(where), "%s: %.*s", source, key_shown, key);
    } else {
        snprintf(where, sizeof(where), "%.*s", key_shown, key);
    }
    size_t index = config_key_find(key, strlen(key));
    if (index == CONFIG_KEY_COUNT) {
        return config_fail(error, "%s: unknown key", where);
    }
    return config_key_set(config, index, value, strlen(value), where, error);
}

/* ---- environment ---- */

/* True if the length bytes of name are key's environment name (upper case, '_' for '.'). */
static bool env_name_matches(const char *key, const char *name, size_t length) {
    if (strlen(key) != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        char c = key[i];
        char wanted = c == '.' ? '_' : (c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
        if (name[i] != wanted) {
            return false;
        }
    }
    return true;
}

/* Records entry ("NAME=value") as the source of the key it names, if any. A STOA_ name
 * replaces an unprefixed one; among equals, the later entry wins. */
static void env_pick(const char *entry, const char *chosen[CONFIG_KEY_COUNT],
                     bool chosen_prefixed[CONFIG_KEY_COUNT]) {
    const char *equals = strchr(entry, '=');
    if (equals == NULL) {
        return;
    }
    size_t length = (size_t)(equals - entry);
    static const char prefix[] = "STOA_";
    size_t prefix_length = sizeof(prefix) - 1;
    bool prefixed = length > prefix_length && memcmp(entry, prefix, prefix_length) == 0;
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        const char *key = keys[index].name;
        if (prefixed && env_name_matches(key, entry + prefix_length, length - prefix_length)) {
            chosen[index] = entry;
            chosen_prefixed[index] = true;
        } else if (!chosen_prefixed[index] && env_name_matches(key, entry, length)) {
            chosen[index] = entry;
        }
    }
}

int stoa_config_load_env(struct stoa_config *config, char **envp, struct stoa_config_error *error) {
    STOA_ASSERT(config != NULL && envp != NULL && error != NULL);
    error->message[0] = '\0';
    const char *chosen[CONFIG_KEY_COUNT] = {0};
    bool chosen_prefixed[CONFIG_KEY_COUNT] = {0};
    for (size_t i = 0; envp[i] != NULL; i++) {
        env_pick(envp[i], chosen, chosen_prefixed);
    }
    struct stoa_config staging = *config;
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        if (chosen[index] == NULL) {
            continue;
        }
        const char *equals = strchr(chosen[index], '=');
        char where[STOA_CONFIG_ERROR_BYTES_MAX];
        snprintf(where, sizeof(where), "environment %.*s", (int)(equals - chosen[index]),
                 chosen[index]);
        int result = config_key_set(&staging, index, equals + 1, strlen(equals + 1), where, error);
        if (result != STOA_OK) {
            return result;
        }
    }
    *config = staging;
    return STOA_OK;
}

/* ---- flags ---- */

/* Applies the flag at argv[0] (and its value, argv[1], if it is written apart); *used gets
 * the number of arguments taken. */
static int flag_apply(struct stoa_config *config, int remaining, char **argv, int *used,
                      struct stoa_config_error *error) {
    const char *argument = argv[0];
    STOA_ASSERT(argument != NULL);
    char quoted[CONFIG_QUOTE_BYTES];
    if (strncmp(argument, "--", 2) != 0) {
        config_quote(argument, strlen(argument), quoted);
        return config_fail(error,
                           "argument %s: not a config flag (they look like "
                           "--node.maxPeers=7)",
                           quoted);
    }
    const char *name = argument + 2;
    const char *equals = strchr(name, '=');
    size_t name_length = equals != NULL ? (size_t)(equals - name) : strlen(name);
    char where[STOA_CONFIG_ERROR_BYTES_MAX];
    size_t shown =
        name_length < STOA_CONFIG_KEY_BYTES_MAX ? name_length : STOA_CONFIG_KEY_BYTES_MAX;
    snprintf(where, sizeof(where), "flag --%.*s", (int)shown, name);
    if (memchr(name, '.', name_length) == NULL) {
        return config_fail(error, "%s: unknown flag (config flags look like --node.maxPeers=7)",
                           where);
    }
    size_t index = config_key_find(name, name_length);
    if (index == CONFIG_KEY_COUNT) {
        return config_fail(error, "%s: unknown key", where);
    }
    const char *value = NULL;
    if (equals != NULL) {
        value = equals + 1;
        *used = 1;
    } else if (remaining >= 2 && strncmp(argv[1], "--", 2) != 0) {
        value = argv[1];
        *used = 2;
    } else {
        return config_fail(error, "%s: missing value (write --%.*s=value or --%.*s value)", where,
                           (int)shown, name, (int)shown, name);
    }
    return config_key_set(config, index, value, strlen(value), where, error);
}

int stoa_config_load_flags(struct stoa_config *config, int argc, char **argv,
                           struct stoa_config_error *error) {
    STOA_ASSERT(config != NULL && error != NULL && argc >= 0);
    STOA_ASSERT(argc == 0 || argv != NULL);
    error->message[0] = '\0';
    struct stoa_config staging = *config;
    int at = 0;
    while (at < argc) {
        int used = 0;
        int result = flag_apply(&staging, argc - at, argv + at, &used, error);
        if (result != STOA_OK) {
            return result;
        }
        STOA_ASSERT(used >= 1);
        at += used;
    }
    *config = staging;
    return STOA_OK;
}

/* ---- writing: values, YAML, reference ---- */

/* A text being written into a caller's buffer; overflow says it did not fit. */
struct output {
    char *text;
    size_t capacity;
    size_t length;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void emit(struct output *out, const char *format,
                                                       ...) {
    if (out->overflow) {
        return;
    }
    size_t room = out->capacity - out->length;
    va_list arguments;
    va_start(arguments, format);
    int written = vsnprintf(out->text + out->length, room, format, arguments);
    va_end(arguments);
    if (written < 0 || (size_t)written >= room) {
        out->overflow = true;
        return;
    }
    out->length += (size_t)written;
}

/* Writes text as a YAML double-quoted scalar. */
static void emit_quoted(struct output *out, const char *text, size_t length) {
    emit(out, "\"");
    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)text[i];
        if (byte == '"' || byte == '\\') {
            emit(out, "\\%c", byte);
        } else if (byte < 0x20 || byte == 0x7f) {
            emit(out, "\\x%02x", byte);
        } else {
            emit(out, "%c", byte);
        }
    }
    emit(out, "\"");
}

/* True if value is key's default. */
static bool is_default(const struct stoa_config_key *key, const struct value *value) {
    struct value fallback;
    struct stoa_config_error error;
    memset(&fallback, 0, sizeof(fallback));
    int result = parse_value(key, key->default_text, strlen(key->default_text), key->name,
                             &fallback, &error);
    STOA_ASSERT(result == STOA_OK);
    switch (key->type) {
    case STOA_CONFIG_DOUBLE:
        return value->real == fallback.real;
    case STOA_CONFIG_STRING:
        return value->length == fallback.length &&
               memcmp(value->text, fallback.text, value->length) == 0;
    case STOA_CONFIG_INT:
    case STOA_CONFIG_BOOL:
    case STOA_CONFIG_ENUM:
    case STOA_CONFIG_DURATION:
        break;
    }
    return value->integer == fallback.integer;
}

/* Writes the value of key index in config as text the parser accepts; strings are quoted
 * for YAML if quote_strings. A default is written as the table writes it ("6000s", not
 * "100m"), so the default file reads like the docs. */
static void emit_value(struct output *out, const struct stoa_config *config, size_t index,
                       bool quote_strings) {
    const struct stoa_config_key *key = &keys[index];
    struct value value;
    load(config, (enum config_key_index)index, &value);
    if (key->type != STOA_CONFIG_STRING && is_default(key, &value)) {
        emit(out, "%s", key->default_text);
        return;
    }
    char text[64];
    switch (key->type) {
    case STOA_CONFIG_INT:
        emit(out, "%" PRId64, value.integer);
        return;
    case STOA_CONFIG_DOUBLE:
        format_real(value.real, text, sizeof(text));
        emit(out, "%s", text);
        return;
    case STOA_CONFIG_BOOL:
        emit(out, "%s", value.integer != 0 ? "true" : "false");
        return;
    case STOA_CONFIG_DURATION:
        format_duration(value.integer, text, sizeof(text));
        emit(out, "%s", text);
        return;
    case STOA_CONFIG_ENUM:
        STOA_ASSERT(value.integer >= 0 && (size_t)value.integer < key->word_count);
        emit(out, "%s", key->words[value.integer]);
        return;
    case STOA_CONFIG_STRING:
        break;
    }
    if (quote_strings) {
        emit_quoted(out, value.text, value.length);
    } else {
        emit(out, "%.*s", (int)value.length, value.text);
    }
}

int stoa_config_format_value(const struct stoa_config *config, const char *key, char *text,
                             size_t capacity, size_t *length) {
    STOA_ASSERT(config != NULL && key != NULL && text != NULL);
    size_t index = config_key_find(key, strlen(key));
    if (index == CONFIG_KEY_COUNT) {
        return STOA_ERR_NOT_FOUND;
    }
    char buffer[STOA_CONFIG_VALUE_BYTES_MAX + 1];
    struct output out = {.text = buffer, .capacity = sizeof(buffer)};
    emit_value(&out, config, index, false);
    STOA_ASSERT(!out.overflow);
    if (out.length >= capacity) {
        return STOA_ERR_TOO_LARGE;
    }
    memcpy(text, buffer, out.length + 1);
    if (length != NULL) {
        *length = out.length;
    }
    return STOA_OK;
}

/* Writes text as comment lines at indent, wrapped at spaces to YAML_COMMENT_COLUMNS. */
static void emit_comment(struct output *out, size_t indent, const char *text) {
    size_t width = YAML_COMMENT_COLUMNS - indent - 2;
    const char *rest = text;
    while (*rest != '\0') {
        size_t take = strlen(rest);
        if (take > width) {
            take = width;
            while (take > 0 && rest[take] != ' ') {
                take--;
            }
            take = take == 0 ? width : take;
        }
        emit(out, "%*s# %.*s\n", (int)indent, "", (int)take, rest);
        rest += take;
        while (*rest == ' ') {
            rest++;
        }
    }
}

/* The number of leading sections two dotted names share ("node.storage.a" and
 * "node.storage.b" share 2, "node.maxPeers" and "node.group.migration" share 1). */
static size_t sections_shared(const char *a, const char *b) {
    size_t count = 0;
    for (size_t i = 0; a[i] != '\0' && a[i] == b[i]; i++) {
        count += a[i] == '.' ? 1 : 0;
    }
    return count;
}

/* Writes key index: the headers of the sections it opens, its comment, and its line. */
static void emit_yaml_key(struct output *out, const struct stoa_config *config, size_t index) {
    const struct stoa_config_key *key = &keys[index];
    size_t shared = index == 0 ? 0 : sections_shared(keys[index - 1].name, key->name);
    size_t depth = 0;
    const char *part = key->name;
    bool opened = false;
    for (const char *dot = strchr(part, '.'); dot != NULL; dot = strchr(part, '.')) {
        if (depth >= shared) {
            emit(out, "\n%*s%.*s:\n", (int)(2 * depth), "", (int)(dot - part), part);
            opened = true;
        }
        depth++;
        part = dot + 1;
    }
    char description[256];
    char env_name[STOA_CONFIG_KEY_BYTES_MAX];
    describe(key, description, sizeof(description));
    stoa_config_env_name(key, env_name);
    char allowed[STOA_CONFIG_ERROR_BYTES_MAX];
    char environment[STOA_CONFIG_ERROR_BYTES_MAX];
    snprintf(allowed, sizeof(allowed), "Allowed: %s.", description);
    snprintf(environment, sizeof(environment), "Environment: %s or STOA_%s.", env_name, env_name);
    if (!opened) {
        emit(out, "\n");
    }
    emit_comment(out, 2 * depth, key->doc);
    emit_comment(out, 2 * depth, allowed);
    emit_comment(out, 2 * depth, environment);
    emit(out, "%*s%s: ", (int)(2 * depth), "", part);
    emit_value(out, config, index, true);
    emit(out, "\n");
}

static int output_finish(const struct output *out, size_t *length) {
    if (out->overflow) {
        return STOA_ERR_TOO_LARGE;
    }
    if (length != NULL) {
        *length = out->length;
    }
    return STOA_OK;
}

int stoa_config_write(const struct stoa_config *config, char *text, size_t capacity,
                      size_t *length) {
    STOA_ASSERT(config != NULL && text != NULL && capacity > 0);
    struct output out = {.text = text, .capacity = capacity};
    emit(&out, "# stoa configuration. Every key is listed, with what it does, the values it\n"
               "# accepts and the environment variables that override it. Sources, each\n"
               "# overriding the one before: defaults < this file < environment < flags\n"
               "# (--node.maxPeers=7). A dotted key may also be written on one line:\n"
               "# node.maxPeers: 7. Reference: docs/config.md.\n");
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        emit_yaml_key(&out, config, index);
    }
    return output_finish(&out, length);
}

int stoa_config_write_default(char *text, size_t capacity, size_t *length) {
    struct stoa_config config;
    stoa_config_defaults(&config);
    return stoa_config_write(&config, text, capacity, length);
}

static const char *type_name(enum stoa_config_type type) {
    switch (type) {
    case STOA_CONFIG_INT:
        return "integer";
    case STOA_CONFIG_DOUBLE:
        return "number";
    case STOA_CONFIG_BOOL:
        return "boolean";
    case STOA_CONFIG_STRING:
        return "string";
    case STOA_CONFIG_ENUM:
        return "enum";
    case STOA_CONFIG_DURATION:
        return "duration";
    }
    STOA_UNREACHABLE();
}

int stoa_config_write_reference(char *text, size_t capacity, size_t *length) {
    STOA_ASSERT(text != NULL && capacity > 0);
    struct output out = {.text = text, .capacity = capacity};
    emit(&out, "| key | type | default | allowed | environment | meaning |\n"
               "|---|---|---|---|---|---|\n");
    for (size_t index = 0; index < CONFIG_KEY_COUNT; index++) {
        const struct stoa_config_key *key = &keys[index];
        char description[256];
        char env_name[STOA_CONFIG_KEY_BYTES_MAX];
        describe(key, description, sizeof(description));
        stoa_config_env_name(key, env_name);
        const char *quote = key->type == STOA_CONFIG_STRING ? "\"" : "";
        emit(&out, "| `%s` | %s | `%s%s%s` | %s | `%s` | %s |\n", key->name, type_name(key->type),
             quote, key->default_text, quote, description, env_name, key->doc);
    }
    return output_finish(&out, length);
}
