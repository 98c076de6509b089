#include "util/err.h"

const char *stoa_err_name(int code) {
    switch (code) {
#define STOA_ERR_NAME_CASE(name, number, message)                                                  \
    case (number):                                                                                 \
        return #name;
        STOA_ERRORS(STOA_ERR_NAME_CASE)
#undef STOA_ERR_NAME_CASE
    default:
        return "UNKNOWN";
    }
}

const char *stoa_err_message(int code) {
    switch (code) {
#define STOA_ERR_MESSAGE_CASE(name, number, message)                                               \
    case (number):                                                                                 \
        return (message);
        STOA_ERRORS(STOA_ERR_MESSAGE_CASE)
#undef STOA_ERR_MESSAGE_CASE
    default:
        return "unknown error";
    }
}
