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

/* ---- byte buffer ---- */

/* The first allocation of a growing buffer: small enough for a short reply, large enough
 * that a run of one-byte appends does not reallocate at 1, 2, 4, 8 ... bytes. */
#define STOA_BUF_CAPACITY_MIN 64

/* ---- hash map ---- */

/* A map doubles its buckets when full; 2^30 buckets (8 GiB of slots at 8 bytes each) is
 * more than one node's memory can fill with keys, so a larger request is a bug. */
#define STOA_MAP_CAPACITY_MAX (1ULL << 30)
/* Buckets moved from the old table to the new one per map operation while a resize is in
 * progress: small enough that no single operation pays for the whole resize. */
#define STOA_MAP_REHASH_STEP 64
/* Buckets of a map's first table, and the size it never shrinks below: one cache line of
 * bucket pointers, so tiny maps stay tiny. */
#define STOA_MAP_BUCKETS_MIN 8
/* A map shrinks when fewer than one bucket in this many holds an entry (on average), so
 * a map emptied after a burst gives its memory back; 8 leaves room so that a map near
 * the boundary does not flip between growing and shrinking. */
#define STOA_MAP_SHRINK_RATIO 8

/* ---- min-heap ---- */

/* A heap of timers or expiry deadlines; 2^28 entries is far beyond any node's need. */
#define STOA_HEAP_CAPACITY_MAX (1ULL << 28)
/* The first slot array of a heap: 16 pointers, so a handful of timers never reallocate. */
#define STOA_HEAP_CAPACITY_MIN 16

/* ---- ULID ---- */

/* 26 characters of Crockford base32 encode the 128-bit ULID (48-bit time, 80-bit random). */
#define STOA_ULID_TEXT_LENGTH 26
#define STOA_ULID_BYTES 16
/* The random part of a ULID: 80 bits. */
#define STOA_ULID_RANDOM_BYTES 10

/* ---- config ---- */

/* A config file is a few kilobytes; 1 MiB refuses a wrong file (a log, a binary) early. */
#define STOA_CONFIG_FILE_BYTES_MAX (1024 * 1024)
/* Longest dotted key, e.g. "node.networkHostnames.groupStorageServer". */
#define STOA_CONFIG_KEY_BYTES_MAX 128
/* Longest string value (paths, addresses, passwords). */
#define STOA_CONFIG_VALUE_BYTES_MAX 4096
/* Nesting depth of the YAML mapping; our deepest key has four parts. */
#define STOA_CONFIG_DEPTH_MAX 8
/* A config error message: "<file>:<line>: <key>: <what was expected>, got \"<value>\"". Room
 * for a file path of a few hundred bytes, the key in full and the quoted value below. */
#define STOA_CONFIG_ERROR_BYTES_MAX 1024
/* A value quoted in an error message is cut after this many bytes (and marked "..."): enough
 * to recognize it, and a 4 KiB path does not push the rest of the message out. */
#define STOA_CONFIG_ERROR_QUOTE_BYTES_MAX 80
/* A host name or address a node listens on or advertises: a DNS name is at most 253 bytes,
 * and Nomad's advertised-hostname overrides may carry ":65535" (6 more). */
#define STOA_CONFIG_HOST_BYTES_MAX 259
/* The data directory's path, without NUL: leaves 256 bytes of STOA_PATH_BYTES_MAX for the
 * file names stoa builds under it (log segments, snapshots, the node id file). */
#define STOA_DATA_DIR_BYTES_MAX (STOA_PATH_BYTES_MAX - 256)
/* Longest schedule or timeout. A period longer than 30 days is a unit typo ("5000h" for
 * "5000s"), so it is refused rather than silently switching a task off. */
#define STOA_CONFIG_DURATION_MS_MAX (30LL * 24 * 3600 * 1000)
/* Shortest schedule or timeout: 0 would make a periodic task spin. */
#define STOA_CONFIG_DURATION_MS_MIN 1
/* Highest TCP or UDP port number (ports are 16 bits); 0 means "pick a free one". */
#define STOA_CONFIG_PORT_MAX 65535

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

/* ---- os (the real env) ---- */

/* A system call interrupted by a signal (EINTR) is retried at most this many times in a row.
 * Signals are rare and handlers are installed with SA_RESTART, so a longer run means a
 * signal storm; the call then fails with STOA_ERR_IO instead of spinning. */
#define STOA_OS_INTERRUPT_RETRIES_MAX 64
/* Finished stream write requests kept per env for reuse, so a steady stream of replies does
 * not allocate; past this the extra ones go back to the heap after a burst. */
#define STOA_OS_WRITE_REQUESTS_FREE_MAX 256
/* Bytes of datagrams per UDP socket queued in the kernel-facing send queue when the socket
 * would block. Datagrams are unreliable anyway: past this a send fails with STOA_ERR_FULL
 * rather than letting a slow network grow memory without bound. */
#define STOA_OS_UDP_SEND_QUEUE_BYTES_MAX (1024 * 1024)
/* Entries a directory listing visits. stoa's own directories hold a few files per log
 * segment and snapshot; a directory past this is not ours, and listing it fails. */
#define STOA_OS_DIR_ENTRIES_MAX (1024 * 1024)

/* ---- shutdown ---- */

/* On SIGINT/SIGTERM the node stops accepting work and finishes what it can; after this long
 * it closes whatever is left. A second signal exits at once. */
#define STOA_SHUTDOWN_GRACE_MS 5000

/* ---- engine: commands ---- */

/* Arguments of one write command (MSET k1 v1 k2 v2 ...). 2^20 is the multibulk limit older
 * Redis versions enforced, far beyond any real batch, and bounds decode work per record. */
#define STOA_COMMAND_ARGUMENTS_MAX (1024 * 1024)
/* Bytes of one encoded command. 1 GiB matches Redis's default client-query-buffer-limit, so
 * anything a Redis client may send in one command can be logged as one record. */
#define STOA_COMMAND_BYTES_MAX (1024ULL * 1024 * 1024)

/* ---- relationships ---- */

_Static_assert(STOA_LOG_LINE_BYTES_MAX >= 2 * STOA_NODE_ID_BYTES_MAX + 256,
               "a log line has room for its fixed fields");
_Static_assert(STOA_CONFIG_KEY_BYTES_MAX < STOA_LOG_LINE_BYTES_MAX / 4,
               "a config error line can quote the key in full");
_Static_assert(STOA_MAP_REHASH_STEP > 0, "a resize always makes progress");
_Static_assert(STOA_CONFIG_ERROR_BYTES_MAX >= 2 * STOA_CONFIG_KEY_BYTES_MAX +
                                                 4 * STOA_CONFIG_ERROR_QUOTE_BYTES_MAX + 256,
               "a config error has room for the key, the quoted value and the expectation");
_Static_assert(STOA_DATA_DIR_BYTES_MAX <= STOA_CONFIG_VALUE_BYTES_MAX,
               "the data directory fits in a config value");
_Static_assert(STOA_CONFIG_HOST_BYTES_MAX <= STOA_CONFIG_VALUE_BYTES_MAX,
               "a host name fits in a config value");
_Static_assert(STOA_OS_UDP_SEND_QUEUE_BYTES_MAX >= STOA_DATAGRAM_BYTES_MAX,
               "an idle UDP socket can always queue one datagram");
_Static_assert((STOA_MAP_BUCKETS_MIN & (STOA_MAP_BUCKETS_MIN - 1)) == 0,
               "map bucket counts are powers of two");
_Static_assert(STOA_MAP_SHRINK_RATIO > 2, "a map does not shrink right after it grew");
_Static_assert(STOA_HEAP_CAPACITY_MIN <= STOA_HEAP_CAPACITY_MAX, "a heap can start");
_Static_assert(STOA_ULID_BYTES == 6 + STOA_ULID_RANDOM_BYTES, "48-bit time, 80-bit random");

#endif
