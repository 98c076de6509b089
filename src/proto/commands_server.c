/* Connection and server commands: the server runs them; here their arguments are checked as
 * Redis checks them before it acts (PING's count, HELLO's version and options, AUTH's forms,
 * SELECT's index, CLIENT SETNAME's name, BGSAVE's and SHUTDOWN's options). */
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* The arguments after the command name, or after the subcommand for a subcommand. */
int commands_server(struct commands_call *call) {
    size_t first = call->spec->container != call->spec->id ? 2 : 1;
    commands_begin(call, STOA_COMMANDS_KIND_SERVER, 0);
    for (size_t i = first; i < call->argc; i++) {
        commands_push_argv(call, i);
    }
    return STOA_OK;
}

/* PING [message]: Redis's arity is -1, and more than one message is an arity error. */
int commands_ping(struct commands_call *call) {
    if (call->argc > 2) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR wrong number of arguments for '%s' command", call->spec->name);
    }
    return commands_server(call);
}

/* Redis refuses a client name with bytes outside '!' .. '~' (spaces, newlines, controls). */
static int name_check(struct commands_call *call, const struct stoa_command_argument *name) {
    for (size_t i = 0; i < name->length; i++) {
        if (name->data[i] < '!' || name->data[i] > '~') {
            return commands_fail(call, STOA_ERR_INVALID,
                                 "ERR Client names cannot contain spaces, newlines or special "
                                 "characters.");
        }
    }
    return STOA_OK;
}

int commands_client_setname(struct commands_call *call) {
    int result = name_check(call, &call->argv[2]);
    if (result != STOA_OK) {
        return result;
    }
    return commands_server(call);
}

/* HELLO's options after the version: AUTH user password, SETNAME name; a later one replaces
 * an earlier one. */
static int hello_options(struct commands_call *call, size_t first,
                         struct stoa_command_argument found[3]) {
    for (size_t j = first; j < call->argc; j++) {
        size_t more = call->argc - 1 - j;
        const struct stoa_command_argument *option = &call->argv[j];
        if (commands_word_is(option, "auth") && more >= 2) {
            found[0] = call->argv[j + 1];
            found[1] = call->argv[j + 2];
            call->output->server_flags |= STOA_COMMANDS_HELLO_AUTH;
            j += 2;
        } else if (commands_word_is(option, "setname") && more >= 1) {
            int result = name_check(call, &call->argv[j + 1]);
            if (result != STOA_OK) {
                return result;
            }
            found[2] = call->argv[j + 1];
            call->output->server_flags |= STOA_COMMANDS_HELLO_SETNAME;
            j += 1;
        } else {
            return commands_failf(
                call, STOA_ERR_INVALID, "ERR Syntax error in HELLO option '%.*s'",
                commands_quote_length(option, STOA_COMMANDS_OPTION_QUOTE_BYTES_MAX),
                commands_quote_text(option));
        }
    }
    return STOA_OK;
}

/* HELLO [protover [AUTH user password] [SETNAME name]]: arguments are user, password and
 * name (empty when not given), number the version (0 when not given). */
int commands_hello(struct commands_call *call) {
    int64_t version = 0;
    if (call->argc >= 2) {
        int result = commands_int64(
            call, 1, "ERR Protocol version is not an integer or out of range", &version);
        if (result != STOA_OK) {
            return result;
        }
        if (version < 2 || version > 3) {
            return commands_fail(call, STOA_ERR_UNSUPPORTED,
                                 "NOPROTO unsupported protocol version");
        }
    }
    struct stoa_command_argument found[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    int result = hello_options(call, 2, found);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_SERVER, 0);
    for (size_t i = 0; i < 3; i++) {
        commands_push(call, found[i].data, found[i].length);
    }
    call->output->number = version;
    return STOA_OK;
}

/* AUTH password, or AUTH user password. */
int commands_auth(struct commands_call *call) {
    if (call->argc > 3) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    return commands_server(call);
}

/* SELECT index: stoa has one database, 0. */
int commands_select(struct commands_call *call) {
    int64_t index = 0;
    int result = commands_int64(call, 1, NULL, &index);
    if (result != STOA_OK) {
        return result;
    }
    if (index < INT32_MIN || index > INT32_MAX) {
        return commands_fail(call, STOA_ERR_RANGE,
                             "ERR value is out of range, value must between -2147483648 and "
                             "2147483647");
    }
    if (index != 0) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR DB index is out of range");
    }
    result = commands_server(call);
    call->output->number = index;
    return result;
}

/* BGSAVE [SCHEDULE]. */
int commands_bgsave(struct commands_call *call) {
    if (call->argc > 2 || (call->argc == 2 && !commands_word_is(&call->argv[1], "schedule"))) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    int result = commands_server(call);
    call->output->server_flags = call->argc == 2 ? STOA_COMMANDS_BGSAVE_SCHEDULE : 0;
    return result;
}

static uint32_t shutdown_option(const struct stoa_command_argument *option) {
    static const char *const names[] = {"nosave", "save", "now", "force", "abort"};
    static const uint32_t flags[] = {STOA_COMMANDS_SHUTDOWN_NOSAVE, STOA_COMMANDS_SHUTDOWN_SAVE,
                                     STOA_COMMANDS_SHUTDOWN_NOW, STOA_COMMANDS_SHUTDOWN_FORCE,
                                     STOA_COMMANDS_SHUTDOWN_ABORT};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (commands_word_is(option, names[i])) {
            return flags[i];
        }
    }
    return 0;
}

/* SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]; ABORT goes alone. */
int commands_shutdown(struct commands_call *call) {
    uint32_t flags = 0;
    for (size_t i = 1; i < call->argc; i++) {
        uint32_t option = shutdown_option(&call->argv[i]);
        if (option == 0) {
            return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
        }
        flags |= option;
    }
    bool abort_with_others =
        (flags & STOA_COMMANDS_SHUTDOWN_ABORT) != 0 && flags != STOA_COMMANDS_SHUTDOWN_ABORT;
    bool save_and_nosave =
        (flags & STOA_COMMANDS_SHUTDOWN_NOSAVE) != 0 && (flags & STOA_COMMANDS_SHUTDOWN_SAVE) != 0;
    if (abort_with_others || save_and_nosave) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    int result = commands_server(call);
    call->output->server_flags = flags;
    return result;
}
