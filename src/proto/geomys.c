/* The Geomys protocol: framing, decoding, translation to argv, and the response writer. */
#include "proto/geomys.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>
#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE */

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* msgpack-c's decoder keeps open containers on a fixed stack of MSGPACK_EMBED_STACK_SIZE
 * entries and fails with "out of memory" past it. A request of at most this many objects
 * cannot open that many containers (each open one holds at least one more object), so a
 * failure of the decoder on a framed request is a real allocation failure. */
_Static_assert(STOA_GEOMYS_REQUEST_OBJECTS_MAX <= MSGPACK_EMBED_STACK_SIZE,
               "a framed request never overflows msgpack-c's container stack");

/* ---- framing ---- */

/* One object's header: its bytes before the payload, the payload's bytes (strings, binary,
 * extensions) and the objects it contains (2 per map entry). */
struct header {
    size_t head;
    uint64_t payload;
    uint64_t children;
};

static uint64_t read_big_endian(const uint8_t *data, size_t length) {
    uint64_t value = 0;
    for (size_t i = 0; i < length; i++) {
        value = value << 8 | data[i];
    }
    return value;
}

/* The size of the header that starts with byte, or 0 for the reserved byte 0xc1. */
static size_t head_size(uint8_t byte) {
    /* 0xc0 .. 0xdf: nil, (reserved), false, true, bin 8/16/32, ext 8/16/32, float 32/64,
     * uint 8/16/32/64, int 8/16/32/64, fixext 1/2/4/8/16, str 8/16/32, array 16/32,
     * map 16/32. */
    static const uint8_t sizes[32] = {1, 0, 1, 1, 2, 3, 5, 3, 4, 6, 5, 9, 2, 3, 5, 9,
                                      2, 3, 5, 9, 2, 2, 2, 2, 2, 2, 3, 5, 3, 5, 3, 5};
    if (byte < 0xc0 || byte >= 0xe0) {
        return 1; /* fixint, fixmap, fixarray, fixstr, negative fixint */
    }
    return sizes[byte - 0xc0];
}

/* Reads the header at data (head bytes, all present). */
static void header_read(const uint8_t *data, size_t head, struct header *header) {
    uint8_t byte = data[0];
    *header = (struct header){.head = head};
    if (byte >= 0x80 && byte <= 0x8f) {
        header->children = 2u * (byte & 0x0fu);
    } else if (byte >= 0x90 && byte <= 0x9f) {
        header->children = byte & 0x0fu;
    } else if (byte >= 0xa0 && byte <= 0xbf) {
        header->payload = byte & 0x1fu;
    } else if ((byte >= 0xc4 && byte <= 0xc6) || (byte >= 0xd9 && byte <= 0xdb)) {
        header->payload = read_big_endian(data + 1, head - 1); /* bin, str */
    } else if (byte >= 0xc7 && byte <= 0xc9) {
        header->payload = read_big_endian(data + 1, head - 2); /* ext: length, then type */
    } else if (byte >= 0xd4 && byte <= 0xd8) {
        header->payload = 1u << (byte - 0xd4); /* fixext: type byte, then 1 .. 16 bytes */
    } else if (byte == 0xdc || byte == 0xdd) {
        header->children = read_big_endian(data + 1, head - 1);
    } else if (byte == 0xde || byte == 0xdf) {
        header->children = 2 * read_big_endian(data + 1, head - 1);
    }
}

static bool starts_map(uint8_t byte) {
    return (byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf;
}

/* Walks one more object of the frame, if its header and payload are there. */
static int scan_object(struct stoa_geomys_scanner *scanner, const uint8_t *data, size_t length,
                       const char **error) {
    size_t at = scanner->scanned;
    if (at >= length) {
        return STOA_ERR_AGAIN;
    }
    size_t head = head_size(data[at]);
    if (head == 0) {
        *error = "malformed MessagePack: reserved byte 0xc1";
        return STOA_ERR_MALFORMED;
    }
    if (length - at < head) {
        return STOA_ERR_AGAIN;
    }
    struct header header;
    header_read(data + at, head, &header);
    /* Every object still announced will need at least one more byte and one slot. */
    if (header.children > STOA_GEOMYS_REQUEST_OBJECTS_MAX ||
        scanner->objects + scanner->pending + header.children > STOA_GEOMYS_REQUEST_OBJECTS_MAX) {
        *error = "request has too many MessagePack objects";
        return STOA_ERR_MALFORMED;
    }
    if (header.payload > STOA_GEOMYS_REQUEST_BYTES_MAX ||
        head + header.payload > STOA_GEOMYS_REQUEST_BYTES_MAX - at) {
        *error = "request too large";
        return STOA_ERR_MALFORMED;
    }
    size_t end = at + head + (size_t)header.payload;
    if (end > length) {
        return STOA_ERR_AGAIN;
    }
    scanner->scanned = end;
    scanner->pending = scanner->pending - 1 + header.children;
    scanner->objects++;
    return STOA_OK;
}

int stoa_geomys_scan(struct stoa_geomys_scanner *scanner, const uint8_t *data, size_t length,
                     size_t *frame_length, const char **error) {
    STOA_ASSERT(scanner != NULL && frame_length != NULL && error != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (scanner->scanned == 0) {
        if (length == 0) {
            return STOA_ERR_AGAIN;
        }
        if (!starts_map(data[0])) {
            *error = "a request must be a MessagePack map";
            return STOA_ERR_MALFORMED;
        }
        scanner->pending = 1;
        scanner->objects = 0;
    }
    STOA_ASSERT(scanner->scanned <= length);
    /* Each pass reads one object or returns, and a frame has a bounded number of objects. */
    while (scanner->pending > 0) {
        int result = scan_object(scanner, data, length, error);
        if (result != STOA_OK) {
            return result;
        }
    }
    *frame_length = scanner->scanned;
    *scanner = (struct stoa_geomys_scanner){0};
    return STOA_OK;
}

/* ---- decoding ---- */

int stoa_geomys_decoder_init(struct stoa_geomys_decoder *decoder) {
    STOA_ASSERT(decoder != NULL);
    msgpack_zone *zone = stoa_alloc(sizeof(*zone));
    if (zone == NULL) {
        return STOA_ERR_NOMEM;
    }
    if (!msgpack_zone_init(zone, STOA_GEOMYS_ZONE_CHUNK_BYTES)) {
        stoa_free(zone);
        return STOA_ERR_NOMEM;
    }
    decoder->zone = zone;
    return STOA_OK;
}

void stoa_geomys_decoder_free(struct stoa_geomys_decoder *decoder) {
    STOA_ASSERT(decoder != NULL);
    if (decoder->zone != NULL) {
        msgpack_zone_destroy(decoder->zone);
        stoa_free(decoder->zone);
        decoder->zone = NULL;
    }
}

/* The request's fields: name, bit, where a byte-string field is kept, and what a wrong type
 * is told. */
struct field_spec {
    const char *name;
    uint32_t bit;
    size_t offset; /* of its struct stoa_command_argument in the request (not for exp) */
    const char *wrong_type;
};

#define FIELD(name_, bit_, member_, wrong_type_)                                                   \
    { name_, STOA_GEOMYS_FIELD_##bit_, offsetof(struct stoa_geomys_request, member_), wrong_type_ }

static const struct field_spec fields[] = {
    FIELD("command", COMMAND, command, "field 'command' must be a string"),
    FIELD("key", KEY, key, "field 'key' must be a string"),
    FIELD("value", VALUE, value, "field 'value' must be a string"),
    FIELD("message", MESSAGE, message, "field 'message' must be a string"),
    FIELD("offset", OFFSET, offset, "field 'offset' must be a string or an integer"),
    FIELD("exp", EXP, exp_ms, "field 'exp' must be an integer (milliseconds)"),
    FIELD("password", PASSWORD, password, "field 'password' must be a string"),
};

#undef FIELD

static void field_set(struct stoa_geomys_request *request, const struct field_spec *spec,
                      struct stoa_command_argument argument) {
    STOA_ASSERT(spec->bit != STOA_GEOMYS_FIELD_EXP);
    memcpy((uint8_t *)request + spec->offset, &argument, sizeof(argument));
}

/* The byte-string field with this bit (present, checked by the caller). */
static struct stoa_command_argument field_get(const struct stoa_geomys_request *request,
                                              uint32_t bit) {
    struct stoa_command_argument argument = {0};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].bit == bit) {
            STOA_ASSERT(bit != STOA_GEOMYS_FIELD_EXP);
            memcpy(&argument, (const uint8_t *)request + fields[i].offset, sizeof(argument));
        }
    }
    return argument;
}

/* Reads an integer object into *value; false if it is not one or is above INT64_MAX. */
static bool integer_of(const msgpack_object *object, int64_t *value) {
    if (object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *value = object->via.i64;
        return true;
    }
    if (object->type == MSGPACK_OBJECT_POSITIVE_INTEGER && object->via.u64 <= INT64_MAX) {
        *value = (int64_t)object->via.u64;
        return true;
    }
    return false;
}

/* Stores one known field's value; false if its type is wrong. */
static bool store_field(struct stoa_geomys_request *request, const struct field_spec *spec,
                        const msgpack_object *value) {
    int64_t number = 0;
    if (spec->bit == STOA_GEOMYS_FIELD_EXP) {
        if (!integer_of(value, &number)) {
            return false;
        }
        request->exp_ms = number;
    } else if (value->type == MSGPACK_OBJECT_STR || value->type == MSGPACK_OBJECT_BIN) {
        /* str and bin have the same layout in msgpack-c. */
        field_set(request, spec,
                  (struct stoa_command_argument){(const uint8_t *)value->via.str.ptr,
                                                 value->via.str.size});
    } else if (spec->bit == STOA_GEOMYS_FIELD_OFFSET && integer_of(value, &number)) {
        int length =
            snprintf(request->offset_text, sizeof(request->offset_text), "%lld", (long long)number);
        STOA_ASSERT(length > 0 && (size_t)length < sizeof(request->offset_text));
        field_set(
            request, spec,
            (struct stoa_command_argument){(const uint8_t *)request->offset_text, (size_t)length});
    } else {
        return false;
    }
    request->fields |= spec->bit;
    return true;
}

/* Takes one map entry: a known field is stored (a later duplicate wins), others ignored. */
static int take_entry(struct stoa_geomys_request *request, const msgpack_object_kv *entry,
                      const char **error) {
    if (entry->key.type != MSGPACK_OBJECT_STR && entry->key.type != MSGPACK_OBJECT_BIN) {
        *error = "a field name must be a string";
        return STOA_ERR_INVALID;
    }
    if (entry->val.type == MSGPACK_OBJECT_NIL) {
        return STOA_OK; /* nil is an absent field */
    }
    const char *name = entry->key.via.str.ptr;
    size_t name_length = entry->key.via.str.size;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct field_spec *spec = &fields[i];
        if (strlen(spec->name) != name_length || memcmp(spec->name, name, name_length) != 0) {
            continue;
        }
        if (!store_field(request, spec, &entry->val)) {
            *error = spec->wrong_type;
            return STOA_ERR_INVALID;
        }
        return STOA_OK;
    }
    return STOA_OK;
}

int stoa_geomys_decode(struct stoa_geomys_decoder *decoder, const uint8_t *frame, size_t length,
                       struct stoa_geomys_request *request, const char **error) {
    STOA_ASSERT(decoder != NULL && decoder->zone != NULL && frame != NULL && length > 0);
    STOA_ASSERT(request != NULL && error != NULL);
    msgpack_object root;
    size_t offset = 0;
    msgpack_unpack_return unpacked =
        msgpack_unpack((const char *)frame, length, &offset, decoder->zone, &root);
    int result = STOA_OK;
    if (unpacked == MSGPACK_UNPACK_NOMEM_ERROR) {
        result = STOA_ERR_NOMEM;
    } else if (unpacked != MSGPACK_UNPACK_SUCCESS || offset != length ||
               root.type != MSGPACK_OBJECT_MAP) {
        /* The scanner framed exactly one map, so this is a disagreement with msgpack-c. */
        *error = "request could not be decoded";
        result = STOA_ERR_INVALID;
    }
    if (result == STOA_OK) {
        memset(request, 0, sizeof(*request));
        for (uint32_t i = 0; i < root.via.map.size && result == STOA_OK; i++) {
            result = take_entry(request, &root.via.map.ptr[i], error);
        }
    }
    /* The request borrows the frame's bytes, never the arena's. */
    msgpack_zone_clear(decoder->zone);
    return result;
}

/* ---- translating ---- */

/* A Geomys command: its name, the core's name, the fields it needs in argv order, and what
 * a missing field and a NOT_FOUND response say. */
struct command_spec {
    const char *name;
    const char *core_name;
    uint32_t needs[2];
    const char *missing;
    const char *not_found;
};

static const struct command_spec commands[] = {
    {"PING", "PING", {0, 0}, NULL, NULL},
    {"ECHO", "ECHO", {STOA_GEOMYS_FIELD_MESSAGE, 0}, "ECHO requires a 'message' field", NULL},
    {"SET",
     "SET",
     {STOA_GEOMYS_FIELD_KEY, STOA_GEOMYS_FIELD_VALUE},
     "SET requires 'key', 'value' fields",
     NULL},
    {"GET",
     "GET",
     {STOA_GEOMYS_FIELD_KEY, 0},
     "GET requires a 'key' field",
     "Get failed: key not found"},
    {"INCR", "INCR", {STOA_GEOMYS_FIELD_KEY, 0}, "INCR requires a 'key' field", NULL},
    {"PUSH",
     "PUSH",
     {STOA_GEOMYS_FIELD_KEY, STOA_GEOMYS_FIELD_VALUE},
     "PUSH requires 'key', 'value' fields",
     NULL},
    {"LPOP",
     "LPOP",
     {STOA_GEOMYS_FIELD_KEY, 0},
     "LPOP requires a 'key' field",
     "Lpop failed: list does not exist"},
    {"RPOP",
     "RPOP",
     {STOA_GEOMYS_FIELD_KEY, 0},
     "RPOP requires a 'key' field",
     "Rpop failed: list does not exist"},
    {"FLUSHDB", "FLUSHDB", {0, 0}, NULL, NULL},
};

static bool same_word(const struct stoa_command_argument *word, const char *upper) {
    size_t length = strlen(upper);
    if (word->length != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = word->data[i];
        if (byte >= 'a' && byte <= 'z') {
            byte = (uint8_t)(byte - 'a' + 'A');
        }
        if (byte != (uint8_t)upper[i]) {
            return false;
        }
    }
    return true;
}

/* "unknown command '<name>'", the name cut and its unprintable bytes shown as '?', so the
 * text is always valid UTF-8. */
static void unknown_command(const struct stoa_command_argument *name,
                            struct stoa_geomys_command *command) {
    char quoted[STOA_GEOMYS_COMMAND_QUOTE_BYTES_MAX + 1];
    size_t length = name->length < STOA_GEOMYS_COMMAND_QUOTE_BYTES_MAX
                        ? name->length
                        : STOA_GEOMYS_COMMAND_QUOTE_BYTES_MAX;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = name->data[i];
        quoted[i] = byte >= 0x20 && byte < 0x7f ? (char)byte : '?';
    }
    quoted[length] = '\0';
    snprintf(command->error, sizeof(command->error), "unknown command '%s'", quoted);
}

static void push_word(struct stoa_geomys_command *command, const void *data, size_t length) {
    STOA_ASSERT(command->argc < STOA_GEOMYS_ARGUMENTS_MAX);
    command->argv[command->argc++] = (struct stoa_command_argument){data, length};
}

static void push_text(struct stoa_geomys_command *command, const char *text) {
    push_word(command, text, strlen(text));
}

/* Geomys's optional parts: SET's exp (only a positive one counts, as in Geomys) and INCR's
 * offset (INCRBY; without one, INCR by 1). */
static void add_options(const struct stoa_geomys_request *request,
                        struct stoa_geomys_command *command) {
    if (same_word(&command->argv[0], "SET") && (request->fields & STOA_GEOMYS_FIELD_EXP) != 0 &&
        request->exp_ms > 0) {
        int length =
            snprintf(command->number, sizeof(command->number), "%lld", (long long)request->exp_ms);
        STOA_ASSERT(length > 0 && (size_t)length < sizeof(command->number));
        push_text(command, "PX");
        push_word(command, command->number, (size_t)length);
    }
    if (same_word(&command->argv[0], "INCR") && (request->fields & STOA_GEOMYS_FIELD_OFFSET) != 0) {
        command->argv[0] = (struct stoa_command_argument){(const uint8_t *)"INCRBY", 6};
        push_word(command, request->offset.data, request->offset.length);
    }
}

int stoa_geomys_request_command(const struct stoa_geomys_request *request,
                                struct stoa_geomys_command *command) {
    STOA_ASSERT(request != NULL && command != NULL);
    memset(command, 0, sizeof(*command));
    if ((request->fields & STOA_GEOMYS_FIELD_COMMAND) == 0) {
        snprintf(command->error, sizeof(command->error), "invalid or missing 'command' field");
        return STOA_ERR_INVALID;
    }
    const struct command_spec *spec = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && spec == NULL; i++) {
        if (same_word(&request->command, commands[i].name)) {
            spec = &commands[i];
        }
    }
    if (spec == NULL) {
        unknown_command(&request->command, command);
        return STOA_ERR_INVALID;
    }
    push_text(command, spec->core_name);
    for (size_t i = 0; i < 2 && spec->needs[i] != 0; i++) {
        if ((request->fields & spec->needs[i]) == 0) {
            snprintf(command->error, sizeof(command->error), "%s", spec->missing);
            command->argc = 0;
            return STOA_ERR_INVALID;
        }
        struct stoa_command_argument field = field_get(request, spec->needs[i]);
        push_word(command, field.data, field.length);
    }
    add_options(request, command);
    command->not_found = spec->not_found;
    return STOA_OK;
}

/* ---- responses ---- */

/* A response's bytes besides its text or value: the map header, "status" and the longest
 * status, the field name, and a string or integer header. */
#define RESPONSE_OVERHEAD_BYTES 64
/* One array element's header. */
#define ELEMENT_OVERHEAD_BYTES 16

static const char *const status_texts[] = {"OK", "ERROR", "NOT_FOUND"};

static int buf_sink(void *data, const char *bytes, size_t length) {
    if (length == 0) {
        return 0;
    }
    return stoa_buf_append(data, bytes, length) == STOA_OK ? 0 : -1;
}

/* Makes room for extra bytes, so that what follows is written whole; false (and the sticky
 * error) if the buffer refuses. */
static bool room(struct stoa_geomys_writer *writer, size_t extra) {
    if (writer->error != STOA_OK) {
        return false;
    }
    int result = stoa_buf_reserve(writer->buf, extra);
    if (result != STOA_OK) {
        writer->error = result;
        return false;
    }
    return true;
}

static void pack_text(msgpack_packer *packer, const char *text, size_t length) {
    msgpack_pack_str(packer, length);
    msgpack_pack_str_body(packer, text, length);
}

/* Bytes as str when they are UTF-8 (what every client decodes as text), else as bin. */
static void pack_bytes(msgpack_packer *packer, const uint8_t *data, size_t length) {
    if (stoa_geomys_utf8_valid(data, length)) {
        pack_text(packer, (const char *)data, length);
    } else {
        msgpack_pack_bin(packer, length);
        msgpack_pack_bin_body(packer, data, length);
    }
}

/* Starts a response: {status: <status>[, field: ...]}; the caller packs the field's value. */
static void begin(struct stoa_geomys_writer *writer, msgpack_packer *packer,
                  enum stoa_geomys_status status, const char *field) {
    msgpack_packer_init(packer, writer->buf, buf_sink);
    msgpack_pack_map(packer, field != NULL ? 2 : 1);
    pack_text(packer, "status", 6);
    pack_text(packer, status_texts[status], strlen(status_texts[status]));
    if (field != NULL) {
        pack_text(packer, field, strlen(field));
    }
}

/* Inside an array reply: true (and the element is counted) if the next value is an element,
 * packed bare; false if it is a whole response. */
static bool element(struct stoa_geomys_writer *writer, msgpack_packer *packer, size_t bytes) {
    if (writer->pending == 0) {
        return false;
    }
    writer->pending--;
    if (room(writer, ELEMENT_OVERHEAD_BYTES + bytes)) {
        msgpack_packer_init(packer, writer->buf, buf_sink);
    } else {
        packer->callback = NULL; /* nothing more is written */
    }
    return true;
}

void stoa_geomys_write_message(struct stoa_geomys_writer *writer, enum stoa_geomys_status status,
                               const uint8_t *data, size_t length) {
    STOA_ASSERT(writer != NULL && (data != NULL || length == 0));
    STOA_ASSERT(status <= STOA_GEOMYS_STATUS_NOT_FOUND);
    if (!room(writer, RESPONSE_OVERHEAD_BYTES + length)) {
        return;
    }
    msgpack_packer packer;
    begin(writer, &packer, status, data != NULL ? "message" : NULL);
    if (data != NULL) {
        pack_bytes(&packer, data, length);
    }
}

static const char *without_err(const char *text) {
    return strncmp(text, "ERR ", 4) == 0 ? text + 4 : text;
}

void stoa_geomys_write_error(struct stoa_geomys_writer *writer, const char *text) {
    STOA_ASSERT(text != NULL);
    const char *message = without_err(text);
    stoa_geomys_write_message(writer, STOA_GEOMYS_STATUS_ERROR, (const uint8_t *)message,
                              strlen(message));
}

static void reply_status(struct stoa_reply *reply, const char *text) {
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    size_t length = strlen(text);
    if (element(writer, &packer, length)) {
        if (packer.callback != NULL) {
            pack_bytes(&packer, (const uint8_t *)text, length);
        }
        return;
    }
    bool ok = strcmp(text, "OK") == 0;
    stoa_geomys_write_message(writer, STOA_GEOMYS_STATUS_OK, ok ? NULL : (const uint8_t *)text,
                              ok ? 0 : length);
}

static void reply_error(struct stoa_reply *reply, int code, const char *text) {
    (void)code;
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    const char *message = without_err(text);
    size_t length = strlen(message);
    if (element(writer, &packer, length)) {
        if (packer.callback != NULL) {
            pack_bytes(&packer, (const uint8_t *)message, length);
        }
        return;
    }
    stoa_geomys_write_error(writer, text);
}

static void reply_integer(struct stoa_reply *reply, int64_t value) {
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    if (element(writer, &packer, 0)) {
        if (packer.callback != NULL) {
            msgpack_pack_int64(&packer, value);
        }
        return;
    }
    if (room(writer, RESPONSE_OVERHEAD_BYTES)) {
        begin(writer, &packer, STOA_GEOMYS_STATUS_OK, "value");
        msgpack_pack_int64(&packer, value);
    }
}

static void reply_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    if (element(writer, &packer, length)) {
        if (packer.callback != NULL) {
            pack_bytes(&packer, data, length);
        }
        return;
    }
    if (room(writer, RESPONSE_OVERHEAD_BYTES + length)) {
        begin(writer, &packer, STOA_GEOMYS_STATUS_OK, "value");
        pack_bytes(&packer, data, length);
    }
}

static void reply_null(struct stoa_reply *reply) {
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    if (element(writer, &packer, 0)) {
        if (packer.callback != NULL) {
            msgpack_pack_nil(&packer);
        }
        return;
    }
    const char *text = writer->not_found != NULL ? writer->not_found : "not found";
    stoa_geomys_write_message(writer, STOA_GEOMYS_STATUS_NOT_FOUND, (const uint8_t *)text,
                              strlen(text));
}

static void reply_array(struct stoa_reply *reply, size_t count) {
    struct stoa_geomys_writer *writer = reply->self;
    msgpack_packer packer;
    if (element(writer, &packer, 0)) {
        if (packer.callback != NULL) {
            msgpack_pack_array(&packer, count);
        }
        writer->pending += count;
        return;
    }
    if (room(writer, RESPONSE_OVERHEAD_BYTES)) {
        begin(writer, &packer, STOA_GEOMYS_STATUS_OK, "value");
        msgpack_pack_array(&packer, count);
    }
    writer->pending = count;
}

static const struct stoa_reply_ops writer_ops = {
    reply_status, reply_error, reply_integer, reply_bulk, reply_null, reply_array, reply_null,
};

void stoa_geomys_writer_init(struct stoa_geomys_writer *writer, struct stoa_buf *buf) {
    STOA_ASSERT(writer != NULL && buf != NULL);
    *writer = (struct stoa_geomys_writer){.reply = {&writer_ops, writer}, .buf = buf};
}

/* ---- UTF-8 ---- */

/* The length of the sequence led by byte and the range its second byte must be in (which
 * rules out overlong forms, surrogates and code points past U+10FFFF), or 0. */
static size_t utf8_lead(uint8_t byte, uint8_t *low, uint8_t *high) {
    *low = 0x80;
    *high = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) {
        return 2;
    }
    if (byte >= 0xe0 && byte <= 0xef) {
        *low = byte == 0xe0 ? 0xa0 : 0x80;
        *high = byte == 0xed ? 0x9f : 0xbf;
        return 3;
    }
    if (byte >= 0xf0 && byte <= 0xf4) {
        *low = byte == 0xf0 ? 0x90 : 0x80;
        *high = byte == 0xf4 ? 0x8f : 0xbf;
        return 4;
    }
    return 0;
}

bool stoa_geomys_utf8_valid(const uint8_t *data, size_t length) {
    size_t i = 0;
    while (i < length) {
        if (data[i] < 0x80) {
            i++;
            continue;
        }
        uint8_t low = 0;
        uint8_t high = 0;
        size_t size = utf8_lead(data[i], &low, &high);
        if (size == 0 || length - i < size || data[i + 1] < low || data[i + 1] > high) {
            return false;
        }
        for (size_t k = 2; k < size; k++) {
            if (data[i + k] < 0x80 || data[i + k] > 0xbf) {
                return false;
            }
        }
        i += size;
    }
    return true;
}
