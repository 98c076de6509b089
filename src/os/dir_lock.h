/*
 * dir_lock: one process per data directory.
 *
 * Two nodes writing one data directory would corrupt each other's log, so a node takes an
 * exclusive advisory lock (flock) on <dir>/LOCK before it touches anything else there, and
 * holds it until it exits. The kernel drops the lock when the process dies, even by
 * kill -9, so a crash never leaves a stale lock behind. The file also holds the owner's pid,
 * to make the error message useful.
 */
#ifndef STOA_OS_DIR_LOCK_H
#define STOA_OS_DIR_LOCK_H

struct stoa_os_dir_lock {
    int fd;
};

/* Takes the lock on <directory>/LOCK, creating the file. Returns 0, STOA_ERR_BUSY if another
 * process holds it (its pid, if known, in *holder_pid, else 0), or another error. */
int stoa_os_dir_lock_acquire(struct stoa_os_dir_lock *lock, const char *directory,
                             long *holder_pid);

/* Releases the lock (closing the file). */
void stoa_os_dir_lock_release(struct stoa_os_dir_lock *lock);

#endif
