/* Client sessions (engine/session.h): SESSION REGISTER becomes the engine's REGISTER_CLIENT
 * write; SESSION WRITE <client-id> <sequence> <command> [arg ...] becomes the inner write
 * command's own translation, tagged with the client id and sequence that its log record
 * carries, so a retry of the same sequence is answered from the session table and applied
 * at most once (docs/replication.md, "Retried writes: client sessions"). */
#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* Where SESSION WRITE's words are: SESSION WRITE id sequence command [arg ...]. */
#define SESSION_CLIENT_ID_INDEX 2
#define SESSION_SEQUENCE_INDEX 3
#define SESSION_COMMAND_INDEX 4

int commands_session_register(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_REGISTER_CLIENT);
    return STOA_OK;
}

/* Parses argv[index] as a number from 1 to INT64_MAX; on failure replies text. Client ids
 * are log indexes and sequences count from 1, so 0 is never valid (0 would mean anonymous,
 * or a retry of nothing). */
static int positive(struct commands_call *call, size_t index, const char *text, uint64_t *value) {
    const struct stoa_command_argument *argument = &call->argv[index];
    int64_t parsed = 0;
    if (stoa_commands_parse_int64(argument->data, argument->length, &parsed) != STOA_OK ||
        parsed <= 0) {
        return commands_fail(call, STOA_ERR_INVALID, text);
    }
    *value = (uint64_t)parsed;
    return STOA_OK;
}

/* Refuses an inner command that is not a plain write: a read, a server or admin command, a
 * blocking pop (it would park the client with the session's sequence in flight) or another
 * SESSION command. */
static int inner_check(struct commands_call *call, const struct stoa_commands_spec *inner) {
    int name_length = (int)STOA_COMMANDS_NAME_BYTES_MAX;
    if (inner->container == STOA_COMMANDS_SESSION) {
        return commands_fail(call, STOA_ERR_INVALID,
                             "ERR SESSION WRITE cannot hold a SESSION command");
    }
    if ((inner->flags & STOA_COMMANDS_FLAG_BLOCKING) != 0) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR SESSION WRITE cannot run '%.*s': blocking commands are "
                              "refused in a session",
                              name_length, inner->name);
    }
    if ((inner->flags & STOA_COMMANDS_FLAG_WRITE) == 0) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR SESSION WRITE runs write commands only: '%.*s' is not one "
                              "(send it on its own)",
                              name_length, inner->name);
    }
    return STOA_OK;
}

int commands_session_write(struct commands_call *call) {
    STOA_ASSERT(call->argc > SESSION_COMMAND_INDEX);
    uint64_t client_id = 0;
    uint64_t sequence = 0;
    int result = positive(call, SESSION_CLIENT_ID_INDEX,
                          "ERR client id is not a positive integer (SESSION REGISTER gives one)",
                          &client_id);
    if (result == STOA_OK) {
        result = positive(call, SESSION_SEQUENCE_INDEX,
                          "ERR sequence is not a positive integer (a session counts 1, 2, 3, ...)",
                          &sequence);
    }
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_commands_spec *inner = NULL;
    struct stoa_commands_output *output = call->output;
    result =
        stoa_commands_find(call->argv + SESSION_COMMAND_INDEX, call->argc - SESSION_COMMAND_INDEX,
                           STOA_COMMANDS_DOOR_RESP, output, &inner);
    if (result != STOA_OK) {
        return result;
    }
    result = inner_check(call, inner);
    if (result == STOA_OK) {
        result = commands_translate_inner(call, inner, SESSION_COMMAND_INDEX);
    }
    if (result != STOA_OK) {
        return result;
    }
    if (output->kind != STOA_COMMANDS_KIND_WRITE) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR SESSION WRITE runs write commands only: '%.*s' is not one",
                              (int)STOA_COMMANDS_NAME_BYTES_MAX, inner->name);
    }
    output->client_id = client_id;
    output->sequence = sequence;
    return STOA_OK;
}
