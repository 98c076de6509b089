#include "util/log.h"

#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/time.h"

/* A bounded writer over a caller's buffer. Once a write does not fit, the writer refuses
 * every later write, so the line is cut at the last whole field. */
struct writer {
    char *buffer;
    size_t capacity;
    size_t length;
    bool full;
};

/* Room kept free for the ,"truncated":true} tail. */
#define TRUNCATED_TAIL ",\"truncated\":true}"
#define TAIL_RESERVE (sizeof(TRUNCATED_TAIL))

static void put_raw(struct writer *writer, const char *text, size_t length) {
    if (writer->full || writer->length + length + TAIL_RESERVE > writer->capacity) {
        writer->full = true;
        return;
    }
    memcpy(writer->buffer + writer->length, text, length);
    writer->length += length;
}

static void put_text(struct writer *writer, const char *text) {
    put_raw(writer, text, strlen(text));
}

/* Appends bytes as the inside of a JSON string: quotes, backslashes and control bytes are
 * escaped; bytes >= 0x80 are passed through (callers log UTF-8 or use BYTES for binary,
 * where they become \u00XX). */
static void put_escaped(struct writer *writer, const char *text, size_t length, bool binary) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < length && !writer->full; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            char pair[2] = {'\\', (char)c};
            put_raw(writer, pair, 2);
        } else if (c == '\n') {
            put_raw(writer, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f || (binary && c >= 0x80)) {
            char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            put_raw(writer, escape, 6);
        } else {
            put_raw(writer, (const char *)&c, 1);
        }
    }
}

static void put_string(struct writer *writer, const char *text, size_t length, bool binary) {
    put_raw(writer, "\"", 1);
    put_escaped(writer, text, length, binary);
    put_raw(writer, "\"", 1);
}

static void put_key(struct writer *writer, const char *key) {
    put_raw(writer, ",", 1);
    put_string(writer, key, strlen(key), false);
    put_raw(writer, ":", 1);
}

static void put_value(struct writer *writer, const struct stoa_log_field *field) {
    char number[32];
    int length = 0;
    switch (field->kind) {
    case STOA_LOG_FIELD_STR: {
        const char *text = field->value.text != NULL ? field->value.text : "";
        put_string(writer, text, strlen(text), false);
        return;
    }
    case STOA_LOG_FIELD_BYTES:
        put_string(writer, field->value.text, field->length, true);
        return;
    case STOA_LOG_FIELD_INT:
        length = snprintf(number, sizeof(number), "%lld", (long long)field->value.integer);
        break;
    case STOA_LOG_FIELD_UINT:
        length = snprintf(number, sizeof(number), "%llu",
                          (unsigned long long)field->value.unsigned_integer);
        break;
    case STOA_LOG_FIELD_DOUBLE:
        length = snprintf(number, sizeof(number), "%.17g", field->value.real);
        break;
    case STOA_LOG_FIELD_BOOL:
        put_text(writer, field->value.boolean ? "true" : "false");
        return;
    case STOA_LOG_FIELD_END:
        STOA_UNREACHABLE();
    }
    STOA_ASSERT(length > 0 && (size_t)length < sizeof(number));
    put_raw(writer, number, (size_t)length);
}

/* Writes one field whole or not at all, so a cut line is still valid JSON. */
static void put_field(struct writer *writer, const struct stoa_log_field *field) {
    size_t mark = writer->length;
    put_key(writer, field->key);
    put_value(writer, field);
    if (writer->full) {
        writer->length = mark;
    }
}

void stoa_log_init(struct stoa_log *log) {
    STOA_ASSERT(log != NULL);
    memset(log, 0, sizeof(*log));
    log->level_min = STOA_LOG_INFO;
}

void stoa_log_set_sink(struct stoa_log *log, stoa_log_sink_fn sink, void *context) {
    STOA_ASSERT(log != NULL);
    log->sink = sink;
    log->sink_context = context;
}

void stoa_log_set_clock(struct stoa_log *log, stoa_log_clock_fn clock, void *context) {
    STOA_ASSERT(log != NULL);
    log->clock = clock;
    log->clock_context = context;
}

void stoa_log_set_node_id(struct stoa_log *log, const char *node_id) {
    STOA_ASSERT(log != NULL && node_id != NULL);
    size_t length = strnlen(node_id, STOA_NODE_ID_BYTES_MAX);
    memcpy(log->node_id, node_id, length);
    log->node_id[length] = '\0';
}

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int stoa_log_level_parse(const char *text, enum stoa_log_level *level) {
    STOA_ASSERT(text != NULL && level != NULL);
    for (int i = STOA_LOG_DEBUG; i <= STOA_LOG_OFF; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (enum stoa_log_level)i;
            return STOA_OK;
        }
    }
    return STOA_ERR_INVALID;
}

const char *stoa_log_level_name(enum stoa_log_level level) {
    STOA_ASSERT(level >= STOA_LOG_DEBUG && level <= STOA_LOG_OFF);
    return level_names[level];
}

bool stoa_log_enabled(const struct stoa_log *log, enum stoa_log_level level) {
    return log != NULL && log->sink != NULL && level < STOA_LOG_OFF && level >= log->level_min;
}

size_t stoa_log_format(const struct stoa_log *log, enum stoa_log_level level, const char *module,
                       const char *message, const struct stoa_log_field *fields, char *buffer,
                       size_t capacity) {
    STOA_ASSERT(log != NULL && module != NULL && message != NULL && buffer != NULL);
    STOA_ASSERT(capacity >= 256);
    STOA_ASSERT(level >= STOA_LOG_DEBUG && level < STOA_LOG_OFF);
    struct writer writer = {.buffer = buffer, .capacity = capacity};
    char timestamp[STOA_TIME_RFC3339_BYTES];
    stoa_time_format_rfc3339(log->clock != NULL ? log->clock(log->clock_context) : 0, timestamp);
    put_text(&writer, "{\"ts\":\"");
    put_text(&writer, timestamp);
    put_text(&writer, "\",\"level\":\"");
    put_text(&writer, level_names[level]);
    put_text(&writer, "\"");
    put_field(&writer, &STOA_FIELD_STR("module", module));
    if (log->node_id[0] != '\0') {
        put_field(&writer, &STOA_FIELD_STR("node", log->node_id));
    }
    put_field(&writer, &STOA_FIELD_STR("msg", message));
    for (size_t i = 0; fields != NULL && fields[i].kind != STOA_LOG_FIELD_END; i++) {
        put_field(&writer, &fields[i]);
    }
    /* The tail always fits: put_raw kept TAIL_RESERVE bytes free. */
    const char *tail = writer.full ? TRUNCATED_TAIL : "}";
    size_t tail_length = strlen(tail);
    STOA_ASSERT(writer.length + tail_length < capacity);
    memcpy(buffer + writer.length, tail, tail_length);
    writer.length += tail_length;
    buffer[writer.length] = '\0';
    return writer.length;
}

void stoa_log_write(const struct stoa_log *log, enum stoa_log_level level, const char *module,
                    const char *message, const struct stoa_log_field *fields) {
    if (!stoa_log_enabled(log, level)) {
        return;
    }
    char line[STOA_LOG_LINE_BYTES_MAX];
    size_t length = stoa_log_format(log, level, module, message, fields, line, sizeof(line));
    log->sink(log->sink_context, line, length);
}
