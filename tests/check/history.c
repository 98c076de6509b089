/*
 * history: JSON lines to operations (history.h). Each line is parsed with jansson, checked
 * field by field, and paired with its process's operation in flight; then the model is
 * decided and every operation's value is checked against the model's vocabulary.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/check_int.h"
#include "check/history.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

static const char *const f_names[STOA_CHECK_F_COUNT] = {
    [STOA_CHECK_F_READ] = "read",
    [STOA_CHECK_F_WRITE] = "write",
    [STOA_CHECK_F_CAS] = "cas",
    [STOA_CHECK_F_INCR] = "incr",
    [STOA_CHECK_F_PUSH_BACK] = "push-back",
    [STOA_CHECK_F_PUSH_FRONT] = "push-front",
    [STOA_CHECK_F_POP_FRONT] = "pop-front",
    [STOA_CHECK_F_POP_BACK] = "pop-back",
};

const char *stoa_check_f_name(enum stoa_check_f f) {
    return (unsigned)f < STOA_CHECK_F_COUNT ? f_names[f] : "?";
}

const char *stoa_check_model_name(enum stoa_check_model model) {
    switch (model) {
    case STOA_CHECK_MODEL_AUTO:
        return "auto";
    case STOA_CHECK_MODEL_REGISTER:
        return "register";
    case STOA_CHECK_MODEL_COUNTER:
        return "counter";
    case STOA_CHECK_MODEL_DEQUE:
        return "deque";
    }
    return "?";
}

int stoa_check_model_parse(const char *name, enum stoa_check_model *model) {
    static const enum stoa_check_model all[] = {STOA_CHECK_MODEL_AUTO, STOA_CHECK_MODEL_REGISTER,
                                                STOA_CHECK_MODEL_COUNTER, STOA_CHECK_MODEL_DEQUE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, stoa_check_model_name(all[i])) == 0) {
            *model = all[i];
            return 0;
        }
    }
    return STOA_ERR_INVALID;
}

/* The state of one parse: the history being built and the pairing of processes. */
struct parser {
    struct stoa_check_history *history;
    struct stoa_check_parse_error *error;
    struct check_table in_flight; /* process -> op index */
    uint32_t unnamed_key;         /* key index of the events without a key, or UINT32_MAX */
    uint32_t line;
    uint32_t first_line_of_f[STOA_CHECK_F_COUNT]; /* 0 when f was not seen */
    /* Per op, the raw value ids of its invoke and completion (value_absent when missing). */
    uint32_t *invoke_values;
    uint32_t *complete_values;
};

static const uint32_t value_absent = UINT32_MAX;

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *parser, uint32_t line,
                                                         const char *format, ...) {
    struct stoa_check_parse_error *error = parser->error;
    error->line = line;
    int prefix = line != 0 ? snprintf(error->message, sizeof error->message, "line %u: ", line) : 0;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message + prefix, sizeof error->message - (size_t)prefix, format, arguments);
    va_end(arguments);
    return STOA_ERR_MALFORMED;
}

static int grow_array(void **array, uint32_t *capacity, uint32_t needed, size_t item_bytes) {
    if (needed <= *capacity) {
        return 0;
    }
    uint32_t capacity_new = *capacity == 0 ? 64 : *capacity;
    while (capacity_new < needed) {
        capacity_new *= 2;
    }
    void *grown = stoa_realloc(*array, (size_t)capacity_new * item_bytes);
    if (grown == NULL) {
        return STOA_ERR_NOMEM;
    }
    *array = grown;
    *capacity = capacity_new;
    return 0;
}

/* Canonical JSON text of value into buf (NUL-terminated). */
static int value_text(const json_t *value, struct stoa_buf *buf) {
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY;
    stoa_buf_reset(buf);
    size_t needed = json_dumpb(value, NULL, 0, flags);
    if (needed == 0) {
        return STOA_ERR_MALFORMED;
    }
    int rc = stoa_buf_reserve(buf, needed + 1);
    if (rc != 0) {
        return rc;
    }
    buf->length = json_dumpb(value, (char *)buf->data, needed, flags);
    return check_buf_terminate(buf);
}

/* Finds or adds the value whose canonical text is text; sets *id. */
static int intern_text(struct stoa_check_history *history, const char *text, size_t length,
                       const json_t *value, uint32_t *id) {
    void *found = NULL;
    if (stoa_map_get(&history->value_index, text, length, &found) == 0) {
        *id = (uint32_t)(uintptr_t)found;
        return 0;
    }
    int rc = grow_array((void **)&history->values, &history->value_capacity,
                        history->value_count + 1, sizeof *history->values);
    if (rc != 0) {
        return rc;
    }
    char *copy = stoa_strndup(text, length);
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint32_t new_id = history->value_count;
    /* Ids are stored as map values, which must not be NULL: ids start at 1 (0 is null). */
    rc = stoa_map_put(&history->value_index, copy, length, (void *)(uintptr_t)new_id, NULL);
    if (rc != 0) {
        stoa_free(copy);
        return rc;
    }
    struct stoa_check_value *slot = &history->values[new_id];
    *slot = (struct stoa_check_value){.text = copy, .text_length = length};
    if (json_is_integer(value)) {
        slot->is_integer = true;
        slot->integer = json_integer_value(value);
    }
    history->value_count++;
    *id = new_id;
    return 0;
}

/* Interns value and, when it is an array, its elements (one level), so the models can read
 * a list. */
static int intern_value(struct stoa_check_history *history, const json_t *value,
                        struct stoa_buf *scratch, uint32_t *id) {
    if (json_is_null(value)) {
        *id = STOA_CHECK_VALUE_NULL;
        return 0;
    }
    int rc = value_text(value, scratch);
    if (rc == 0) {
        rc = intern_text(history, (const char *)scratch->data, scratch->length, value, id);
    }
    if (rc != 0 || !json_is_array(value) || history->values[*id].is_array) {
        return rc;
    }
    size_t count = json_array_size(value);
    if (count > STOA_CHECK_EVENTS_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    uint32_t offset = history->element_count;
    rc = grow_array((void **)&history->element_pool, &history->element_capacity,
                    offset + (uint32_t)count, sizeof *history->element_pool);
    for (size_t i = 0; i < count && rc == 0; i++) {
        const json_t *element = json_array_get(value, i);
        uint32_t element_id = STOA_CHECK_VALUE_NULL;
        if (!json_is_null(element)) {
            rc = value_text(element, scratch);
            if (rc == 0) {
                rc = intern_text(history, (const char *)scratch->data, scratch->length, element,
                                 &element_id);
            }
        }
        history->element_pool[offset + i] = element_id;
    }
    if (rc != 0) {
        return rc;
    }
    history->element_count = offset + (uint32_t)count;
    history->values[*id].is_array = true;
    history->values[*id].element_offset = offset;
    history->values[*id].element_count = (uint32_t)count;
    return 0;
}

static int key_of(struct parser *parser, const json_t *key, uint32_t *index) {
    struct stoa_check_history *history = parser->history;
    bool named = key != NULL && !json_is_null(key);
    if (named && !json_is_string(key)) {
        return fail_at(parser, parser->line, "\"key\" must be a string or omitted");
    }
    const char *name = named ? json_string_value(key) : "";
    size_t length = named ? json_string_length(key) : 0;
    void *found = NULL;
    if (!named && parser->unnamed_key != UINT32_MAX) {
        *index = parser->unnamed_key;
        return 0;
    }
    if (named && stoa_map_get(&history->key_index, name, length, &found) == 0) {
        *index = (uint32_t)(uintptr_t)found - 1;
        return 0;
    }
    int rc = grow_array((void **)&history->keys, &history->key_capacity, history->key_count + 1,
                        sizeof *history->keys);
    char *copy = rc == 0 ? stoa_strndup(name, length) : NULL;
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint32_t new_index = history->key_count;
    if (named) {
        rc = stoa_map_put(&history->key_index, copy, length, (void *)(uintptr_t)(new_index + 1),
                          NULL);
        if (rc != 0) {
            stoa_free(copy);
            return rc;
        }
    } else {
        parser->unnamed_key = new_index;
    }
    history->keys[new_index] =
        (struct stoa_check_key){.name = copy, .name_length = length, .has_name = named};
    history->key_count++;
    *index = new_index;
    return 0;
}

static int f_of(struct parser *parser, const json_t *f, enum stoa_check_f *out) {
    if (!json_is_string(f)) {
        return fail_at(parser, parser->line, "\"f\" must be a string");
    }
    for (int i = 0; i < STOA_CHECK_F_COUNT; i++) {
        if (strcmp(json_string_value(f), f_names[i]) == 0) {
            *out = (enum stoa_check_f)i;
            return 0;
        }
    }
    return fail_at(parser, parser->line,
                   "unknown f \"%.60s\" (read, write, cas, incr, push-back, push-front, "
                   "pop-front, pop-back)",
                   json_string_value(f));
}

/* The fields of one event line, borrowed from its JSON object. */
struct event {
    enum stoa_check_status type; /* OPEN stands for invoke here */
    int64_t process;
    enum stoa_check_f f;
    const json_t *key;
    const json_t *value;
    int64_t time_ns;
};

static int type_of(struct parser *parser, const json_t *type, enum stoa_check_status *out) {
    static const char *const names[] = {"ok", "fail", "info", "invoke"};
    if (!json_is_string(type)) {
        return fail_at(parser, parser->line, "\"type\" must be a string");
    }
    for (int i = 0; i < 4; i++) {
        if (strcmp(json_string_value(type), names[i]) == 0) {
            *out = (enum stoa_check_status)i;
            return 0;
        }
    }
    return fail_at(parser, parser->line, "unknown type \"%.60s\" (invoke, ok, fail, info)",
                   json_string_value(type));
}

/* Reads the fields of one event. Returns 0, 1 for a line to skip (nemesis), or an error. */
static int read_event(struct parser *parser, const json_t *object, struct event *event) {
    if (!json_is_object(object)) {
        return fail_at(parser, parser->line, "an event must be a JSON object");
    }
    const json_t *process = json_object_get(object, "process");
    if (json_is_string(process) && strcmp(json_string_value(process), "nemesis") == 0) {
        return 1;
    }
    if (!json_is_integer(process)) {
        return fail_at(parser, parser->line, "\"process\" must be an integer");
    }
    const json_t *type = json_object_get(object, "type");
    if (type == NULL) {
        return fail_at(parser, parser->line, "missing \"type\"");
    }
    int rc = type_of(parser, type, &event->type);
    const json_t *f = json_object_get(object, "f");
    if (rc == 0 && f == NULL) {
        return fail_at(parser, parser->line, "missing \"f\"");
    }
    rc = rc != 0 ? rc : f_of(parser, f, &event->f);
    if (rc != 0) {
        return rc;
    }
    const json_t *time = json_object_get(object, "time");
    if (time != NULL && !json_is_integer(time)) {
        return fail_at(parser, parser->line, "\"time\" must be an integer (nanoseconds)");
    }
    const json_t *index = json_object_get(object, "index");
    if (index != NULL && !json_is_integer(index)) {
        return fail_at(parser, parser->line, "\"index\" must be an integer");
    }
    event->process = json_integer_value(process);
    event->key = json_object_get(object, "key");
    event->value = json_object_get(object, "value");
    event->time_ns = time != NULL ? json_integer_value(time) : -1;
    return 0;
}

static int on_invoke(struct parser *parser, const struct event *event, struct stoa_buf *scratch) {
    struct stoa_check_history *history = parser->history;
    uint32_t busy = 0;
    if (check_table_get(&parser->in_flight, (uint64_t)event->process, &busy)) {
        return fail_at(parser, parser->line,
                       "process %lld invokes while its operation of line %u is in flight",
                       (long long)event->process, history->ops[busy].invoke_line);
    }
    uint32_t key = 0;
    int rc = key_of(parser, event->key, &key);
    uint32_t op_index = history->op_count;
    uint32_t capacity = history->op_capacity;
    rc = rc != 0 ? rc
                 : grow_array((void **)&history->ops, &history->op_capacity, op_index + 1,
                              sizeof *history->ops);
    if (rc == 0 && history->op_capacity != capacity) {
        uint32_t value_capacity = capacity;
        rc = grow_array((void **)&parser->invoke_values, &value_capacity, history->op_capacity,
                        sizeof *parser->invoke_values);
        value_capacity = capacity;
        rc = rc != 0 ? rc
                     : grow_array((void **)&parser->complete_values, &value_capacity,
                                  history->op_capacity, sizeof *parser->complete_values);
    }
    uint32_t value = value_absent;
    if (rc == 0 && event->value != NULL) {
        rc = intern_value(history, event->value, scratch, &value);
    }
    rc = rc != 0 ? rc : check_table_put(&parser->in_flight, (uint64_t)event->process, op_index);
    if (rc != 0) {
        return rc;
    }
    history->ops[op_index] = (struct stoa_check_op){
        .key = key,
        .f = (uint8_t)event->f,
        .status = STOA_CHECK_STATUS_OPEN,
        .process = event->process,
        .invoke_line = parser->line,
        .invoke_position = history->event_count,
        .complete_position = UINT32_MAX,
        .invoke_time_ns = event->time_ns,
        .complete_time_ns = -1,
    };
    parser->invoke_values[op_index] = value;
    parser->complete_values[op_index] = value_absent;
    history->keys[key].op_count++;
    history->op_count++;
    if (parser->first_line_of_f[event->f] == 0) {
        parser->first_line_of_f[event->f] = parser->line;
    }
    return 0;
}

static int on_complete(struct parser *parser, const struct event *event, struct stoa_buf *scratch) {
    struct stoa_check_history *history = parser->history;
    uint32_t op_index = 0;
    if (!check_table_get(&parser->in_flight, (uint64_t)event->process, &op_index)) {
        return fail_at(parser, parser->line, "process %lld completes an operation it never invoked",
                       (long long)event->process);
    }
    struct stoa_check_op *op = &history->ops[op_index];
    if (op->f != event->f) {
        return fail_at(parser, parser->line, "f \"%s\" completes \"%s\" invoked at line %u",
                       f_names[event->f], f_names[op->f], op->invoke_line);
    }
    if (event->key != NULL && !json_is_null(event->key)) {
        uint32_t key = 0;
        int rc = key_of(parser, event->key, &key);
        if (rc != 0) {
            return rc;
        }
        if (key != op->key) {
            return fail_at(parser, parser->line, "key differs from the invoke's, at line %u",
                           op->invoke_line);
        }
    }
    uint32_t value = value_absent;
    if (event->value != NULL) {
        int rc = intern_value(history, event->value, scratch, &value);
        if (rc != 0) {
            return rc;
        }
    }
    check_table_remove(&parser->in_flight, (uint64_t)event->process);
    op->status = (uint8_t)event->type;
    op->complete_line = parser->line;
    op->complete_position = history->event_count;
    op->complete_time_ns = event->time_ns;
    parser->complete_values[op_index] = value;
    return 0;
}

static bool is_blank(const char *line, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            return false;
        }
    }
    return true;
}

static int parse_line(struct parser *parser, const char *line, size_t length,
                      struct stoa_buf *scratch) {
    json_error_t json_error;
    json_t *object = json_loadb(line, length, JSON_REJECT_DUPLICATES, &json_error);
    if (object == NULL) {
        return fail_at(parser, parser->line, "bad JSON at column %d: %s", json_error.column,
                       json_error.text);
    }
    struct event event = {.type = STOA_CHECK_STATUS_OPEN, .time_ns = -1};
    int rc = read_event(parser, object, &event);
    if (rc == 0 && parser->history->event_count >= STOA_CHECK_EVENTS_MAX) {
        rc = fail_at(parser, parser->line, "more than %u events", STOA_CHECK_EVENTS_MAX);
    }
    if (rc == 0) {
        rc = event.type == STOA_CHECK_STATUS_OPEN ? on_invoke(parser, &event, scratch)
                                                  : on_complete(parser, &event, scratch);
        parser->history->event_count += rc == 0 ? 1 : 0;
    }
    json_decref(object);
    return rc == 1 ? 0 : rc;
}

/* The model an f belongs to; AUTO for read, which every model has. */
static enum stoa_check_model model_of_f(enum stoa_check_f f) {
    switch (f) {
    case STOA_CHECK_F_WRITE:
    case STOA_CHECK_F_CAS:
        return STOA_CHECK_MODEL_REGISTER;
    case STOA_CHECK_F_INCR:
        return STOA_CHECK_MODEL_COUNTER;
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
        return STOA_CHECK_MODEL_DEQUE;
    case STOA_CHECK_F_READ:
    case STOA_CHECK_F_COUNT:
        break;
    }
    return STOA_CHECK_MODEL_AUTO;
}

/* Decides the model from the first f that names one (a history of reads alone is a
 * register's), or checks that the given model has every f seen. */
static int decide_model(struct parser *parser, enum stoa_check_model model) {
    const uint32_t *seen = parser->first_line_of_f;
    uint32_t decided_by = 0;
    for (int f = 0; f < STOA_CHECK_F_COUNT && model == STOA_CHECK_MODEL_AUTO; f++) {
        bool earlier = seen[f] != 0 && (decided_by == 0 || seen[f] < seen[decided_by]);
        decided_by = model_of_f((enum stoa_check_f)f) != STOA_CHECK_MODEL_AUTO && earlier
                         ? (uint32_t)f
                         : decided_by;
    }
    if (model == STOA_CHECK_MODEL_AUTO) {
        model =
            decided_by == 0 ? STOA_CHECK_MODEL_REGISTER : model_of_f((enum stoa_check_f)decided_by);
    }
    int wrong = -1;
    for (int f = 0; f < STOA_CHECK_F_COUNT; f++) {
        enum stoa_check_model of = model_of_f((enum stoa_check_f)f);
        bool misfit = seen[f] != 0 && of != STOA_CHECK_MODEL_AUTO && of != model;
        wrong = misfit && (wrong < 0 || seen[f] < seen[wrong]) ? f : wrong;
    }
    if (wrong >= 0 && decided_by != 0) {
        return fail_at(parser, seen[wrong],
                       "f \"%s\" is not part of the %s model (decided by the \"%s\" of line %u; "
                       "docs/checking.md)",
                       f_names[wrong], stoa_check_model_name(model), f_names[decided_by],
                       seen[decided_by]);
    }
    if (wrong >= 0) {
        return fail_at(parser, seen[wrong], "f \"%s\" is not part of the %s model", f_names[wrong],
                       stoa_check_model_name(model));
    }
    parser->history->model = model;
    return 0;
}

static const struct stoa_check_value *value_at(const struct stoa_check_history *history,
                                               uint32_t id) {
    return &history->values[id == value_absent ? STOA_CHECK_VALUE_NULL : id];
}

/* Checks one completed-ok result against the model and stores it. */
static int type_result(struct parser *parser, struct stoa_check_op *op, uint32_t value) {
    const struct stoa_check_history *history = parser->history;
    const struct stoa_check_value *v = value_at(history, value);
    bool is_null = value == value_absent || value == STOA_CHECK_VALUE_NULL;
    bool counter = history->model == STOA_CHECK_MODEL_COUNTER;
    enum stoa_check_f f = op->f;
    if (counter && !is_null && !v->is_integer) {
        return fail_at(parser, op->complete_line, "a counter's %s result must be an integer",
                       f_names[f]);
    }
    if (counter) {
        /* A read of an absent counter is 0; an incr without a result constrains nothing. */
        op->result_known = f == STOA_CHECK_F_READ || !is_null;
        op->result = is_null ? 0 : v->integer;
        return 0;
    }
    bool list = history->model == STOA_CHECK_MODEL_DEQUE && f == STOA_CHECK_F_READ;
    if (list && !is_null && !v->is_array) {
        return fail_at(parser, op->complete_line, "a deque's read result must be an array");
    }
    op->result_known =
        f == STOA_CHECK_F_READ || f == STOA_CHECK_F_POP_FRONT || f == STOA_CHECK_F_POP_BACK;
    op->result = is_null ? STOA_CHECK_VALUE_NULL : value;
    return 0;
}

static int type_argument(struct parser *parser, struct stoa_check_op *op, uint32_t value) {
    const struct stoa_check_history *history = parser->history;
    const struct stoa_check_value *v = value_at(history, value);
    bool is_null = value == value_absent || value == STOA_CHECK_VALUE_NULL;
    switch ((enum stoa_check_f)op->f) {
    case STOA_CHECK_F_WRITE:
        op->argument[0] = is_null ? STOA_CHECK_VALUE_NULL : value;
        return 0;
    case STOA_CHECK_F_CAS:
        if (!v->is_array || v->element_count != 2) {
            return fail_at(parser, op->invoke_line, "cas takes [expected, new]");
        }
        op->argument[0] = history->element_pool[v->element_offset];
        op->argument[1] = history->element_pool[v->element_offset + 1];
        return 0;
    case STOA_CHECK_F_INCR:
        if (!v->is_integer) {
            return fail_at(parser, op->invoke_line, "incr takes an integer delta");
        }
        op->argument[0] = v->integer;
        return 0;
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
        if (is_null) {
            return fail_at(parser, op->invoke_line, "push of null (a pop of null means empty)");
        }
        op->argument[0] = value;
        return 0;
    case STOA_CHECK_F_READ:
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
    case STOA_CHECK_F_COUNT:
        return 0;
    }
    return 0;
}

static int type_ops(struct parser *parser) {
    struct stoa_check_history *history = parser->history;
    for (uint32_t i = 0; i < history->op_count; i++) {
        struct stoa_check_op *op = &history->ops[i];
        int rc = type_argument(parser, op, parser->invoke_values[i]);
        if (rc == 0 && op->status == STOA_CHECK_STATUS_OK) {
            rc = type_result(parser, op, parser->complete_values[i]);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int add_null_value(struct stoa_check_history *history) {
    int rc =
        grow_array((void **)&history->values, &history->value_capacity, 1, sizeof *history->values);
    char *text = rc == 0 ? stoa_strndup("null", 4) : NULL;
    if (text == NULL) {
        return STOA_ERR_NOMEM;
    }
    history->values[0] = (struct stoa_check_value){.text = text, .text_length = 4};
    history->value_count = 1;
    return 0;
}

static int parse_lines(struct parser *parser, const char *text, size_t length) {
    struct stoa_buf scratch;
    stoa_buf_init(&scratch, SIZE_MAX / 2);
    int rc = 0;
    size_t start = 0;
    while (start < length && rc == 0) {
        const char *newline = memchr(text + start, '\n', length - start);
        size_t end = newline != NULL ? (size_t)(newline - text) : length;
        parser->line++;
        if (!is_blank(text + start, end - start)) {
            rc = parse_line(parser, text + start, end - start, &scratch);
        }
        start = end + 1;
    }
    stoa_buf_free(&scratch);
    return rc;
}

int stoa_check_history_parse(const char *text, size_t length, enum stoa_check_model model,
                             struct stoa_check_history *history,
                             struct stoa_check_parse_error *error) {
    memset(history, 0, sizeof *history);
    memset(error, 0, sizeof *error);
    stoa_map_init(&history->value_index, 0x5eed);
    stoa_map_init(&history->key_index, 0x6b65);
    struct parser parser = {.history = history, .error = error, .unnamed_key = UINT32_MAX};
    check_table_init(&parser.in_flight);
    int rc = add_null_value(history);
    rc = rc != 0 ? rc : parse_lines(&parser, text, length);
    rc = rc != 0 ? rc : decide_model(&parser, model);
    rc = rc != 0 ? rc : type_ops(&parser);
    check_table_free(&parser.in_flight);
    stoa_free(parser.invoke_values);
    stoa_free(parser.complete_values);
    if (rc == STOA_ERR_NOMEM || rc == STOA_ERR_TOO_LARGE) {
        snprintf(error->message, sizeof error->message, "%s", stoa_err_message(rc));
    }
    if (rc != 0) {
        stoa_check_history_free(history);
    }
    return rc;
}

void stoa_check_history_free(struct stoa_check_history *history) {
    for (uint32_t i = 0; i < history->value_count; i++) {
        stoa_free(history->values[i].text);
    }
    for (uint32_t i = 0; i < history->key_count; i++) {
        stoa_free(history->keys[i].name);
    }
    stoa_map_free(&history->value_index);
    stoa_map_free(&history->key_index);
    stoa_free(history->values);
    stoa_free(history->keys);
    stoa_free(history->ops);
    stoa_free(history->element_pool);
    memset(history, 0, sizeof *history);
}
