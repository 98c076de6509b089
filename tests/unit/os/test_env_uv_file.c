/* Shows that the real env's files and directories do what env.h promises: positioned reads
 * and writes, size, truncate, sync, rename, unlink, mkdir, directory sync and listing, and
 * the right error codes for missing and existing files. */
#include "os_fixture.h"
#include "util/limits.h"

#define PATH_BYTES 256

static const unsigned create_flags =
    STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE;

/* Written, read back, sized, truncated and synced: the bytes are the bytes. */
static void test_file_write_read_size_truncate(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    char path[PATH_BYTES];
    fixture_path(fixture, "data", path, sizeof(path));
    struct stoa_env_file *file = NULL;
    assert_int_equal(ops->file_open(fixture->env, path, create_flags, &file), 0);
    uint64_t size = 1;
    assert_int_equal(ops->file_size(file, &size), 0);
    assert_int_equal(size, 0);

    static uint8_t block[256 * 1024];
    for (size_t i = 0; i < sizeof(block); i++) {
        block[i] = (uint8_t)(i ^ (i >> 8));
    }
    assert_int_equal(ops->file_pwrite(file, block, sizeof(block), 4096), 0);
    assert_int_equal(ops->file_datasync(file), 0);
    assert_int_equal(ops->file_size(file, &size), 0);
    assert_int_equal(size, 4096 + sizeof(block));

    static uint8_t back[256 * 1024];
    size_t read_length = 0;
    assert_int_equal(ops->file_pread(file, back, sizeof(back), 4096, &read_length), 0);
    assert_int_equal(read_length, sizeof(block));
    assert_memory_equal(back, block, sizeof(block));
    /* The hole before the data reads as zeros; a read past the end is short. */
    uint8_t hole[16];
    assert_int_equal(ops->file_pread(file, hole, sizeof(hole), 0, &read_length), 0);
    assert_int_equal(read_length, sizeof(hole));
    uint8_t zeros[16] = {0};
    assert_memory_equal(hole, zeros, sizeof(hole));
    assert_int_equal(ops->file_pread(file, back, 100, size - 10, &read_length), 0);
    assert_int_equal(read_length, 10);
    assert_int_equal(ops->file_pread(file, back, 100, size + 10, &read_length), 0);
    assert_int_equal(read_length, 0);

    assert_int_equal(ops->file_truncate(file, 4100), 0);
    assert_int_equal(ops->file_size(file, &size), 0);
    assert_int_equal(size, 4100);
    assert_int_equal(ops->file_pread(file, back, 100, 4096, &read_length), 0);
    assert_int_equal(read_length, 4);
    assert_memory_equal(back, block, 4);
    ops->file_close(file);

    /* Reopened read-only, the data is still there. */
    assert_int_equal(ops->file_open(fixture->env, path, STOA_ENV_OPEN_READ, &file), 0);
    assert_int_equal(ops->file_pread(file, back, 4, 4096, &read_length), 0);
    assert_int_equal(read_length, 4);
    assert_memory_equal(back, block, 4);
    ops->file_close(file);
}

/* Opening a missing file is NOT_FOUND, exclusive creation of an existing one is EXISTS,
 * TRUNCATE empties a file, and an over-long path is TOO_LARGE. */
static void test_file_open_errors(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    char path[PATH_BYTES];
    fixture_path(fixture, "missing", path, sizeof(path));
    struct stoa_env_file *file = NULL;
    assert_int_equal(ops->file_open(fixture->env, path, STOA_ENV_OPEN_READ, &file),
                     STOA_ERR_NOT_FOUND);
    assert_null(file);

    unsigned exclusive = create_flags | STOA_ENV_OPEN_EXCLUSIVE;
    assert_int_equal(ops->file_open(fixture->env, path, exclusive, &file), 0);
    const uint8_t bytes[] = "abc";
    assert_int_equal(ops->file_pwrite(file, bytes, 3, 0), 0);
    ops->file_close(file);
    file = NULL;
    assert_int_equal(ops->file_open(fixture->env, path, exclusive, &file), STOA_ERR_EXISTS);
    assert_null(file);

    unsigned truncate = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_TRUNCATE;
    assert_int_equal(ops->file_open(fixture->env, path, truncate, &file), 0);
    uint64_t size = 1;
    assert_int_equal(ops->file_size(file, &size), 0);
    assert_int_equal(size, 0);
    ops->file_close(file);

    static char long_path[STOA_PATH_BYTES_MAX + 2];
    memset(long_path, 'a', sizeof(long_path) - 1);
    file = NULL;
    assert_int_equal(ops->file_open(fixture->env, long_path, STOA_ENV_OPEN_READ, &file),
                     STOA_ERR_TOO_LARGE);
    assert_null(file);
    assert_int_equal(ops->unlink(fixture->env, path), 0);
}

struct listing {
    char names[8][32];
    int count;
    int stop_after;
};

static int on_entry(void *context, const char *name) {
    struct listing *listing = context;
    assert_true(listing->count < 8);
    snprintf(listing->names[listing->count], sizeof(listing->names[0]), "%s", name);
    listing->count++;
    return listing->count == listing->stop_after;
}

static bool listing_has(const struct listing *listing, const char *name) {
    for (int i = 0; i < listing->count; i++) {
        if (strcmp(listing->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void create_file(struct fixture *fixture, const char *path) {
    struct stoa_env_file *file = NULL;
    assert_int_equal(fixture->env->ops->file_open(fixture->env, path, create_flags, &file), 0);
    fixture->env->ops->file_close(file);
}

/* mkdir accepts an existing directory but not an existing file; rename moves a file (and
 * replaces the target), unlink removes it, sync_dir succeeds, and list_dir sees exactly the
 * entries (without . and ..) and stops when asked. */
static void test_directories(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    char sub[PATH_BYTES];
    char a[PATH_BYTES];
    char b[PATH_BYTES];
    fixture_path(fixture, "sub", sub, sizeof(sub));
    fixture_path(fixture, "sub/a", a, sizeof(a));
    fixture_path(fixture, "sub/b", b, sizeof(b));
    assert_int_equal(ops->mkdir(fixture->env, sub), 0);
    assert_int_equal(ops->mkdir(fixture->env, sub), 0);
    create_file(fixture, a);
    assert_int_equal(ops->mkdir(fixture->env, a), STOA_ERR_EXISTS);
    assert_int_equal(ops->sync_dir(fixture->env, sub), 0);

    struct listing listing = {.stop_after = 0};
    assert_int_equal(ops->list_dir(fixture->env, sub, on_entry, &listing), 0);
    assert_int_equal(listing.count, 1);
    assert_true(listing_has(&listing, "a"));

    assert_int_equal(ops->rename(fixture->env, a, b), 0);
    create_file(fixture, a);
    assert_int_equal(ops->rename(fixture->env, a, b), 0);
    assert_int_equal(ops->rename(fixture->env, a, b), STOA_ERR_NOT_FOUND);
    create_file(fixture, a);
    assert_int_equal(ops->sync_dir(fixture->env, sub), 0);
    memset(&listing, 0, sizeof(listing));
    assert_int_equal(ops->list_dir(fixture->env, sub, on_entry, &listing), 0);
    assert_int_equal(listing.count, 2);
    assert_true(listing_has(&listing, "a") && listing_has(&listing, "b"));
    memset(&listing, 0, sizeof(listing));
    listing.stop_after = 1;
    assert_int_equal(ops->list_dir(fixture->env, sub, on_entry, &listing), 0);
    assert_int_equal(listing.count, 1);

    assert_int_equal(ops->unlink(fixture->env, a), 0);
    assert_int_equal(ops->unlink(fixture->env, a), STOA_ERR_NOT_FOUND);
    assert_int_equal(ops->unlink(fixture->env, b), 0);
    memset(&listing, 0, sizeof(listing));
    assert_int_equal(ops->list_dir(fixture->env, sub, on_entry, &listing), 0);
    assert_int_equal(listing.count, 0);

    char missing[PATH_BYTES];
    fixture_path(fixture, "missing", missing, sizeof(missing));
    assert_int_equal(ops->sync_dir(fixture->env, missing), STOA_ERR_NOT_FOUND);
    assert_int_equal(ops->list_dir(fixture->env, missing, on_entry, &listing), STOA_ERR_NOT_FOUND);
    char nested[PATH_BYTES];
    fixture_path(fixture, "missing/nested", nested, sizeof(nested));
    assert_int_equal(ops->mkdir(fixture->env, nested), STOA_ERR_NOT_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_write_read_size_truncate, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_file_open_errors, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_directories, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
