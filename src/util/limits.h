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
/* Byte counts in config (memory limit, snapshot trigger): 1 PiB is beyond any machine and
 * small enough that sums of byte counts never overflow. */
#define STOA_CONFIG_MEMORY_LIMIT_MAX (1LL << 50)

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
/* The exit status of a background child that found its parent gone before it began: a
 * status no work function returns (they return 0 or a negated err.h code, all below 64). */
#define STOA_OS_CHILD_ORPHANED_STATUS 125

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

/* ---- engine: keyspace ---- */

/* Bytes of one key. Redis allows 512 MB, but real keys are short (Redis's own advice is to
 * keep them well under 1 KiB); every key is hashed on each access, copied into each log
 * record and snapshot that names it, and sent in peer frames. 64 KiB is far beyond any key
 * the seed systems use (ids, paths, ULIDs) and keeps a hostile key from costing more than
 * one stream read (STOA_STREAM_READ_BYTES_MAX) to hash or compare. */
#define STOA_KEY_BYTES_MAX (64 * 1024)
/* Bytes of one value, one deque element or one object's data: Redis's default
 * proto-max-bulk-len (512 MiB), so anything a Redis client may store, stoa stores. */
#define STOA_VALUE_BYTES_MAX (512 * 1024 * 1024)
/* Bytes of a GameObject's id. The id usually is the key, so the same bound. */
#define STOA_OBJECT_ID_BYTES_MAX STOA_KEY_BYTES_MAX
/* Elements of one deque: Redis's list length limit (2^32 - 1), so a Redis list fits. The ring
 * of element pointers then needs at most 2^32 slots (32 GiB), and indexes fit in int64. */
#define STOA_DEQUE_LENGTH_MAX 0xffffffffULL
/* The first ring of a deque: 8 pointers (one cache line), so short deques stay small. */
#define STOA_DEQUE_CAPACITY_MIN 8
/* Growing bytes (APPEND) doubles the allocation, as Redis's sds does, so n appends copy O(n)
 * bytes; past 1 MiB it grows by 1 MiB at a time, so a large value wastes at most 1 MiB. */
#define STOA_BYTES_PREALLOC_MAX (1024 * 1024)
/* "-9223372036854775808": the longest decimal int64 a counter holds. */
#define STOA_COUNTER_TEXT_BYTES_MAX 20
/* Expired keys one stoa_keyspace_expire_step may reclaim: freeing a key costs about a
 * microsecond, so 4096 keys bound one tick's reclaiming to a few milliseconds. */
#define STOA_KEYSPACE_EXPIRE_STEP_KEYS_MAX 4096
/* A scan step visits at most this many empty buckets per key asked for (Redis uses 10), so a
 * sparse table after mass deletion cannot make one SCAN call walk the whole table. */
#define STOA_KEYSPACE_SCAN_EMPTY_BUCKETS_PER_KEY 10

/* ---- engine: replies and sessions ---- */

/* A status or error text in a reply. Redis's longest error lines are about 120 bytes; 512
 * leaves room for a quoted key or argument while keeping replay on the stack. */
#define STOA_REPLY_TEXT_BYTES_MAX 512
/* Clients whose last write the session table remembers (for exactly-once retries). Each
 * session costs about 100 bytes plus its last reply; 65536 sessions is a few MiB. The least
 * recently active session is dropped first; a dropped client's next write is refused as
 * "session expired" (never applied twice), and it registers again. */
#define STOA_SESSIONS_MAX 65536
/* A recorded reply longer than this is not kept: a retry of that write gets an error
 * telling the client its reply is gone (the write was applied once). Large replies come
 * from reads, which are never retried through sessions. */
#define STOA_SESSION_REPLY_BYTES_MAX 4096

/* ---- engine: apply ---- */

/* Steps one glob match (KEYS, SCAN MATCH) may take, counting each pattern byte looked at.
 * The matcher backtracks only to the last '*', so a match costs at most pattern length x
 * key length steps; 2^20 steps is about a millisecond, and a match that would need more
 * counts as no match (Redis's matcher likewise gives up on pathological patterns), so one
 * hostile pattern cannot stall the loop for seconds per key. */
#define STOA_APPLY_GLOB_STEPS_MAX (1 << 20)
/* A stored string INCRBYFLOAT reads as a number: Redis's MAX_LONG_DOUBLE_CHARS (5 KiB).
 * Longer text is "not a valid float", and the parse copies at most this much to the stack. */
#define STOA_APPLY_FLOAT_TEXT_BYTES_MAX (5 * 1024)
/* INCRBYFLOAT's result in fixed notation with at most 17 significant digits: the smallest
 * double, 4.9e-324, takes "0." plus 323 zeros plus 17 digits; 1.8e308 takes 309 digits. */
#define STOA_APPLY_FLOAT_FORMAT_BYTES 384
/* Keys one SCAN call may be asked for; COUNT above this is clamped, so one call's work and
 * reply stay bounded (Redis leaves it unbounded; a client asking for more gets more calls). */
#define STOA_APPLY_SCAN_COUNT_MAX (64 * 1024)
/* The apply scratch buffer (old values for GET flags, element pointers, KEYS results) may
 * grow to one command's size; KEYS past this is refused ("use SCAN"). */
#define STOA_APPLY_SCRATCH_BYTES_MAX STOA_COMMAND_BYTES_MAX
/* After a command, a scratch buffer larger than this is freed rather than kept, so one huge
 * command does not pin its memory; smaller ones are reused, so steady traffic allocates
 * nothing. */
#define STOA_APPLY_SCRATCH_KEEP_BYTES (64 * 1024)

/* ---- engine: log ---- */

/* Payload bytes of one log record: one encoded command, so the largest command a client may
 * send (STOA_COMMAND_BYTES_MAX) is one record. The record's length field is 32 bits. */
#define STOA_WAL_RECORD_BYTES_MAX (1024ULL * 1024 * 1024)
/* A segment is closed when the next batch would take it past this many bytes. 64 MiB is
 * etcd's segment size: recovery, replay and truncate_before work a segment at a time, and a
 * few hundred segments hold a day of heavy writes. A batch larger than this (one huge
 * record) goes into a segment of its own. */
#define STOA_WAL_SEGMENT_BYTES_MAX (64ULL * 1024 * 1024)
/* The smallest segment bound a caller may choose (tests use small segments to roll over
 * often): one page holds the header and a few records. */
#define STOA_WAL_SEGMENT_BYTES_MIN 4096
/* Bytes of records one group commit buffers and writes. At disk speeds of ~1 GB/s, 16 MiB is
 * ~16 ms of writing, which bounds the latency one flush adds; append returns FULL past it
 * and the caller flushes. A single larger record is accepted into an empty batch. */
#define STOA_WAL_BATCH_BYTES_MAX (16ULL * 1024 * 1024)
/* Segment files one log holds: 65536 x 64 MiB is 4 TiB, far more than one node keeps
 * between snapshots; more files in the directory means it is not ours. */
#define STOA_WAL_SEGMENTS_MAX 65536
/* Recovery and replay read segments in chunks of this size: large enough for sequential
 * speed, small enough to keep on the heap during start-up. */
#define STOA_WAL_READ_BYTES (1024 * 1024)
/* With durability everysec, pending writes are synced at most this often. */
#define STOA_WAL_EVERYSEC_INTERVAL_MS 1000
/* An open error names the file (a path) and the offset, with a sentence of explanation. */
#define STOA_WAL_ERROR_BYTES_MAX (STOA_PATH_BYTES_MAX + 256)
/* Recovery tries every one-bit flip of a bad record at the end of the log whose payload is at
 * most this long, to tell bit rot (one bit off a whole record) from a torn write: 8n hashes
 * of n bytes, ~10 ms at 4 KiB, once per open at most. Journal records and most commands are
 * far smaller; a longer bad last record is taken for torn (docs/formats/log.md). */
#define STOA_WAL_FLIP_SEARCH_BYTES_MAX 4096

/* ---- engine: snapshot ---- */

/* A snapshot is written in buffered pwrites of this size and read in chunks of this size:
 * large enough for sequential disk speed and few system calls (a 4 GiB snapshot is 4096
 * writes), small enough to sit on the heap of a forked child without copying many pages. */
#define STOA_SNAPSHOT_IO_BYTES (1024 * 1024)
/* Bytes of one record's key: the keyspace's own bound, so every stored key can be saved and a
 * damaged length is caught before anything is allocated for it. */
#define STOA_SNAPSHOT_KEY_BYTES_MAX STOA_KEY_BYTES_MAX
/* Bytes of one record's serialized value. Loading holds one whole record in memory, so this
 * bounds that buffer. 4 GiB is eight of the largest values with room for an object's fields;
 * a deque serialized larger than this must be split over several records by the value
 * module (the record type is its to choose). */
#define STOA_SNAPSHOT_VALUE_BYTES_MAX (4ULL * 1024 * 1024 * 1024)
/* Snapshots kept after a new one is installed: the newest, and one fallback in case the
 * newest turns out damaged when it is loaded. The log must reach back to the oldest kept. */
#define STOA_SNAPSHOT_KEEP_COUNT 2
/* Snapshot files a load tries, newest first, before it gives up. Normally only
 * STOA_SNAPSHOT_KEEP_COUNT exist; more are left only when removing old ones failed. */
#define STOA_SNAPSHOT_CANDIDATES_MAX 8
/* Old files retention removes per directory listing, and listings per retention: 64 x 16
 * files cleans up after a thousand failed or crashed snapshots, and bounds the work. */
#define STOA_SNAPSHOT_REMOVE_BATCH 64
#define STOA_SNAPSHOT_REMOVE_ROUNDS_MAX 16

/* ---- engine ---- */

/* The engine's open error: a path and an offset, with room to spare. */
#define STOA_ENGINE_ERROR_BYTES_MAX (STOA_WAL_ERROR_BYTES_MAX + 256)
/* Commands in one chosen log entry of a replica group: a command's apply index is
 * (slot << 16) | position, so positions fit 16 bits. 65,535 commands per slot is far more
 * than one loop iteration gathers. */
#define STOA_ENGINE_BATCH_COMMANDS_MAX 65535
/* Snapshot records of sessions carry this type byte; value types are small numbers, so the
 * high bit keeps them apart forever. */
#define STOA_ENGINE_SNAPSHOT_SESSION_TYPE 0x80
/* The snapshot record of the log's clock (engine.c), apart from values the same way. */
#define STOA_ENGINE_SNAPSHOT_CLOCK_TYPE 0x81
/* Default log growth between automatic snapshots: 64 MiB of log replays in about a second. */
#define STOA_ENGINE_SNAPSHOT_LOG_BYTES_DEFAULT (64ULL * 1024 * 1024)

/* ---- proto: commands ---- */

/* One error line of the command core. The longest is Redis's unknown-command line: the name
 * cut at 128 bytes plus at most 131 bytes of quoted arguments and 60 of fixed text, so 512
 * (the engine's reply text bound) holds every line whole. */
#define STOA_COMMANDS_ERROR_BYTES_MAX STOA_REPLY_TEXT_BYTES_MAX
/* Redis cuts the name in "unknown command '<name>'" at 128 bytes, and stops adding quoted
 * arguments once 128 bytes of them are written (commandCheckExistence in server.c). */
#define STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX 128
/* An option echoed in an error ("Unsupported option <opt>", "Syntax error in HELLO option")
 * is cut here: Redis echoes it whole, but a line must fit STOA_COMMANDS_ERROR_BYTES_MAX. */
#define STOA_COMMANDS_OPTION_QUOTE_BYTES_MAX 128
/* Bytes of numbers and flags one translated command holds (i64 and u8 arguments): LPOS has
 * the most, three i64 and one u8 (25 bytes); 64 leaves room for one more option. */
#define STOA_COMMANDS_SCRATCH_BYTES 64
/* Arguments a translated command holds without allocating: every command but a long MSET,
 * DEL, MGET or push fits, so the common path never calls the allocator. */
#define STOA_COMMANDS_ARGUMENTS_INLINE 16
/* A larger argument array grown for one long command is freed before the next command if it
 * holds more than this many entries (16 bytes each, so 64 KiB), so one huge MSET does not
 * pin its memory; smaller grown arrays are kept and reused. */
#define STOA_COMMANDS_ARGUMENTS_KEEP 4096
/* Longest container-and-subcommand name looked up ("client|setname"); a longer subcommand
 * cannot be in the table, so it is unknown without being copied. */
#define STOA_COMMANDS_NAME_BYTES_MAX 32
/* A float argument (INCRBYFLOAT's increment, a blocking timeout) is copied to the stack to
 * be parsed; Redis refuses one this long or longer (MAX_LONG_DOUBLE_CHARS, 5 KiB). */
#define STOA_COMMANDS_FLOAT_TEXT_BYTES_MAX (5 * 1024)

/* ---- proto: RESP ---- */

/* Arguments of one RESP request: the multibulk limit Redis enforced for years (1024*1024),
 * and the most one command may carry into the log (STOA_COMMAND_ARGUMENTS_MAX). A larger
 * count is refused as "invalid multibulk length" before anything is allocated for it. */
#define STOA_RESP_ARGUMENTS_MAX (1024 * 1024)
/* Bytes of one bulk string in a request: Redis's default proto-max-bulk-len (512 MiB), so
 * anything a Redis client may send, stoa accepts; a larger length is "invalid bulk length". */
#define STOA_RESP_BULK_BYTES_MAX (512 * 1024 * 1024)
/* Bytes of one inline request line, and of a "*<count>" or "$<length>" line still without
 * its CR: Redis's PROTO_INLINE_MAX_SIZE (64 KiB). A telnet user never types more, and a
 * client that sends a line this long without ending it is not speaking RESP. */
#define STOA_RESP_INLINE_BYTES_MAX (64 * 1024)
/* Bytes of one whole request, headers included: Redis's default client-query-buffer-limit
 * (1 GiB). Checked when each bulk length is read, before its bytes arrive, so a client that
 * announces more is refused at once instead of after filling the buffer. */
#define STOA_RESP_REQUEST_BYTES_MAX (1024ULL * 1024 * 1024)
/* Before AUTH, a client may announce at most 10 arguments and 16 KiB bulks (Redis's limits
 * for unauthenticated clients), so a stranger cannot make the node buffer a gigabyte. */
#define STOA_RESP_UNAUTHENTICATED_ARGUMENTS_MAX 10
#define STOA_RESP_UNAUTHENTICATED_BULK_BYTES_MAX 16384
/* The parser's argument table starts with this many entries (most commands have fewer than
 * 16 arguments) and doubles as a request needs, up to its announced count. */
#define STOA_RESP_ARGUMENTS_CAPACITY_MIN 16
/* A table grown past this many entries (16 KiB) by one huge request (MSET of thousands of
 * keys) is freed before the next request, so it does not pin memory for the connection's
 * life; a smaller one is reused, so steady traffic allocates nothing. */
#define STOA_RESP_ARGUMENTS_KEEP_MAX 1024
/* A protocol error text: the longest is "ERR Protocol error: unauthenticated multibulk
 * length" (50 bytes); 128 leaves room. */
#define STOA_RESP_ERROR_BYTES_MAX 128
/* A double as Redis formats it: at most 17 significant digits, a sign, a dot and "e-308",
 * or an integer of up to 19 digits and a sign. */
#define STOA_RESP_DOUBLE_TEXT_BYTES_MAX 32

/* ---- proto: RESP replies (the client side: stoa cli) ---- */

/* Nesting of aggregate replies (arrays, maps, sets, pushes, attributes). Redis's deepest
 * replies (COMMAND DOCS, XINFO STREAM FULL) nest about 6 deep and hiredis stops at 9; 32
 * leaves room and bounds the parser's stack, which lives inside the parser. */
#define STOA_RESP_REPLY_DEPTH_MAX 32
/* Elements of one reply, every level counted. KEYS * over 4 million keys fits; each element
 * costs the parser about 48 bytes, so the table stays under 200 MiB. An aggregate announcing
 * more is malformed before anything is allocated for it. */
#define STOA_RESP_REPLY_ELEMENTS_MAX (4 * 1024 * 1024)
/* A line of a reply (a simple string, an error, a number, a length): the same bound as a
 * request's inline line. A server sends long texts as bulk strings. */
#define STOA_RESP_REPLY_LINE_BYTES_MAX (64 * 1024)

/* ---- cli: the stoa cli client ---- */

/* Bytes of one reply the client buffers: a bulk of the largest size with room for headers. */
#define STOA_CLI_REPLY_BYTES_MAX (1024ULL * 1024 * 1024)
/* One typed or pasted line of the interactive client; a longer one is refused unsent. */
#define STOA_CLI_LINE_BYTES_MAX (1024 * 1024)
/* Lines kept in ~/.stoa_history: redis-cli keeps 100; 1000 is a day of typing. */
#define STOA_CLI_HISTORY_LINES_MAX 1000
/* The kv word walks the keyspace with SCAN ... COUNT STOA_CLI_KV_SCAN_COUNT, for at most
 * STOA_CLI_KV_ROUNDS_MAX rounds, so a keyspace changing under it cannot keep it forever. */
#define STOA_CLI_KV_SCAN_COUNT 100
#define STOA_CLI_KV_ROUNDS_MAX (1024 * 1024)
/* How long connecting may take before the client gives up (a host that drops SYNs). */
#define STOA_CLI_CONNECT_TIMEOUT_MS 5000

/* ---- proto: Geomys ---- */

/* Bytes of one Geomys request (one MessagePack map). Geomys itself read at most 1024 bytes
 * per request; 1 MiB leaves room for values far larger than any Geomys client could send,
 * while a client that announces more is refused as soon as the length is read. */
#define STOA_GEOMYS_REQUEST_BYTES_MAX (1024 * 1024)
/* MessagePack objects in one request, the map itself, keys and values included. A request
 * has at most seven fields (15 objects); 32 leaves room for fields we ignore, bounds what the
 * decoder allocates for containers (each announced element needs a slot), and keeps nesting
 * within msgpack-c's fixed container stack (32, asserted in src/proto/geomys.c). */
#define STOA_GEOMYS_REQUEST_OBJECTS_MAX 32
/* The decoder's arena (msgpack_zone) keeps one chunk of this size between requests: the
 * objects of the largest request (32 of 24 bytes) fit in it, so steady traffic makes no
 * allocation. */
#define STOA_GEOMYS_ZONE_CHUNK_BYTES 4096
/* A Geomys error text written by the front door ("unknown command '<name>'" with the name
 * cut at 64 bytes). */
#define STOA_GEOMYS_ERROR_BYTES_MAX 128
#define STOA_GEOMYS_COMMAND_QUOTE_BYTES_MAX 64
/* An integer as decimal text: 20 digits and a sign. */
#define STOA_GEOMYS_NUMBER_TEXT_BYTES 24
/* The words of one translated request: SET key value PX ms. */
#define STOA_GEOMYS_ARGUMENTS_MAX 5

/* ---- server: the RESP front door ---- */

/* CLIENT SETNAME: Redis has no bound; 256 bytes shows in CLIENT LIST and logs readably. */
#define STOA_SERVER_CLIENT_NAME_BYTES_MAX 256
/* The last command's name kept per connection for CLIENT LIST ("client|setname"). */
#define STOA_SERVER_COMMAND_NAME_BYTES_MAX 32
/* AUTH password from config. */
#define STOA_SERVER_PASSWORD_BYTES_MAX 512
/* Connections a node accepts by default (Redis's maxclients default) and at most. */
#define STOA_SERVER_CLIENTS_DEFAULT 10000
#define STOA_SERVER_CLIENTS_MAX 1000000
/* One CLIENT LIST line: the fixed fields, a 64-byte address and a 256-byte name. */
#define STOA_SERVER_CLIENT_LINE_BYTES_MAX 1024
/* CLIENT LIST as a whole: enough for every client at the default maxclients. */
#define STOA_SERVER_CLIENT_LIST_BYTES_MAX (STOA_SERVER_CLIENTS_DEFAULT * 1024)
/* INFO: one "field:value" line, and the whole text. */
#define STOA_SERVER_INFO_LINE_BYTES_MAX 512
#define STOA_SERVER_INFO_BYTES_MAX (64 * 1024)
/* Per-connection buffers. The query buffer bounds one request (Redis's
 * client-query-buffer-limit, 1 GiB); the output buffer is what a client may leave unread
 * before it is disconnected (Redis's normal clients have no limit; 256 MiB keeps one slow
 * reader from taking the node's memory while allowing large LRANGE/MGET replies). */
/* A group commit slower than this is logged as a warning: replies waited that long. */
#define STOA_SERVER_SLOW_FLUSH_US (500 * 1000)
#define STOA_SERVER_QUERY_BYTES_DEFAULT (1024ULL * 1024 * 1024)
#define STOA_SERVER_OUTPUT_BYTES_DEFAULT (256ULL * 1024 * 1024)

/* ---- consensus: Multi-Paxos (src/consensus, docs/consensus.md) ---- */

/* Voting members of one group: groups have 1, 3 or 5 voters (DESIGN.md 6); 9 leaves room for
 * growing and replacing members one at a time. A slot's acknowledgements are a bitmask. */
#define STOA_PAXOS_MEMBERS_MAX 9
/* Peers a core tracks (voters, and removed members still being told the news). Per-peer
 * state is a fixed array scanned linearly, and acks are bits of a uint32_t. */
#define STOA_PAXOS_PEERS_MAX 16
/* Slots a leader may have in flight above its commit index (pipelining). 1024 batched slots
 * keep a fast disk and network busy; more only grows what a new leader must recover. */
#define STOA_PAXOS_WINDOW_SLOTS_MAX 1024
#define STOA_PAXOS_WINDOW_SLOTS_DEFAULT 256
/* Entries a core keeps above its snapshot (the ring's capacity). The driver compacts after a
 * snapshot; past this the leader refuses proposals (FULL) until it does. 2^20 slots of ring
 * cost 64 MiB of bookkeeping at most; 65536 (4 MiB) is the default. */
#define STOA_PAXOS_LOG_SLOTS_MAX (1024 * 1024)
#define STOA_PAXOS_LOG_SLOTS_DEFAULT 65536
/* Bytes of one entry's value: the largest command (one SET of the largest value), so a batch
 * the driver packs is at most one command when that command is huge. */
#define STOA_PAXOS_VALUE_BYTES_MAX STOA_COMMAND_BYTES_MAX
/* Value bytes one ACCEPT, PROMISE piece or CATCHUP carries, unless one entry alone is larger
 * (it then goes alone): 1 MiB keeps one message to about a millisecond of a fast link. */
#define STOA_PAXOS_MESSAGE_BATCH_BYTES (1024 * 1024)
/* Entries one message may carry: a batch of the smallest entries (1 MiB of empty no-ops is
 * 28k entries; senders stop at this count). The decoder refuses more. */
#define STOA_PAXOS_MESSAGE_ENTRIES_MAX 4096
/* Bytes of one encoded message: one largest value with its entry header and the message
 * header, with room to spare. Fits one peer frame. */
#define STOA_PAXOS_MESSAGE_BYTES_MAX (STOA_PAXOS_VALUE_BYTES_MAX + 64 * 1024)
/* Messages one batch of outputs holds. A leader sends each follower a few ACCEPTs and a
 * heartbeat per batch; past this a message is dropped (logged), and retransmission by
 * heartbeat ticks repairs it. */
#define STOA_PAXOS_OUTBOX_MESSAGES_MAX 512
/* Entry references the messages of one batch hold in total: a window of Accepts to each of
 * eight followers, with room for promise pieces (past this, messages wait for the next
 * batch or a retransmission). */
#define STOA_PAXOS_OUTBOX_ENTRIES_MAX (16 * 1024)
/* Chosen entries handed to the driver to apply per batch: a window of slots and then some. */
#define STOA_PAXOS_APPLY_MAX 4096
/* Read-index requests waiting for their heartbeat round: far more than one loop iteration
 * gathers, since the driver batches reads that arrive together into one request. */
#define STOA_PAXOS_READS_MAX 4096
/* Heartbeat rounds whose send tick a leader remembers to date its lease from the round a
 * quorum acknowledged: older rounds are past any lease anyway. */
#define STOA_PAXOS_ROUNDS_TRACKED 64
/* Ticks between retransmissions of unacknowledged Accepts, catch-up requests and prepares
 * are multiples of the heartbeat; the first is resent after this many heartbeats. */
#define STOA_PAXOS_RETRANSMIT_HEARTBEATS 2
/* Ticks: bounds of the timing config (a tick is the driver's choice, 10 ms in the server). */
#define STOA_PAXOS_TICKS_MAX 100000

/* ---- tests/check: the linearizability checker (docs/checking.md) ---- */

/* Events one history may hold: operations are numbered with 32-bit indices, and 2^27 events
 * (tens of gigabytes of JSON) is far beyond any history we record. */
#define STOA_CHECK_EVENTS_MAX (1u << 27)
/* Bytes the search of one key may use for its memo cache and model states, by default
 * (stoa-check --memory-mb changes it). Past it the key's verdict is "unknown: search limit
 * reached", never a crash: 1 GiB fits the test machines with room for the history. */
#define STOA_CHECK_SEARCH_BYTES_DEFAULT (1024ULL * 1024 * 1024)
/* Operations an explanation lists on each side of the point where the search failed: enough
 * to see the conflict, few enough to read. */
#define STOA_CHECK_EXPLAIN_OPERATIONS_MAX 6
/* Bytes of a model state or a value as quoted in an explanation; longer ones are cut. */
#define STOA_CHECK_QUOTE_BYTES_MAX 200
/* Bytes of a parse error message, with the line number. */
#define STOA_CHECK_ERROR_BYTES 256
/* The generator's bounds: far above what tests and figures use. */
#define STOA_CHECK_GEN_PROCESSES_MAX 1024
#define STOA_CHECK_GEN_KEYS_MAX (1u << 20)
#define STOA_CHECK_GEN_OPERATIONS_MAX (1u << 24)

/* ---- server: the replica (src/server/replica*.c, docs/replication.md) ---- */

/* Slots this node proposed and still waits for, by slot modulo this: at least the core's
 * largest window, so a slot's record is only reused after the window moved past it. */
#define STOA_REPLICA_PENDING_SLOTS 1024
/* The leader's speculative view (replica_speculate.c) holds copies of the keys written ahead
 * of the applied index; past these it is dropped and built again from the log in flight,
 * which bounds its memory (a deque is copied whole the first time the view changes it). */
#define STOA_REPLICA_VIEW_KEYS_MAX 65536
#define STOA_REPLICA_VIEW_BYTES_MAX (64u * 1024 * 1024)
/* The view copies a key the first time it changes it; a larger value (a long deque) is not
 * copied (the write is served safe), since each new view would copy it again. */
#define STOA_REPLICA_VIEW_COPY_BYTES_MAX (256u * 1024)
/* An idle leader proposes a stamped no-op at most this often when a key has expired on the
 * wall clock but not on the log's (replica_clock_tick): expired keys leave memory (and
 * DBSIZE) within about this long, at the cost of one slot. */
#define STOA_REPLICA_CLOCK_INTERVAL_MS 1000
/* A member takes a snapshot (and then compacts its journal) once a 1/this share of its log
 * ring (cluster.logSlots) was applied since its last one, whatever the entries' size: a leader
 * refuses proposals when the ring is full, so a snapshot must start well before (at a quarter
 * it has three quarters of the ring to finish in, about 45 s at 1,000 slots a second). Found
 * by the nemesis: small batches filled the ring, and nothing took a snapshot. */
#define STOA_REPLICA_SNAPSHOT_FRACTION 4
/* cluster.logSlots at least: four windows, so a snapshot every quarter still leaves room for
 * a full window in flight. */
#define STOA_REPLICA_LOG_SLOTS_MIN (4 * STOA_PAXOS_WINDOW_SLOTS_DEFAULT)
/* Requests forwarded by followers that this leader serves at once. 4,096 is far above the
 * writes of one loop iteration; more are refused (the follower retries another time). */
#define STOA_REPLICA_REMOTES_MAX 4096
/* Ready batches processed per loop hook: each may make the next (an apply that answers a
 * read); 64 rounds end any chain, the rest waits for the next iteration. */
#define STOA_REPLICA_READY_ROUNDS_MAX 64
/* A batch (one slot's value) closes at 4 MiB: one message to each follower, one journal
 * record; a single larger command travels alone. */
#define STOA_REPLICA_BATCH_BYTES_MAX (4 * 1024 * 1024)
/* Snapshots go to lagging followers in chunks of 256 KiB, at most 16 unacknowledged
 * (4 MiB in flight per follower), and a transfer with no acknowledgement for 10 s restarts. */
#define STOA_REPLICA_SNAPSHOT_CHUNK_BYTES (256 * 1024)
#define STOA_REPLICA_SNAPSHOT_WINDOW_CHUNKS 16
#define STOA_REPLICA_SNAPSHOT_ACK_TIMEOUT_MS 10000
/* Membership changes remembered to work out the voters as of a snapshot's slot: changes are
 * one at a time and rare; 64 reach back further than any snapshot in progress. */
#define STOA_REPLICA_MEMBER_CHANGES_KEPT 64
/* cluster.tick: 1 ms (tests; a loaded loop lags that much anyway) to 1 s (elections of tens
 * of seconds are useless). */
#define STOA_REPLICA_TICK_MS_MIN 1
#define STOA_REPLICA_TICK_MS_MAX 1000

/* ---- server: GROUP LOG, log inspection (src/server/server_group.c, replica_describe.c) ---- */

/* Slots one GROUP LOG lists: 20 by default (a screenful), at most 1000, so one reply stays
 * within about a megabyte of text and one call walks a bounded stretch of the ring. */
#define STOA_GROUP_LOG_COUNT_DEFAULT 20
#define STOA_GROUP_LOG_COUNT_MAX 1000
/* Commands of a batch named in its description ("SET k1, INCRBY c, ..."): a few show what
 * the batch is; the count says how many there are. */
#define STOA_GROUP_LOG_COMMANDS_NAMED_MAX 4
/* Bytes of a key quoted in a description (of a member's address: twice that); longer ones end
 * in "...". */
#define STOA_GROUP_LOG_KEY_BYTES_MAX 32
/* Arguments decoded on the stack to describe a command; a command with more (a long MSET or
 * DEL) is decoded into a heap array once. */
#define STOA_GROUP_LOG_ARGUMENTS_INLINE 64
/* Bytes of one entry's description: the header and the named commands with their keys, each
 * key escaped (\xHH is 4 bytes per byte) at worst. Longer text is cut (never overrun). */
#define STOA_GROUP_LOG_TEXT_BYTES 1024
_Static_assert(80 + STOA_GROUP_LOG_COMMANDS_NAMED_MAX * (40 + 4 * STOA_GROUP_LOG_KEY_BYTES_MAX) <=
                   STOA_GROUP_LOG_TEXT_BYTES,
               "a GROUP LOG description of the named commands fits its text");

/* ---- proto and server: the HTTP/JSON front door (docs/protocols/http.md) ---- */

/* A request body (a GameObject's JSON, a raw value). 1 MiB by default: a Nomad game object
 * is small; http.maxBodyBytes may raise it up to 64 MiB, beyond which base64 and JSON copies
 * of one request would take hundreds of MiB. */
#define STOA_HTTP_BODY_BYTES_DEFAULT (1024 * 1024)
#define STOA_HTTP_BODY_BYTES_MAX (64 * 1024 * 1024)
/* libmicrohttpd's per-connection memory pool holds the request line and headers: 32 KiB
 * (its default, and above any browser's headers); a request whose headers do not fit is
 * refused with 431 and the connection closed. */
#define STOA_HTTP_CONNECTION_MEMORY_BYTES (32 * 1024)
/* HTTP connections at once by default (http.maxClients). */
#define STOA_HTTP_CLIENTS_DEFAULT 1024
/* A request must arrive whole (headers and body) within http.requestTimeoutSeconds of its
 * first byte or of the previous response (30 s by default; at most an hour). */
#define STOA_HTTP_TIMEOUT_SECONDS_DEFAULT 30
#define STOA_HTTP_TIMEOUT_SECONDS_MAX 3600
/* The deadline sweep runs at least this often, so a cut-off is late by at most this. */
#define STOA_HTTP_SWEEP_MS_MAX 1000
/* Group commits one loop hook of the HTTP door makes in a row: resumed keep-alive clients
 * may send their next write at once; the rest waits one loop iteration. */
#define STOA_HTTP_COMMIT_ROUNDS_MAX 4
/* libmicrohttpd runs in a row while it says work is ready at once (timeout 0): a resumed
 * connection goes back to its epoll set only on the run after its response, so the second
 * run must not wait for a timer; past this, the rest waits for a 1 ms timer. */
#define STOA_HTTP_DRIVE_ROUNDS_MAX 4
/* A route's path parameter (an object id or a key), after percent-decoding: a key's bound. */
#define STOA_HTTP_PARAM_BYTES_MAX STOA_KEY_BYTES_MAX
/* An error message in a JSON error body. */
#define STOA_HTTP_ERROR_TEXT_BYTES_MAX 256
/* The /metrics text: commands x buckets lines fit with room to spare. */
#define STOA_HTTP_METRICS_BYTES_MAX (512 * 1024)
/* One Swagger UI asset read at start (swagger-ui-bundle.js is about 1.5 MiB). */
#define STOA_HTTP_ASSET_BYTES_MAX (16 * 1024 * 1024)
/* Elements of one captured engine reply (OBJECT_GET's array has 5). */
#define STOA_HTTP_CAPTURE_ELEMENTS_MAX 8

/* ---- proto and server: multiverse9 (docs/protocols/multiverse9.md) ---- */

/* One request's payload (a CREATE value, a list of targets). multiverse9 stores whole values
 * in one Redis string; 1 MiB is far above its examples and bounds what one unframed request
 * (whose end is only known at end of stream) makes the node buffer. */
#define STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX (1024 * 1024)
/* Targets of one AGGREGATE or keys of one REMOVE: 1024 ULIDs with addresses is ~90 KiB. */
#define STOA_MULTIVERSE9_TARGETS_MAX 1024
/* Distinct remote nodes one AGGREGATE may fetch from (one connection each, at once). */
#define STOA_MULTIVERSE9_REMOTES_MAX 16
/* An unframed request (netcat's) has no length: it ends at end of stream, or when no byte
 * has come for this long (netcat-openbsd does not half-close after its input ends). */
#define STOA_MULTIVERSE9_QUIET_MS 150
/* How often the server looks for quiet unframed requests and late remote nodes while any
 * is waiting: the granularity of both deadlines. */
#define STOA_MULTIVERSE9_TICK_MS 25
/* A reply to one remote fetch (one target's value, framed) that this node accepts. */
#define STOA_MULTIVERSE9_REMOTE_REPLY_BYTES_MAX (STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX + 1024)
/* Peers in multiverse9.nodes. */
#define STOA_MULTIVERSE9_NODES_MAX 32
/* multiverse9.nodes as text: 32 entries of a base64 key (44), '@', an address (64) and a
 * comma fit; a config string holds at most STOA_CONFIG_VALUE_BYTES_MAX. */
#define STOA_MULTIVERSE9_NODES_BYTES_MAX 4000
/* multiverse9.name: a human-readable node name. */
#define STOA_MULTIVERSE9_NAME_BYTES_MAX 128
/* An error text of one reply or one AGGREGATE entry. */
#define STOA_MULTIVERSE9_ERROR_BYTES_MAX 256
/* The METADATA reply (JSON): the fixed fields and every acknowledged node. */
#define STOA_MULTIVERSE9_METADATA_BYTES_MAX (STOA_MULTIVERSE9_NODES_MAX * 200 + 1024)
/* `stoa start --threads`: validated and logged (stoa serves on one event loop). */
#define STOA_MULTIVERSE9_THREADS_MAX 1024

/* ---- backend: external Redis (src/backend/redis_backend.c) ---- */

/* data.redisUri: "redis://host:port/db" or "unix:///path". */
#define STOA_REDIS_URI_BYTES_MAX 1024
/* A synchronous call to Redis gives up after this long, so a hung Redis cannot stall the
 * event loop for ever: the command fails with an I/O error instead. */
#define STOA_REDIS_TIMEOUT_MS 2000
/* Keys one SCAN step asks Redis for (its COUNT hint). */
#define STOA_REDIS_SCAN_COUNT 100

/* ---- proto and server: the peer transport (docs/protocols/peer.md) ---- */

/* Payload bytes of one peer frame after the handshake. A replicated write carries one whole
 * command, so the largest command (STOA_COMMAND_BYTES_MAX) must fit, with 1 MiB for the
 * consensus message around it. The frame's length field is 32 bits. */
#define STOA_PEER_FRAME_PAYLOAD_BYTES_MAX (STOA_COMMAND_BYTES_MAX + 1024 * 1024)
/* Payload bytes of a frame before the peer is authenticated: the largest handshake payload
 * is 50 bytes, so a stranger can make the node buffer at most this much. */
#define STOA_PEER_HANDSHAKE_PAYLOAD_BYTES_MAX 128
/* Random bytes of each side's challenge: 256 bits never repeat, so a recorded answer never
 * fits a new connection. */
#define STOA_PEER_CHALLENGE_BYTES 32
/* HMAC-SHA-512-256 output (crypto_auth_hmacsha512256_BYTES). */
#define STOA_PEER_MAC_BYTES 32
/* cluster.secret: at least 16 bytes (128 bits if random), so it cannot be guessed online;
 * at most 512, as the RESP password. */
#define STOA_PEER_SECRET_BYTES_MIN 16
#define STOA_PEER_SECRET_BYTES_MAX 512
/* Members of one replica group the transport knows: groups have 1, 3 or 5 voting members and
 * a few learners, and a member being replaced is counted twice for a while. Per-peer state
 * is a fixed array, scanned linearly. */
#define STOA_PEER_MEMBERS_MAX 64
/* Member ids are 1 .. 2^32 - 1 (0 means none): they go into ballots next to a round. */
#define STOA_PEER_NODE_ID_MAX 0xffffffffULL
/* cluster.members as text: 64 members of "4294967295=[v6 address]:65535," fit in 4 KiB. */
#define STOA_PEER_MEMBERS_TEXT_BYTES_MAX 4096
/* Bytes of frames queued for one peer and not yet taken by the kernel. A send past this is
 * refused with STOA_ERR_BUSY (consensus retransmits), so a slow or stuck peer cannot take
 * the node's memory; one frame larger than this is still accepted into an empty queue, so
 * the largest command can always be replicated. 64 MiB is a second of a fast link. */
#define STOA_PEER_SEND_QUEUE_BYTES_DEFAULT (64ULL * 1024 * 1024)
/* A buffer grown past this by one large frame (or a burst) is freed once empty instead of
 * kept, so one huge write does not pin its memory; smaller buffers are reused, so steady
 * traffic does not allocate. 4 MiB keeps the buffers of a busy link (three per connection)
 * without page faults on every refill, and costs at most 12 MiB per peer. */
#define STOA_PEER_BUFFER_KEEP_BYTES (4 * 1024 * 1024)
/* The transport's one timer: connects due, timeouts, pings. 50 ms is finer than any of the
 * periods it serves and wakes the loop only 20 times a second. */
#define STOA_PEER_TICK_MS 50
/* A connection that has not finished the handshake this long after it opened is closed: a
 * handshake is three round trips, so this is only reached by a stranger or a stuck peer. */
#define STOA_PEER_HANDSHAKE_TIMEOUT_MS 5000
/* An idle dialer sends PING this often, and a connection that heard nothing for
 * STOA_PEER_IDLE_TIMEOUT_MS is closed as dead: a frozen or unplugged peer is noticed in
 * seconds instead of TCP's many minutes. */
#define STOA_PEER_PING_INTERVAL_MS 1000
#define STOA_PEER_IDLE_TIMEOUT_MS 5000
/* Defaults and bounds of cluster.connectTimeout and the reconnect backoff. A connect that
 * takes longer than the timeout is abandoned (the next attempt follows the backoff). The
 * delay before attempt n is backoffMin * 2^n, at most backoffMax, with jitter (a uniform draw
 * in its upper half), so restarting nodes do not dial in lockstep. */
#define STOA_PEER_CONNECT_TIMEOUT_MS_DEFAULT 3000
#define STOA_PEER_BACKOFF_MS_MIN_DEFAULT 100
#define STOA_PEER_BACKOFF_MS_MAX_DEFAULT 5000
#define STOA_PEER_TIMING_MS_MIN 10
/* An hour: a longer connect timeout or backoff is a unit typo, not a setting. */
#define STOA_PEER_TIMING_MS_MAX (60 * 60 * 1000)
/* Doublings of the backoff counted at most, so backoffMin << n cannot overflow. */
#define STOA_PEER_BACKOFF_DOUBLINGS_MAX 20
/* Connects to one peer that may be in flight at once. The env cannot cancel a connect, so an
 * abandoned one to a silent host lingers until the kernel gives up (about two minutes on
 * Linux); past this many, no new attempt starts until one ends. */
#define STOA_PEER_CONNECTS_PENDING_MAX 4
/* Accepted connections that have not finished the handshake, at once: a stranger opening
 * connections cannot hold more than this many (each costs a read buffer); more are closed at
 * accept. A group's members need one each. */
#define STOA_PEER_HANDSHAKES_MAX 64
/* Queued frames are handed to the stream in writes of at most this many bytes, so a large
 * queue shows progress every megabyte: a connection busy sending it is not judged silent
 * while its writes keep finishing. */
#define STOA_PEER_WRITE_CHUNK_BYTES (1024 * 1024)

/* ---- relationships ---- */

_Static_assert(STOA_PEER_FRAME_PAYLOAD_BYTES_MAX >= STOA_COMMAND_BYTES_MAX + 64 * 1024 &&
                   STOA_PEER_FRAME_PAYLOAD_BYTES_MAX < 0xffffffffULL - 64,
               "a peer frame carries the largest command and its length fits 32 bits");
_Static_assert(STOA_PEER_HANDSHAKE_PAYLOAD_BYTES_MAX >= 2 + 8 + 8 + STOA_PEER_CHALLENGE_BYTES,
               "every handshake payload fits the handshake bound");
_Static_assert(STOA_PEER_SECRET_BYTES_MIN <= STOA_PEER_SECRET_BYTES_MAX &&
                   STOA_PEER_SECRET_BYTES_MAX <= STOA_CONFIG_VALUE_BYTES_MAX,
               "a cluster secret fits a config value");
_Static_assert(STOA_PEER_MEMBERS_TEXT_BYTES_MAX <= STOA_CONFIG_VALUE_BYTES_MAX,
               "the member list fits a config value");
_Static_assert(STOA_PEER_BACKOFF_MS_MIN_DEFAULT <= STOA_PEER_BACKOFF_MS_MAX_DEFAULT &&
                   STOA_PEER_TIMING_MS_MIN <= STOA_PEER_BACKOFF_MS_MIN_DEFAULT &&
                   STOA_PEER_BACKOFF_MS_MAX_DEFAULT <= STOA_PEER_TIMING_MS_MAX,
               "the backoff defaults are in range");
_Static_assert(STOA_PEER_TICK_MS < STOA_PEER_PING_INTERVAL_MS &&
                   STOA_PEER_PING_INTERVAL_MS < STOA_PEER_IDLE_TIMEOUT_MS,
               "a live peer is pinged several times before it is judged silent");
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
_Static_assert(STOA_KEY_BYTES_MAX + STOA_VALUE_BYTES_MAX < STOA_COMMAND_BYTES_MAX,
               "a SET of the largest key and value fits in one command");
_Static_assert(STOA_VALUE_BYTES_MAX < 0xffffffffULL - STOA_BYTES_PREALLOC_MAX,
               "value lengths and capacities fit in 32 bits");
_Static_assert(STOA_KEY_BYTES_MAX <= STOA_VALUE_BYTES_MAX, "a key fits in a value (KEYS, SCAN)");
_Static_assert((STOA_DEQUE_CAPACITY_MIN & (STOA_DEQUE_CAPACITY_MIN - 1)) == 0,
               "deque rings are powers of two");

_Static_assert(STOA_APPLY_FLOAT_FORMAT_BYTES >= 2 + 323 + 17 + 2,
               "the smallest double fits in fixed notation");
_Static_assert(STOA_APPLY_SCRATCH_BYTES_MAX >= STOA_VALUE_BYTES_MAX,
               "the scratch buffer holds a copy of the largest value");

_Static_assert(STOA_WAL_RECORD_BYTES_MAX >= STOA_COMMAND_BYTES_MAX,
               "every command fits in one log record");
_Static_assert(STOA_WAL_RECORD_BYTES_MAX < 0xffffffffULL - 64,
               "a record's length fits its 32-bit field");
_Static_assert(STOA_WAL_SEGMENT_BYTES_MIN <= STOA_WAL_SEGMENT_BYTES_MAX,
               "a log segment bound can be chosen");
_Static_assert(STOA_WAL_BATCH_BYTES_MAX <= STOA_WAL_SEGMENT_BYTES_MAX,
               "a full batch of small records fits in one segment");

_Static_assert(STOA_SNAPSHOT_KEEP_COUNT >= 2, "a damaged newest snapshot has a fallback");
_Static_assert(STOA_SNAPSHOT_CANDIDATES_MAX >= STOA_SNAPSHOT_KEEP_COUNT,
               "a load tries every kept snapshot");
_Static_assert(STOA_SNAPSHOT_VALUE_BYTES_MAX >=
                   STOA_VALUE_BYTES_MAX + STOA_OBJECT_ID_BYTES_MAX + 64,
               "every bytes value and object fits in one snapshot record");
_Static_assert(STOA_SNAPSHOT_IO_BYTES >= 256, "a snapshot header and trailer fit in one chunk");

_Static_assert(STOA_RESP_ARGUMENTS_MAX <= STOA_COMMAND_ARGUMENTS_MAX,
               "every RESP request's arguments fit in one command");
_Static_assert(STOA_RESP_BULK_BYTES_MAX >= STOA_VALUE_BYTES_MAX,
               "the largest value can be sent in one bulk");
_Static_assert(STOA_RESP_REQUEST_BYTES_MAX >= STOA_RESP_BULK_BYTES_MAX + 1024,
               "a request of one largest bulk with its headers fits");
_Static_assert(STOA_RESP_REQUEST_BYTES_MAX <= STOA_COMMAND_BYTES_MAX,
               "a request's bytes fit in one command's bytes");
_Static_assert(STOA_RESP_UNAUTHENTICATED_ARGUMENTS_MAX <= STOA_RESP_ARGUMENTS_MAX &&
                   STOA_RESP_UNAUTHENTICATED_BULK_BYTES_MAX <= STOA_RESP_BULK_BYTES_MAX,
               "the unauthenticated limits are tighter");
_Static_assert(STOA_RESP_ARGUMENTS_CAPACITY_MIN <= STOA_RESP_ARGUMENTS_KEEP_MAX,
               "a table of the first size is kept");

_Static_assert(STOA_RESP_REPLY_LINE_BYTES_MAX + 2 < STOA_CLI_REPLY_BYTES_MAX &&
                   STOA_RESP_BULK_BYTES_MAX + 1024 <= STOA_CLI_REPLY_BYTES_MAX,
               "the client buffers a reply of one largest bulk or line");

_Static_assert(STOA_GEOMYS_ZONE_CHUNK_BYTES >= STOA_GEOMYS_REQUEST_OBJECTS_MAX * 32,
               "the objects of the largest Geomys request fit in the kept arena chunk");
_Static_assert(STOA_GEOMYS_ERROR_BYTES_MAX >= STOA_GEOMYS_COMMAND_QUOTE_BYTES_MAX + 32,
               "a Geomys unknown-command text fits whole");
_Static_assert(STOA_GEOMYS_REQUEST_BYTES_MAX <= STOA_COMMAND_BYTES_MAX,
               "a Geomys request's bytes fit in one command's bytes");
_Static_assert(STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX <= STOA_COMMAND_BYTES_MAX,
               "a multiverse9 CREATE's value fits in one command's bytes");
_Static_assert(STOA_MULTIVERSE9_TARGETS_MAX < STOA_COMMAND_ARGUMENTS_MAX,
               "a REMOVE's keys fit in one DEL");

_Static_assert(STOA_COMMANDS_ERROR_BYTES_MAX >= 2 * STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX + 128,
               "an unknown-command line fits whole");
_Static_assert(STOA_COMMANDS_ERROR_BYTES_MAX >= STOA_COMMANDS_OPTION_QUOTE_BYTES_MAX + 128,
               "an option echoed in an error fits whole");
_Static_assert(STOA_COMMANDS_ARGUMENTS_KEEP >= STOA_COMMANDS_ARGUMENTS_INLINE,
               "a kept argument array is at least the inline one");
_Static_assert(STOA_COMMANDS_ARGUMENTS_KEEP <= STOA_COMMAND_ARGUMENTS_MAX,
               "a kept argument array is within a command's arguments");

_Static_assert(STOA_REPLICA_PENDING_SLOTS >= STOA_PAXOS_WINDOW_SLOTS_MAX,
               "a pending slot's record must outlive the window");

#endif
