/* Nomad's GameObjects: the object commands of the HTTP door, translated into the engine's
 * OBJECT_* opcodes (engine/apply.h). The HTTP door builds these words from a GameObject's
 * JSON (proto/http_json.h); no other door exposes them. */
#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* Parses argv[index] as a number that must not be negative. */
static int non_negative(struct commands_call *call, size_t index, int64_t *value) {
    int result = commands_int64(call, index, NULL, value);
    if (result == STOA_OK && *value < 0) {
        return commands_fail(call, STOA_ERR_RANGE, COMMANDS_TEXT_POSITIVE);
    }
    return result;
}

/* OBJPUT id value creation_ms ttl_s; OBJUPDATE id value ttl_s; OBJDELETE id; OBJGET id. */
int commands_object(struct commands_call *call) {
    int64_t creation_ms = 0;
    int64_t ttl_s = 0;
    int result = STOA_OK;
    switch ((int)call->spec->id) {
    case STOA_COMMANDS_OBJPUT:
        result = non_negative(call, 3, &creation_ms);
        if (result == STOA_OK) {
            result = non_negative(call, 4, &ttl_s);
        }
        if (result != STOA_OK) {
            return result;
        }
        commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_OBJECT_PUT);
        commands_push_argv(call, 1);
        commands_push_argv(call, 2);
        commands_push_int64(call, creation_ms);
        commands_push_int64(call, ttl_s);
        return STOA_OK;
    case STOA_COMMANDS_OBJUPDATE:
        result = non_negative(call, 3, &ttl_s);
        if (result != STOA_OK) {
            return result;
        }
        commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_OBJECT_UPDATE);
        commands_push_argv(call, 1);
        commands_push_argv(call, 2);
        commands_push_int64(call, ttl_s);
        return STOA_OK;
    case STOA_COMMANDS_OBJDELETE:
        commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_OBJECT_DELETE);
        commands_push_argv(call, 1);
        return STOA_OK;
    case STOA_COMMANDS_OBJGET:
        commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_OBJECT_GET);
        commands_push_argv(call, 1);
        return STOA_OK;
    default:
        STOA_UNREACHABLE();
    }
}
