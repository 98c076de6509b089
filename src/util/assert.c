#include "util/assert.h"

#include <stdio.h>
#include <stdlib.h>

/* The failure path writes with stdio directly: it must work even when the logger, the
 * allocator or the env are the thing that broke. */
static void put_json_string(const char *text) {
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            fputc('\\', stderr);
        }
        fputc((unsigned char)*c < 0x20 ? ' ' : *c, stderr);
    }
}

_Noreturn void stoa_assert_fail(const char *expression, const char *file, int line) {
    fputs("{\"level\":\"fatal\",\"module\":\"assert\",\"msg\":\"assertion failed\","
          "\"expression\":\"",
          stderr);
    put_json_string(expression);
    fputs("\",\"file\":\"", stderr);
    put_json_string(file);
    fprintf(stderr, "\",\"line\":%d}\n", line);
    fflush(stderr);
    abort();
}
