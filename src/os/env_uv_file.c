/* Files of the real env: synchronous POSIX calls (docs/decisions/libuv.md says why). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/env_uv_int.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* New files are readable by the group and others, as the umask allows; directories too. */
#define FILE_MODE 0644
/* STOA_ENV_OPEN_PRIVATE files (secret keys) are the owner's alone. */
#define FILE_MODE_PRIVATE 0600
#define DIRECTORY_MODE 0755

struct stoa_env_file {
    int fd;
};

/* Returns whether a failed call should be made again: it was interrupted by a signal, and
 * not too many times in a row. */
static bool retry_interrupted(int *interrupts) {
    if (errno != EINTR) {
        return false;
    }
    (*interrupts)++;
    return *interrupts <= STOA_OS_INTERRUPT_RETRIES_MAX;
}

/* Paths are bounded so a runaway path is an error here rather than deep in the kernel. */
static int check_path(const char *path) {
    STOA_ASSERT(path != NULL);
    if (strnlen(path, STOA_PATH_BYTES_MAX + 1) > STOA_PATH_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    return STOA_OK;
}

static int open_flags(unsigned flags) {
    bool can_read = (flags & STOA_ENV_OPEN_READ) != 0;
    bool can_write = (flags & STOA_ENV_OPEN_WRITE) != 0;
    STOA_ASSERT(can_read || can_write);
    int result = O_CLOEXEC;
    if (can_read && can_write) {
        result |= O_RDWR;
    } else if (can_write) {
        result |= O_WRONLY;
    } else {
        result |= O_RDONLY;
    }
    if ((flags & STOA_ENV_OPEN_CREATE) != 0) {
        result |= O_CREAT;
    }
    if ((flags & STOA_ENV_OPEN_EXCLUSIVE) != 0) {
        STOA_ASSERT((flags & STOA_ENV_OPEN_CREATE) != 0);
        result |= O_EXCL;
    }
    if ((flags & STOA_ENV_OPEN_TRUNCATE) != 0) {
        STOA_ASSERT(can_write);
        result |= O_TRUNC;
    }
    return result;
}

int stoa_os_env_file_open(struct stoa_env *env, const char *path, unsigned flags,
                          struct stoa_env_file **file_out) {
    (void)stoa_os_env_of(env);
    STOA_ASSERT(file_out != NULL);
    unsigned known = STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE |
                     STOA_ENV_OPEN_EXCLUSIVE | STOA_ENV_OPEN_TRUNCATE | STOA_ENV_OPEN_PRIVATE;
    STOA_ASSERT((flags & ~known) == 0);
    int status = check_path(path);
    if (status != 0) {
        return status;
    }
    /* Allocate first, so a failed allocation leaves no descriptor to clean up. */
    struct stoa_env_file *file = stoa_alloc(sizeof(*file));
    if (file == NULL) {
        return STOA_ERR_NOMEM;
    }
    int interrupts = 0;
    int fd;
    do {
        fd = open(path, open_flags(flags),
                  (flags & STOA_ENV_OPEN_PRIVATE) != 0 ? FILE_MODE_PRIVATE : FILE_MODE);
    } while (fd < 0 && retry_interrupted(&interrupts));
    if (fd < 0) {
        status = stoa_os_err_from_errno(errno);
        stoa_free(file);
        return status;
    }
    file->fd = fd;
    *file_out = file;
    return STOA_OK;
}

int stoa_os_env_file_pread(struct stoa_env_file *file, void *data, size_t length, uint64_t offset,
                           size_t *read_length) {
    STOA_ASSERT(file != NULL && read_length != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(offset <= (uint64_t)INT64_MAX - length);
    uint8_t *bytes = data;
    size_t filled = 0;
    int interrupts = 0;
    while (filled < length) {
        ssize_t got = pread(file->fd, bytes + filled, length - filled, (off_t)(offset + filled));
        if (got < 0) {
            if (retry_interrupted(&interrupts)) {
                continue;
            }
            return stoa_os_err_from_errno(errno);
        }
        if (got == 0) {
            break; /* end of file */
        }
        filled += (size_t)got;
    }
    *read_length = filled;
    return STOA_OK;
}

int stoa_os_env_file_pwrite(struct stoa_env_file *file, const void *data, size_t length,
                            uint64_t offset) {
    STOA_ASSERT(file != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(offset <= (uint64_t)INT64_MAX - length);
    const uint8_t *bytes = data;
    size_t written = 0;
    int interrupts = 0;
    while (written < length) {
        ssize_t put =
            pwrite(file->fd, bytes + written, length - written, (off_t)(offset + written));
        if (put < 0) {
            if (retry_interrupted(&interrupts)) {
                continue;
            }
            return stoa_os_err_from_errno(errno);
        }
        /* A regular file never takes zero bytes of a non-empty write; if it did, the loop
         * would not progress. */
        if (put == 0) {
            return STOA_ERR_IO;
        }
        written += (size_t)put;
    }
    return STOA_OK;
}

/* An fsync error means the kernel may have dropped dirty pages and cleared the error: a
 * retry could "succeed" without the data being on disk. So every failure other than an
 * interruption before the call did anything is final. */
static int sync_fd(int fd, bool data_only) {
    int interrupts = 0;
    for (;;) {
        int result = data_only ? fdatasync(fd) : fsync(fd);
        if (result == 0) {
            return STOA_OK;
        }
        if (!retry_interrupted(&interrupts)) {
            return STOA_ERR_FSYNC;
        }
    }
}

int stoa_os_env_file_datasync(struct stoa_env_file *file) {
    STOA_ASSERT(file != NULL);
    return sync_fd(file->fd, true);
}

int stoa_os_env_file_size(struct stoa_env_file *file, uint64_t *size) {
    STOA_ASSERT(file != NULL && size != NULL);
    struct stat info;
    if (fstat(file->fd, &info) != 0) {
        return stoa_os_err_from_errno(errno);
    }
    STOA_ASSERT(info.st_size >= 0);
    *size = (uint64_t)info.st_size;
    return STOA_OK;
}

int stoa_os_env_file_truncate(struct stoa_env_file *file, uint64_t size) {
    STOA_ASSERT(file != NULL && size <= (uint64_t)INT64_MAX);
    int interrupts = 0;
    int result;
    do {
        result = ftruncate(file->fd, (off_t)size);
    } while (result != 0 && retry_interrupted(&interrupts));
    return result == 0 ? STOA_OK : stoa_os_err_from_errno(errno);
}

int stoa_os_env_file_allocate(struct stoa_env_file *file, uint64_t size) {
    STOA_ASSERT(file != NULL && size <= (uint64_t)INT64_MAX);
    int result;
    int interrupts = 0;
    do {
        /* posix_fallocate returns the error instead of setting errno. */
        result = posix_fallocate(file->fd, 0, (off_t)size);
        errno = result;
    } while (result != 0 && retry_interrupted(&interrupts));
    if (result == EOPNOTSUPP || result == EINVAL) {
        return STOA_ERR_UNSUPPORTED;
    }
    return result == 0 ? STOA_OK : stoa_os_err_from_errno(result);
}

void stoa_os_env_file_close(struct stoa_env_file *file) {
    STOA_ASSERT(file != NULL);
    /* On Linux close(2) releases the descriptor even when it reports an error, so it is
     * never retried; durability was the job of file_datasync. */
    (void)close(file->fd);
    stoa_free(file);
}

int stoa_os_env_rename(struct stoa_env *env, const char *from, const char *to) {
    (void)stoa_os_env_of(env);
    int status = check_path(from);
    if (status == 0) {
        status = check_path(to);
    }
    if (status != 0) {
        return status;
    }
    return rename(from, to) == 0 ? STOA_OK : stoa_os_err_from_errno(errno);
}

int stoa_os_env_unlink(struct stoa_env *env, const char *path) {
    (void)stoa_os_env_of(env);
    int status = check_path(path);
    if (status != 0) {
        return status;
    }
    return unlink(path) == 0 ? STOA_OK : stoa_os_err_from_errno(errno);
}

int stoa_os_env_mkdir(struct stoa_env *env, const char *path) {
    (void)stoa_os_env_of(env);
    int status = check_path(path);
    if (status != 0) {
        return status;
    }
    if (mkdir(path, DIRECTORY_MODE) == 0) {
        return STOA_OK;
    }
    if (errno != EEXIST) {
        return stoa_os_err_from_errno(errno);
    }
    /* Something is there already: success only if it is a directory. */
    struct stat info;
    if (stat(path, &info) != 0) {
        return stoa_os_err_from_errno(errno);
    }
    return S_ISDIR(info.st_mode) ? STOA_OK : STOA_ERR_EXISTS;
}

int stoa_os_env_sync_dir(struct stoa_env *env, const char *path) {
    (void)stoa_os_env_of(env);
    int status = check_path(path);
    if (status != 0) {
        return status;
    }
    int interrupts = 0;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && retry_interrupted(&interrupts));
    if (fd < 0) {
        return stoa_os_err_from_errno(errno);
    }
    status = sync_fd(fd, false);
    (void)close(fd);
    return status;
}

static bool is_dot_or_dot_dot(const char *name) {
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

int stoa_os_env_list_dir(struct stoa_env *env, const char *path, stoa_env_dir_entry_fn on_entry,
                         void *context) {
    (void)stoa_os_env_of(env);
    STOA_ASSERT(on_entry != NULL);
    int status = check_path(path);
    if (status != 0) {
        return status;
    }
    DIR *directory = opendir(path);
    if (directory == NULL) {
        return stoa_os_err_from_errno(errno);
    }
    for (size_t visited = 0;; visited++) {
        if (visited > STOA_OS_DIR_ENTRIES_MAX) {
            status = STOA_ERR_TOO_LARGE;
            break;
        }
        errno = 0;
        struct dirent *entry = readdir(directory);
        if (entry == NULL) {
            status = errno == 0 ? STOA_OK : stoa_os_err_from_errno(errno);
            break;
        }
        if (!is_dot_or_dot_dot(entry->d_name) && on_entry(context, entry->d_name) != 0) {
            break;
        }
    }
    (void)closedir(directory);
    return status;
}
