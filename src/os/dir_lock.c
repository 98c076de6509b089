#include "os/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

static long read_holder_pid(int fd) {
    char text[32] = {0};
    ssize_t length = pread(fd, text, sizeof(text) - 1, 0);
    if (length <= 0) {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long pid = strtol(text, &end, 10);
    return (errno != 0 || end == text) ? 0 : pid;
}

static int write_own_pid(int fd) {
    char text[32];
    int length = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    STOA_ASSERT(length > 0 && (size_t)length < sizeof(text));
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)length, 0) != length) {
        return STOA_ERR_IO;
    }
    return STOA_OK;
}

int stoa_os_dir_lock_acquire(struct stoa_os_dir_lock *lock, const char *directory,
                             long *holder_pid) {
    STOA_ASSERT(lock != NULL && directory != NULL && holder_pid != NULL);
    char path[STOA_PATH_BYTES_MAX];
    int path_length = snprintf(path, sizeof(path), "%s/LOCK", directory);
    if (path_length < 0 || (size_t)path_length >= sizeof(path)) {
        return STOA_ERR_TOO_LARGE;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno == EACCES || errno == EPERM ? STOA_ERR_PERMISSION
               : errno == ENOENT                 ? STOA_ERR_NOT_FOUND
                                                 : STOA_ERR_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int result = errno == EWOULDBLOCK ? STOA_ERR_BUSY : STOA_ERR_IO;
        *holder_pid = read_holder_pid(fd);
        close(fd);
        return result;
    }
    int result = write_own_pid(fd);
    if (result != STOA_OK) {
        close(fd);
        return result;
    }
    lock->fd = fd;
    return STOA_OK;
}

void stoa_os_dir_lock_release(struct stoa_os_dir_lock *lock) {
    STOA_ASSERT(lock != NULL && lock->fd >= 0);
    close(lock->fd);
    lock->fd = -1;
}
