/* Shows that the command table in docs/commands.md says what the command table in
 * src/proto/commands.c says: one row per command, in table order, with the same name, arity,
 * flags, key positions and doors, and no row for a command the table does not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/commands.h"

#define DOC_BYTES_MAX (256 * 1024)
#define ROW_BYTES 512
/* The header row of the table that lists every command. */
#define TABLE_HEADER "| command | arity | flags | keys (first last step) | doors | runs as |"

static char doc[DOC_BYTES_MAX];

static void read_doc(void) {
    FILE *file = fopen(STOA_SOURCE_DIR "/docs/commands.md", "rb");
    assert_non_null(file);
    size_t length = fread(doc, 1, sizeof(doc) - 1, file);
    assert_int_equal(ferror(file), 0);
    assert_true(length < sizeof(doc) - 1);
    doc[length] = '\0';
    fclose(file);
}

static void append(char *row, size_t *used, const char *text) {
    int written = snprintf(row + *used, ROW_BYTES - *used, "%s", text);
    assert_true(written >= 0 && (size_t)written < ROW_BYTES - *used);
    *used += (size_t)written;
}

/* The flags as the doc words them: Redis's names, then stoa's container and protected. */
static void append_flags(char *row, size_t *used, uint32_t flags) {
    const char *separator = "";
    for (uint32_t bit = 1; bit != 0 && bit <= flags; bit <<= 1) {
        if ((flags & bit) == 0) {
            continue;
        }
        const char *name = stoa_commands_flag_name(bit);
        if (bit == STOA_COMMANDS_FLAG_CONTAINER) {
            name = "container";
        } else if (bit == STOA_COMMANDS_FLAG_PROTECTED) {
            name = "protected";
        }
        assert_non_null(name);
        append(row, used, separator);
        append(row, used, name);
        separator = " ";
    }
}

static void append_doors(char *row, size_t *used, uint32_t doors) {
    static const struct {
        uint32_t door;
        const char *name;
    } names[] = {
        {STOA_COMMANDS_DOOR_RESP, "RESP"},
        {STOA_COMMANDS_DOOR_HTTP, "HTTP"},
        {STOA_COMMANDS_DOOR_GEOMYS, "Geomys"},
    };
    const char *separator = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((doors & names[i].door) != 0) {
            append(row, used, separator);
            append(row, used, names[i].name);
            separator = " ";
        }
    }
}

/* The start of the doc row for spec, up to the free-text "runs as" column. */
static void expected_row(const struct stoa_commands_spec *spec, char *row) {
    size_t used = 0;
    char name[64];
    snprintf(name, sizeof(name), "%s", spec->name);
    char *bar = strchr(name, '|');
    if (bar != NULL) {
        *bar = ' ';
    }
    char numbers[96];
    append(row, &used, "| `");
    append(row, &used, name);
    snprintf(numbers, sizeof(numbers), "` | %d | ", spec->arity);
    append(row, &used, numbers);
    append_flags(row, &used, spec->flags);
    snprintf(numbers, sizeof(numbers), " | %d %d %d | ", spec->first_key, spec->last_key,
             spec->key_step);
    append(row, &used, numbers);
    append_doors(row, &used, spec->doors);
    append(row, &used, " | ");
}

/* Every command has its row, and the rows come in the table's order. */
static void test_every_command_has_its_row(void **state) {
    (void)state;
    read_doc();
    const char *table = strstr(doc, TABLE_HEADER);
    assert_non_null(table);
    const char *cursor = table;
    int missing = 0;
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        char row[ROW_BYTES];
        expected_row(stoa_commands_spec((enum stoa_commands_id)id), row);
        const char *found = strstr(cursor, row);
        if (found == NULL) {
            print_message("docs/commands.md lacks (or misorders) the row starting: %s\n", row);
            missing++;
            continue;
        }
        cursor = found + strlen(row);
    }
    assert_int_equal(missing, 0);
}

/* The table has no more rows than there are commands (no row for a removed command). */
static void test_no_extra_rows(void **state) {
    (void)state;
    read_doc();
    const char *table = strstr(doc, TABLE_HEADER);
    assert_non_null(table);
    int rows = 0;
    const char *line = strchr(table, '\n');
    while (line != NULL && line[1] == '|') {
        rows++;
        line = strchr(line + 1, '\n');
    }
    /* The separator row |---| is the first after the header. */
    assert_int_equal(rows - 1, STOA_COMMANDS_COUNT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_its_row),
        cmocka_unit_test(test_no_extra_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
