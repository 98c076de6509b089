/* Fuzz target for the client-side RESP reply parser (src/proto/resp_reply.h).
 *
 * The input is a server's byte stream. It is parsed twice, once arriving whole and once cut
 * in two at a position taken from its first byte, reply after reply as stoa cli reads it,
 * until more bytes are needed or the stream is malformed. Checked: every reply's table is a
 * well-formed pre-order tree (each aggregate's span covers exactly its children's spans,
 * text lies inside the bytes the reply used, the nesting stays within the limit), the bytes
 * used never pass the bytes given, and both runs give the same replies and the same ending.
 * Any crash, sanitizer report or leak is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/resp_reply.h"
#include "util/alloc.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static bool is_aggregate(const struct stoa_resp_reply_element *element) {
    return element->type == STOA_RESP_REPLY_ARRAY || element->type == STOA_RESP_REPLY_MAP ||
           element->type == STOA_RESP_REPLY_SET || element->type == STOA_RESP_REPLY_PUSH;
}

/* Walks the table with an explicit stack: each aggregate's children, skipped by their spans,
 * end exactly where its own span ends. Returns a hash of the shape for comparing runs. */
static uint64_t check_tree(const struct stoa_resp_reply *reply, size_t used) {
    check(reply->element_count >= 1 && reply->elements[0].span == reply->element_count);
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < reply->element_count; i++) {
        const struct stoa_resp_reply_element *element = &reply->elements[i];
        check(element->span >= 1 && element->span <= reply->element_count - i);
        check(element->offset <= used && element->length <= used - element->offset);
        hash =
            (hash ^ (uint64_t)element->type ^ element->span ^ element->length) * 1099511628211ULL;
        if (!is_aggregate(element)) {
            check(element->span == 1);
            continue;
        }
        size_t children = element->count * (element->type == STOA_RESP_REPLY_MAP ? 2 : 1);
        size_t next = i + 1;
        for (size_t child = 0; child < children; child++) {
            check(next < i + element->span);
            next += reply->elements[next].span;
        }
        check(next == i + element->span);
    }
    return hash;
}

struct outcome {
    size_t reply_count;
    uint64_t hash;
    int ending;
    size_t consumed;
};

static void run(const uint8_t *data, size_t size, size_t split, struct outcome *outcome) {
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    *outcome = (struct outcome){.hash = 0};
    size_t consumed = 0;
    size_t arrived = split;
    for (size_t round = 0; round <= 2 * size + 2; round++) {
        struct stoa_resp_reply reply;
        size_t used = 0;
        int result =
            stoa_resp_reply_parse(&parser, data + consumed, arrived - consumed, &reply, &used);
        if (result == STOA_OK) {
            check(used >= 3 && used <= arrived - consumed);
            outcome->hash = outcome->hash * 31 + check_tree(&reply, used);
            outcome->reply_count++;
            consumed += used;
            continue;
        }
        if (result == STOA_ERR_AGAIN && arrived < size) {
            arrived = size;
            continue;
        }
        check(result == STOA_ERR_AGAIN || result == STOA_ERR_MALFORMED);
        check(result == STOA_ERR_AGAIN || parser.error[0] != '\0');
        outcome->ending = result;
        break;
    }
    check(outcome->ending != STOA_OK);
    outcome->consumed = consumed;
    stoa_resp_reply_parser_free(&parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) {
        return 0;
    }
    size_t split = data[0] % (size + 1);
    struct outcome whole;
    struct outcome cut;
    run(data, size, size, &whole);
    run(data, size, split, &cut);
    check(whole.ending == cut.ending);
    check(whole.reply_count == cut.reply_count && whole.hash == cut.hash);
    check(whole.consumed == cut.consumed);
    return 0;
}
