/*
 * limits: every bound in stoa, named once, with the reason for its value.
 *
 * A loop, queue, batch, retry, buffer or input size that has a maximum takes it from here,
 * so the bounds can be read (and argued with) in one place. Relationships between bounds are
 * checked at compile time at the bottom of the file.
 */
#ifndef STOA_UTIL_LIMITS_H
#define STOA_UTIL_LIMITS_H

/* ---- logging ---- */

/* One log line, formatted on the stack. 4 KiB holds any line we write with room for a key
 * or value quoted in full; longer lines are cut and marked "truncated". */
#define STOA_LOG_LINE_BYTES_MAX 4096
/* A node id is printable and short: it is in every log line and every peer frame. */
#define STOA_NODE_ID_BYTES_MAX 64

/* ---- time ---- */

/* "2026-11-21T23:45:01.123Z" plus NUL. */
#define STOA_TIME_RFC3339_BYTES 25

/* ---- hash map ---- */

/* A map doubles its buckets when full; 2^30 buckets (8 GiB of slots at 8 bytes each) is
 * more than one node's memory can fill with keys, so a larger request is a bug. */
#define STOA_MAP_CAPACITY_MAX (1ULL << 30)
/* Buckets moved from the old table to the new one per map operation while a resize is in
 * progress: small enough that no single operation pays for the whole resize. */
#define STOA_MAP_REHASH_STEP 64

/* ---- min-heap ---- */

/* A heap of timers or expiry deadlines; 2^28 entries is far beyond any node's need. */
#define STOA_HEAP_CAPACITY_MAX (1ULL << 28)

/* ---- ULID ---- */

/* 26 characters of Crockford base32 encode the 128-bit ULID (48-bit time, 80-bit random). */
#define STOA_ULID_TEXT_LENGTH 26
#define STOA_ULID_BYTES 16

/* ---- config ---- */

/* A config file is a few kilobytes; 1 MiB refuses a wrong file (a log, a binary) early. */
#define STOA_CONFIG_FILE_BYTES_MAX (1024 * 1024)
/* Longest dotted key, e.g. "node.networkHostnames.groupStorageServer". */
#define STOA_CONFIG_KEY_BYTES_MAX 128
/* Longest string value (paths, addresses, passwords). */
#define STOA_CONFIG_VALUE_BYTES_MAX 4096
/* Nesting depth of the YAML mapping; our deepest key has four parts. */
#define STOA_CONFIG_DEPTH_MAX 8

/* ---- files and paths ---- */

/* Longest path stoa builds (data directory plus file name); Linux's PATH_MAX is 4096. */
#define STOA_PATH_BYTES_MAX 4096

/* ---- network ---- */

/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" plus NUL fits in 64. */
#define STOA_ADDRESS_TEXT_BYTES_MAX 64
/* One UDP datagram of the overlay (DESIGN.md §8); also the largest the env will send. */
#define STOA_DATAGRAM_BYTES_MAX 1424
/* Bytes a stream read callback gets at most at once: one 64 KiB buffer per read. */
#define STOA_STREAM_READ_BYTES_MAX (64 * 1024)
/* Pending listen() backlog. */
#define STOA_LISTEN_BACKLOG 511

/* ---- shutdown ---- */

/* On SIGINT/SIGTERM the node stops accepting work and finishes what it can; after this long
 * it closes whatever is left. A second signal exits at once. */
#define STOA_SHUTDOWN_GRACE_MS 5000

/* ---- relationships ---- */

_Static_assert(STOA_LOG_LINE_BYTES_MAX >= 2 * STOA_NODE_ID_BYTES_MAX + 256,
               "a log line has room for its fixed fields");
_Static_assert(STOA_CONFIG_KEY_BYTES_MAX < STOA_LOG_LINE_BYTES_MAX / 4,
               "a config error line can quote the key in full");
_Static_assert(STOA_MAP_REHASH_STEP > 0, "a resize always makes progress");

#endif
