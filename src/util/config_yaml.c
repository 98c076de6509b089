/*
 * The YAML file reader of the config module: stoa_config_load_file.
 *
 * libyaml turns the file into a stream of events (mapping start, scalar, mapping end, ...).
 * The open mappings form a stack of dotted prefixes, so nesting needs no recursion: a
 * scalar key inside "node:" and "storage:" is read as "node.storage.<key>". Every value
 * goes into a staging copy of the caller's config, which replaces the caller's only when
 * the whole file has been read without error.
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "util/assert.h"
#include "util/config.h"
#include "util/config_int.h"
#include "util/err.h"

/* Sections a file can open. Each is the part of a key's name before one of its dots, and a
 * key has fewer than STOA_CONFIG_DEPTH_MAX parts (a test checks), so this many suffice. */
#define SECTION_COUNT_MAX (CONFIG_KEY_COUNT * STOA_CONFIG_DEPTH_MAX)

struct section {
    size_t key_index; /* a key whose name starts with the section's name and a dot */
    size_t length;    /* bytes of that key's name that are the section's name */
    size_t line;      /* where the file opened the section */
};

struct file_reader {
    const char *file_name;
    struct stoa_config staging; /* the caller's config with the file applied so far */
    struct stoa_config_error *error;
    size_t key_lines[CONFIG_KEY_COUNT]; /* line where the file set each key; 0 = not set */
    struct section sections[SECTION_COUNT_MAX];
    size_t section_count;
    char key[STOA_CONFIG_KEY_BYTES_MAX + 1]; /* dotted name of the key being read */
    size_t key_length;
    size_t key_line;
    bool have_key; /* the innermost mapping has read a key and waits for its value */
    /* For each open mapping, the length of the prefix its keys are appended to. */
    size_t prefix_lengths[STOA_CONFIG_DEPTH_MAX];
    size_t depth; /* open mappings, the top-level one included */
    size_t document_count;
};

static size_t line_of(const yaml_event_t *event) {
    return event->start_mark.line + 1;
}

static int key_fail(struct file_reader *reader, size_t line, const char *problem) {
    return config_fail(reader->error, "%s:%zu: %.*s: %s", reader->file_name, line,
                       (int)reader->key_length, reader->key, problem);
}

/* A plain scalar that YAML reads as null: nothing, "~" or "null". */
static bool is_null(const yaml_event_t *event) {
    if (event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *text = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        if (strlen(nulls[i]) == length && memcmp(text, nulls[i], length) == 0) {
            return true;
        }
    }
    return false;
}

/* Records that the file opened the section named by the current key; a section opened twice
 * is a duplicate key. */
static int section_open(struct file_reader *reader) {
    size_t key_index = config_section_find(reader->key, reader->key_length);
    STOA_ASSERT(key_index < CONFIG_KEY_COUNT);
    for (size_t i = 0; i < reader->section_count; i++) {
        const struct section *section = &reader->sections[i];
        const char *name = stoa_config_key_at(section->key_index)->name;
        if (section->length == reader->key_length &&
            memcmp(name, reader->key, reader->key_length) == 0) {
            char problem[64];
            snprintf(problem, sizeof(problem), "duplicate key (first at line %zu)", section->line);
            return key_fail(reader, reader->key_line, problem);
        }
    }
    STOA_ASSERT(reader->section_count < SECTION_COUNT_MAX);
    reader->sections[reader->section_count++] = (struct section){
        .key_index = key_index, .length = reader->key_length, .line = reader->key_line};
    return STOA_OK;
}

/* The current key's value is a sequence or a mapping (what), where a single value or a
 * mapping of keys was expected. */
static int value_unexpected(struct file_reader *reader, size_t line, const char *what) {
    char problem[128];
    if (config_key_find(reader->key, reader->key_length) < CONFIG_KEY_COUNT) {
        snprintf(problem, sizeof(problem), "expected a single value, got %s", what);
        return key_fail(reader, line, problem);
    }
    if (config_section_find(reader->key, reader->key_length) < CONFIG_KEY_COUNT) {
        snprintf(problem, sizeof(problem), "expected a mapping of its keys, got %s", what);
        return key_fail(reader, line, problem);
    }
    return key_fail(reader, reader->key_line, "unknown key");
}

static int on_mapping_start(struct file_reader *reader, const yaml_event_t *event) {
    if (reader->depth == 0) {
        reader->prefix_lengths[0] = 0;
        reader->depth = 1;
        reader->have_key = false;
        return STOA_OK;
    }
    if (!reader->have_key) {
        return config_fail(reader->error, "%s:%zu: expected a key, got a mapping",
                           reader->file_name, line_of(event));
    }
    bool is_section = config_section_find(reader->key, reader->key_length) < CONFIG_KEY_COUNT;
    if (!is_section) {
        return value_unexpected(reader, line_of(event), "a mapping");
    }
    if (reader->depth == STOA_CONFIG_DEPTH_MAX) {
        return key_fail(reader, reader->key_line, "nested too deeply");
    }
    int result = section_open(reader);
    if (result != STOA_OK) {
        return result;
    }
    reader->prefix_lengths[reader->depth] = reader->key_length;
    reader->depth++;
    reader->have_key = false;
    return STOA_OK;
}

static int on_sequence_start(struct file_reader *reader, const yaml_event_t *event) {
    if (reader->depth == 0) {
        return config_fail(reader->error, "%s:%zu: expected a mapping of keys, got a sequence",
                           reader->file_name, line_of(event));
    }
    if (!reader->have_key) {
        return config_fail(reader->error, "%s:%zu: expected a key, got a sequence",
                           reader->file_name, line_of(event));
    }
    return value_unexpected(reader, line_of(event), "a sequence");
}

/* A scalar in key position: the current key becomes the open mappings' prefix, a dot, and
 * the scalar (which may itself hold dots). */
static int on_key(struct file_reader *reader, const yaml_event_t *event) {
    const char *text = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    size_t start = reader->prefix_lengths[reader->depth - 1];
    size_t separator = start > 0 ? 1 : 0;
    char quoted[CONFIG_QUOTE_BYTES];
    for (size_t i = 0; i < length; i++) {
        if ((unsigned char)text[i] < 0x20) {
            config_quote(text, length, quoted);
            return config_fail(reader->error, "%s:%zu: unknown key %s", reader->file_name,
                               line_of(event), quoted);
        }
    }
    if (start + separator + length > STOA_CONFIG_KEY_BYTES_MAX) {
        config_quote(text, length, quoted);
        return config_fail(reader->error, "%s:%zu: unknown key %s (longer than any key)",
                           reader->file_name, line_of(event), quoted);
    }
    if (separator == 1) {
        reader->key[start] = '.';
    }
    memcpy(reader->key + start + separator, text, length);
    reader->key_length = start + separator + length;
    reader->key[reader->key_length] = '\0';
    reader->key_line = line_of(event);
    reader->have_key = true;
    return STOA_OK;
}

/* A scalar value whose key is not a key: a section left empty (every key under it commented
 * out) is fine; anything else is an error. */
static int on_section_value(struct file_reader *reader, const yaml_event_t *event) {
    if (config_section_find(reader->key, reader->key_length) == CONFIG_KEY_COUNT) {
        return key_fail(reader, reader->key_line, "unknown key");
    }
    if (is_null(event)) {
        return section_open(reader);
    }
    char quoted[CONFIG_QUOTE_BYTES];
    char problem[CONFIG_QUOTE_BYTES + 64];
    config_quote((const char *)event->data.scalar.value, event->data.scalar.length, quoted);
    snprintf(problem, sizeof(problem), "expected a mapping of its keys, got %s", quoted);
    return key_fail(reader, line_of(event), problem);
}

static int on_value(struct file_reader *reader, const yaml_event_t *event) {
    size_t index = config_key_find(reader->key, reader->key_length);
    if (index == CONFIG_KEY_COUNT) {
        return on_section_value(reader, event);
    }
    if (reader->key_lines[index] != 0) {
        char problem[64];
        snprintf(problem, sizeof(problem), "duplicate key (first at line %zu)",
                 reader->key_lines[index]);
        return key_fail(reader, reader->key_line, problem);
    }
    const char *text = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    if (stoa_config_key_at(index)->type == STOA_CONFIG_STRING && is_null(event)) {
        length = 0;
    }
    char where[STOA_CONFIG_ERROR_BYTES_MAX];
    snprintf(where, sizeof(where), "%s:%zu: %.*s", reader->file_name, line_of(event),
             (int)reader->key_length, reader->key);
    int result = config_key_set(&reader->staging, index, text, length, where, reader->error);
    if (result != STOA_OK) {
        return result;
    }
    reader->key_lines[index] = reader->key_line;
    return STOA_OK;
}

static int on_scalar(struct file_reader *reader, const yaml_event_t *event) {
    if (reader->depth == 0) {
        /* A document that is only "---" or "~" is empty: nothing to apply. */
        if (is_null(event)) {
            return STOA_OK;
        }
        char quoted[CONFIG_QUOTE_BYTES];
        config_quote((const char *)event->data.scalar.value, event->data.scalar.length, quoted);
        return config_fail(reader->error, "%s:%zu: expected a mapping of keys, got %s",
                           reader->file_name, line_of(event), quoted);
    }
    if (!reader->have_key) {
        return on_key(reader, event);
    }
    reader->have_key = false;
    return on_value(reader, event);
}

static int on_event(struct file_reader *reader, const yaml_event_t *event) {
    switch (event->type) {
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_SEQUENCE_END_EVENT: /* never reached: a sequence start is already an error */
        return STOA_OK;
    case YAML_DOCUMENT_START_EVENT:
        reader->document_count++;
        if (reader->document_count > 1) {
            return config_fail(reader->error, "%s:%zu: more than one YAML document",
                               reader->file_name, line_of(event));
        }
        return STOA_OK;
    case YAML_ALIAS_EVENT:
        return config_fail(reader->error, "%s:%zu: YAML aliases (*name) are not supported",
                           reader->file_name, line_of(event));
    case YAML_SCALAR_EVENT:
        return on_scalar(reader, event);
    case YAML_SEQUENCE_START_EVENT:
        return on_sequence_start(reader, event);
    case YAML_MAPPING_START_EVENT:
        return on_mapping_start(reader, event);
    case YAML_MAPPING_END_EVENT:
        STOA_ASSERT(reader->depth > 0);
        reader->depth--;
        reader->have_key = false;
        return STOA_OK;
    }
    return STOA_OK;
}

static int syntax_error(struct file_reader *reader, const yaml_parser_t *parser) {
    const char *problem = parser->problem != NULL ? parser->problem : "unknown problem";
    if (parser->error == YAML_MEMORY_ERROR) {
        snprintf(reader->error->message, sizeof(reader->error->message),
                 "%s: out of memory while reading YAML", reader->file_name);
        return STOA_ERR_NOMEM;
    }
    if (parser->error == YAML_READER_ERROR) {
        return config_fail(reader->error, "%s: YAML syntax error at byte %zu: %s",
                           reader->file_name, parser->problem_offset, problem);
    }
    size_t line = parser->problem_mark.line + 1;
    size_t column = parser->problem_mark.column + 1;
    if (parser->context == NULL) {
        return config_fail(reader->error, "%s:%zu: YAML syntax error at column %zu: %s",
                           reader->file_name, line, column, problem);
    }
    return config_fail(
        reader->error, "%s:%zu: YAML syntax error at column %zu: %s (%s that starts at line %zu)",
        reader->file_name, line, column, problem, parser->context, parser->context_mark.line + 1);
}

static int read_events(struct file_reader *reader, yaml_parser_t *parser, size_t length) {
    /* libyaml makes at most a few events per byte of input; the bound only guards against a
     * parser that would never reach the end of the stream. */
    size_t events_max = 4 * length + 16;
    for (size_t count = 0; count < events_max; count++) {
        yaml_event_t event;
        if (!yaml_parser_parse(parser, &event)) {
            return syntax_error(reader, parser);
        }
        bool end = event.type == YAML_STREAM_END_EVENT;
        int result = on_event(reader, &event);
        yaml_event_delete(&event);
        if (result != STOA_OK) {
            return result;
        }
        if (end) {
            return STOA_OK;
        }
    }
    return config_fail(reader->error, "%s: the YAML parser did not reach the end of the file",
                       reader->file_name);
}

int stoa_config_load_file(struct stoa_config *config, const char *file_name, const char *text,
                          size_t length, struct stoa_config_error *error) {
    STOA_ASSERT(config != NULL && file_name != NULL && error != NULL);
    STOA_ASSERT(text != NULL || length == 0);
    error->message[0] = '\0';
    if (length > STOA_CONFIG_FILE_BYTES_MAX) {
        return config_fail(error, "%s: the file is %zu bytes, more than the limit of %d bytes",
                           file_name, length, STOA_CONFIG_FILE_BYTES_MAX);
    }
    /* About 20 KiB; config is loaded once at start-up, on the main thread's stack. */
    struct file_reader reader;
    memset(&reader, 0, sizeof(reader));
    reader.file_name = file_name;
    reader.staging = *config;
    reader.error = error;
    yaml_parser_t parser;
    if (yaml_parser_initialize(&parser) == 0) {
        snprintf(error->message, sizeof(error->message), "%s: out of memory while reading YAML",
                 file_name);
        return STOA_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text != NULL ? text : ""),
                                 length);
    int result = read_events(&reader, &parser, length);
    yaml_parser_delete(&parser);
    if (result == STOA_OK) {
        *config = reader.staging;
    }
    return result;
}
