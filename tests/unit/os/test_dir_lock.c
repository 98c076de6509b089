/* Shows that a data directory can be locked by one holder at a time, that a refused holder
 * learns the owner's pid, and that releasing the lock lets the next one in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "os/dir_lock.h"
#include "util/err.h"

/* A second lock on a locked directory is refused with BUSY and the holder's pid. */
static void test_exclusive(void **state) {
    (void)state;
    char directory[] = "/tmp/stoa-lock-XXXXXX";
    assert_non_null(mkdtemp(directory));
    struct stoa_os_dir_lock first = {.fd = -1};
    struct stoa_os_dir_lock second = {.fd = -1};
    long holder = -1;
    assert_int_equal(stoa_os_dir_lock_acquire(&first, directory, &holder), STOA_OK);
    assert_int_equal(stoa_os_dir_lock_acquire(&second, directory, &holder), STOA_ERR_BUSY);
    assert_int_equal(holder, (long)getpid());
    assert_int_equal(second.fd, -1);
    stoa_os_dir_lock_release(&first);
    assert_int_equal(stoa_os_dir_lock_acquire(&second, directory, &holder), STOA_OK);
    stoa_os_dir_lock_release(&second);
    char path[256];
    snprintf(path, sizeof(path), "%s/LOCK", directory);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(directory), 0);
}

/* A directory that does not exist is NOT_FOUND, not a crash. */
static void test_missing_directory(void **state) {
    (void)state;
    struct stoa_os_dir_lock lock = {.fd = -1};
    long holder = 0;
    assert_int_equal(stoa_os_dir_lock_acquire(&lock, "/nonexistent/stoa/dir", &holder),
                     STOA_ERR_NOT_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusive),
        cmocka_unit_test(test_missing_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
