/* The write-ahead log (wal.h); the byte layout is in docs/formats/log.md. */
#include "engine/wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/bytes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/time.h"

#define MODULE "wal"
#define SEGMENT_HEADER_BYTES 32
#define RECORD_HEADER_BYTES 40
/* Bytes of the record header its own checksum covers (everything before that checksum). */
#define RECORD_HEADER_CHECKED_BYTES 32
/* Version 2 gave each record header its own checksum and the durable index (version 1 had
 * one checksum over header and payload, so a damaged length could not be told from a torn
 * write). Version 1 segments are refused: stoa had no release that wrote them. */
#define FORMAT_VERSION 2
#define NAME_DIGITS 20
#define NAME_SUFFIX ".log"
#define CORRUPT_SUFFIX ".corrupt-"
/* "STOALOG\n": the newline catches a file mangled by a text-mode transfer. */
static const uint8_t segment_magic[8] = {'S', 'T', 'O', 'A', 'L', 'O', 'G', '\n'};

typedef char path_buffer[STOA_PATH_BYTES_MAX + 1];

struct segment {
    uint64_t first_index;
    uint64_t bytes; /* valid bytes: header and whole records */
};

struct stoa_wal {
    struct stoa_env *env;
    const struct stoa_log *log;
    char *directory;
    enum stoa_wal_durability durability;
    uint64_t segment_bytes_max;
    size_t record_bytes_max;
    size_t batch_bytes_max;
    struct segment *segments; /* oldest first; the last one is active */
    size_t segment_count;
    size_t segment_capacity;
    struct stoa_env_file *active;
    uint64_t next_index;    /* the index the next append gets */
    uint64_t written_index; /* the last index written to the active file */
    uint64_t durable_index; /* the last index known to be on disk */
    bool unsynced;          /* written data not yet synced (everysec) */
    int64_t last_sync_ns;
    /* Records appended and not yet written, after SEGMENT_HEADER_BYTES of room for the
     * header of a new segment (so a rollover writes header and batch in one pwrite). */
    struct stoa_buf batch;
    int failure;
};

/* ---- little-endian fields and checksums ---- */

/* The header checksum covers every header field, the payload checksum among them, so a
 * header that checks binds its length, index and payload together. */
static uint64_t header_checksum(const uint8_t *header) {
    return XXH3_64bits(header, RECORD_HEADER_CHECKED_BYTES);
}

static void encode_segment_header(uint8_t *out, uint64_t first_index) {
    memcpy(out, segment_magic, sizeof(segment_magic));
    stoa_bytes_put_u32(out + 8, FORMAT_VERSION);
    stoa_bytes_put_u32(out + 12, 0);
    stoa_bytes_put_u64(out + 16, first_index);
    stoa_bytes_put_u64(out + 24, XXH3_64bits(out, 24));
}

/* durable_index is the log's durable index at append time: every record up to it was on disk
 * before this one was written, which recovery uses to tell corruption from a torn write. */
static void encode_record_header(uint8_t *out, uint64_t index, uint64_t durable_index,
                                 const void *payload, size_t length) {
    STOA_ASSERT(durable_index < index);
    stoa_bytes_put_u32(out, (uint32_t)length);
    stoa_bytes_put_u32(out + 4, 0);
    stoa_bytes_put_u64(out + 8, index);
    stoa_bytes_put_u64(out + 16, durable_index);
    stoa_bytes_put_u64(out + 24, XXH3_64bits(payload, length));
    stoa_bytes_put_u64(out + 32, header_checksum(out));
}

/* ---- paths ---- */

static void segment_path(const struct stoa_wal *wal, uint64_t first_index, char *out) {
    int length = snprintf(out, STOA_PATH_BYTES_MAX + 1, "%s/%0*" PRIu64 NAME_SUFFIX, wal->directory,
                          NAME_DIGITS, first_index);
    STOA_ASSERT(length > 0 && length <= STOA_PATH_BYTES_MAX); /* checked at open */
}

/* Parses "<20 digits>.log"; returns whether name is a segment, and its first index. */
static bool parse_segment_name(const char *name, uint64_t *first_index) {
    if (strlen(name) != NAME_DIGITS + strlen(NAME_SUFFIX) ||
        strcmp(name + NAME_DIGITS, NAME_SUFFIX) != 0) {
        return false;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
    }
    *first_index = value;
    return value > 0;
}

/* ---- failure ---- */

static int fail(struct stoa_wal *wal, int status, const char *what) {
    STOA_ASSERT(status < 0);
    wal->failure = status;
    STOA_LOG_ERROR(wal->log, MODULE, "log failed; writes are refused from now on",
                   STOA_FIELD_STR("operation", what), STOA_FIELD_ERR(status),
                   STOA_FIELD_STR("directory", wal->directory));
    return status;
}

/* ---- reading segments ---- */

/* A window over a file: bytes [start, start + length) of it are in buffer. */
struct reader {
    struct stoa_env_file *file;
    uint64_t file_bytes;
    uint64_t data_end; /* past the last byte that is not zero (find_data_end) */
    uint8_t *buffer;
    size_t capacity;
    uint64_t start;
    size_t length;
};

static void reader_free(struct reader *reader) {
    stoa_free(reader->buffer);
    reader->buffer = NULL;
}

/* Points *bytes at count bytes of the file at offset. Returns 0, STOA_ERR_AGAIN if the file
 * ends first, STOA_ERR_NOMEM or an env error. */
static int reader_get(struct stoa_env *env, struct reader *reader, uint64_t offset, size_t count,
                      const uint8_t **bytes) {
    if (offset >= reader->start && offset + count <= reader->start + reader->length) {
        *bytes = reader->buffer + (offset - reader->start);
        return STOA_OK;
    }
    if (offset > reader->file_bytes || count > reader->file_bytes - offset) {
        return STOA_ERR_AGAIN;
    }
    if (count > reader->capacity || reader->buffer == NULL) {
        size_t capacity = count > STOA_WAL_READ_BYTES ? count : STOA_WAL_READ_BYTES;
        uint8_t *grown = stoa_realloc(reader->buffer, capacity);
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        reader->buffer = grown;
        reader->capacity = capacity;
    }
    uint64_t left = reader->file_bytes - offset;
    size_t want = left < reader->capacity ? (size_t)left : reader->capacity;
    size_t got = 0;
    reader->length = 0;
    int status = env->ops->file_pread(reader->file, reader->buffer, want, offset, &got);
    if (status != 0) {
        return status;
    }
    reader->start = offset;
    reader->length = got;
    if (got < count) {
        return STOA_ERR_AGAIN;
    }
    *bytes = reader->buffer;
    return STOA_OK;
}

enum record_result {
    RECORD_OK,
    RECORD_PARTIAL,     /* the file ends in the header, or in a record whose header checks */
    RECORD_BAD_HEADER,  /* the header checksum or a header field is wrong: length unknown */
    RECORD_BAD_PAYLOAD, /* the header checks and the payload does not */
};

struct record_view {
    uint64_t index;
    const uint8_t *payload; /* borrowed from the reader until its next read */
    size_t length;          /* trusted only when the header checked */
    const char *reason;
};

/* Checks the fields of a record header whose checksum matched; returns NULL or why not. */
static const char *header_fault(const uint8_t *header, uint64_t expected_index,
                                size_t record_bytes_max) {
    uint64_t index = stoa_bytes_get_u64(header + 8);
    if (stoa_bytes_get_u32(header + 4) != 0) {
        return "record flags are not zero";
    }
    if (stoa_bytes_get_u32(header) > record_bytes_max) {
        return "record length above the bound";
    }
    if (index != expected_index) {
        return "record index out of sequence";
    }
    if (stoa_bytes_get_u64(header + 16) >= index) {
        return "record durable index not below its own index";
    }
    return NULL;
}

/* Reads and checks the record at offset: first the header against its own checksum, so that
 * its length is trusted before it is used, then the payload. Returns 0 with *result, or an
 * env error. */
static int read_record(struct stoa_env *env, struct reader *reader, uint64_t offset,
                       uint64_t expected_index, size_t record_bytes_max, struct record_view *view,
                       enum record_result *result) {
    const uint8_t *header = NULL;
    int status = reader_get(env, reader, offset, RECORD_HEADER_BYTES, &header);
    if (status != 0) {
        *result = RECORD_PARTIAL;
        view->reason = "record header cut short";
        return status == STOA_ERR_AGAIN ? STOA_OK : status;
    }
    *result = RECORD_BAD_HEADER;
    if (header_checksum(header) != stoa_bytes_get_u64(header + RECORD_HEADER_CHECKED_BYTES)) {
        view->reason = "record header checksum mismatch";
        return STOA_OK;
    }
    view->reason = header_fault(header, expected_index, record_bytes_max);
    if (view->reason != NULL) {
        return STOA_OK;
    }
    uint32_t length = stoa_bytes_get_u32(header);
    uint64_t payload_checksum = stoa_bytes_get_u64(header + 24);
    view->length = length;
    const uint8_t *record = NULL;
    status = reader_get(env, reader, offset, RECORD_HEADER_BYTES + (size_t)length, &record);
    if (status != 0) {
        *result = RECORD_PARTIAL;
        view->reason = "record cut short";
        return status == STOA_ERR_AGAIN ? STOA_OK : status;
    }
    const uint8_t *payload = record + RECORD_HEADER_BYTES;
    if (XXH3_64bits(payload, length) != payload_checksum) {
        *result = RECORD_BAD_PAYLOAD;
        view->reason = "record payload checksum mismatch";
        return STOA_OK;
    }
    *view = (struct record_view){.index = expected_index, .payload = payload, .length = length};
    *result = RECORD_OK;
    return STOA_OK;
}

/* Whether the bytes at header are a record header that checks and says that the record with
 * index damaged_index was on disk before it was written. The cheap field tests come first:
 * this runs at every byte offset of a damaged tail. */
static bool proves_durable(const uint8_t *header, uint64_t damaged_index, size_t record_bytes_max) {
    uint64_t index = stoa_bytes_get_u64(header + 8);
    uint64_t durable_index = stoa_bytes_get_u64(header + 16);
    if (durable_index < damaged_index || index <= durable_index) {
        return false;
    }
    if (stoa_bytes_get_u32(header + 4) != 0 || stoa_bytes_get_u32(header) > record_bytes_max) {
        return false;
    }
    return header_checksum(header) == stoa_bytes_get_u64(header + RECORD_HEADER_CHECKED_BYTES);
}

/* Looks at every byte offset from offset to the end of the file for a record header that
 * proves the record damaged_index durable (proves_durable). A damaged length leaves the next
 * record's place unknown, hence every offset. Sets *found_offset to the header's offset, or
 * to 0 when there is none. Returns 0, STOA_ERR_NOMEM or an env error. */
static int find_durable_proof(struct stoa_env *env, struct reader *reader, uint64_t offset,
                              uint64_t damaged_index, size_t record_bytes_max,
                              uint64_t *found_offset) {
    *found_offset = 0;
    /* A header that checks holds bytes that are not zero, so none starts at or after
     * data_end: a preallocated zero tail is not searched byte by byte. */
    uint64_t end = reader->data_end + RECORD_HEADER_BYTES < reader->file_bytes
                       ? reader->data_end + RECORD_HEADER_BYTES
                       : reader->file_bytes;
    while (offset < end && end - offset >= RECORD_HEADER_BYTES) {
        uint64_t left = end - offset;
        size_t count = left < STOA_WAL_READ_BYTES ? (size_t)left : STOA_WAL_READ_BYTES;
        const uint8_t *bytes = NULL;
        int status = reader_get(env, reader, offset, count, &bytes);
        if (status != 0) {
            return status == STOA_ERR_AGAIN ? STOA_ERR_IO : status; /* the file shrank */
        }
        /* Headers starting at [offset, offset + starts) lie wholly inside this window. */
        size_t starts = count - RECORD_HEADER_BYTES + 1;
        for (size_t i = 0; i < starts; i++) {
            if (proves_durable(bytes + i, damaged_index, record_bytes_max)) {
                *found_offset = offset + i;
                return STOA_OK;
            }
        }
        offset += starts;
    }
    return STOA_OK;
}

/* Whether flipping one bit of the payload makes it match its checksum. */
static int payload_flip(struct stoa_env *env, struct reader *reader, uint64_t offset,
                        const uint8_t *header, uint64_t *flipped_offset) {
    size_t length = stoa_bytes_get_u32(header);
    uint64_t checksum = stoa_bytes_get_u64(header + 24);
    if (length == 0 || length > STOA_WAL_FLIP_SEARCH_BYTES_MAX) {
        return STOA_OK;
    }
    const uint8_t *payload = NULL;
    int status = reader_get(env, reader, offset + RECORD_HEADER_BYTES, length, &payload);
    if (status != 0) {
        return status == STOA_ERR_AGAIN ? STOA_OK : status;
    }
    uint8_t *copy = stoa_alloc(length);
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    memcpy(copy, payload, length);
    for (size_t bit = 0; bit < length * 8 && *flipped_offset == 0; bit++) {
        uint8_t mask = (uint8_t)(1u << (bit % 8));
        copy[bit / 8] ^= mask;
        if (XXH3_64bits(copy, length) == checksum) {
            *flipped_offset = offset + RECORD_HEADER_BYTES + bit / 8;
        }
        copy[bit / 8] ^= mask;
    }
    stoa_free(copy);
    return STOA_OK;
}

/* Whether header (a copy, checked here) and the payload after it in the file at offset make a
 * whole record. */
static int record_whole(struct stoa_env *env, struct reader *reader, uint64_t offset,
                        const uint8_t *header, uint64_t expected_index, size_t record_bytes_max,
                        bool *whole) {
    *whole = false;
    if (header_checksum(header) != stoa_bytes_get_u64(header + RECORD_HEADER_CHECKED_BYTES) ||
        header_fault(header, expected_index, record_bytes_max) != NULL) {
        return STOA_OK;
    }
    size_t length = stoa_bytes_get_u32(header);
    const uint8_t *payload = NULL;
    int status = reader_get(env, reader, offset + RECORD_HEADER_BYTES, length, &payload);
    if (status != 0) {
        return status == STOA_ERR_AGAIN ? STOA_OK : status;
    }
    *whole = XXH3_64bits(payload, length) == stoa_bytes_get_u64(header + 24);
    return STOA_OK;
}

/* Whether flipping one bit of the header makes the whole record check. */
static int header_flip(struct stoa_env *env, struct reader *reader, uint64_t offset,
                       uint64_t expected_index, size_t record_bytes_max, uint64_t *flipped_offset) {
    const uint8_t *bytes = NULL;
    int status = reader_get(env, reader, offset, RECORD_HEADER_BYTES, &bytes);
    if (status != 0) {
        return status == STOA_ERR_AGAIN ? STOA_OK : status;
    }
    uint8_t header[RECORD_HEADER_BYTES];
    memcpy(header, bytes, sizeof(header));
    for (size_t bit = 0; bit < sizeof(header) * 8 && *flipped_offset == 0; bit++) {
        uint8_t mask = (uint8_t)(1u << (bit % 8));
        header[bit / 8] ^= mask;
        bool whole = false;
        status =
            record_whole(env, reader, offset, header, expected_index, record_bytes_max, &whole);
        if (status != 0) {
            return status;
        }
        if (whole) {
            *flipped_offset = offset + bit / 8;
        }
        header[bit / 8] ^= mask;
    }
    return STOA_OK;
}

/* Whether the bad record at offset is one bit off a whole record (bit rot: a torn write
 * leaves bytes missing, zeros or garbage, never a whole record with one bit changed). A
 * header that checks is searched in its payload (up to STOA_WAL_FLIP_SEARCH_BYTES_MAX bytes),
 * a header that does not in its own bits. Sets *flipped_offset to the damaged byte, or 0. */
static int find_one_bit_flip(struct stoa_env *env, struct reader *reader, uint64_t offset,
                             enum record_result result, uint64_t expected_index,
                             size_t record_bytes_max, uint64_t *flipped_offset) {
    *flipped_offset = 0;
    if (result == RECORD_BAD_PAYLOAD) {
        const uint8_t *bytes = NULL;
        int status = reader_get(env, reader, offset, RECORD_HEADER_BYTES, &bytes);
        if (status != 0) {
            return status;
        }
        uint8_t header[RECORD_HEADER_BYTES];
        memcpy(header, bytes, sizeof(header));
        return payload_flip(env, reader, offset, header, flipped_offset);
    }
    return header_flip(env, reader, offset, expected_index, record_bytes_max, flipped_offset);
}

/* ---- scanning a segment at open ---- */

struct scan {
    uint64_t name_index;
    bool is_last;
    uint64_t first_index;
    uint64_t next_index; /* after the last good record */
    uint64_t valid_bytes;
    uint64_t file_bytes;
    bool header_torn; /* last segment only: its header never reached the disk */
    bool torn;        /* last segment only: a torn tail after valid_bytes */
    uint64_t data_end; /* past the last byte that is not zero: zeros after it are no records */
    int bad_status;   /* 0, or STOA_ERR_CORRUPT / STOA_ERR_UNSUPPORTED at bad_offset */
    uint64_t bad_offset;
    const char *reason;
    uint32_t version;      /* the segment's format version, once its header checked */
    uint64_t proof_offset; /* last segment: a later header proving the bad record durable */
    uint64_t flip_offset;  /* last segment: the byte whose one flipped bit broke the record */
};

static void scan_bad(struct scan *scan, int status, uint64_t offset, const char *reason) {
    scan->bad_status = status;
    scan->bad_offset = offset;
    scan->reason = reason;
}

/* Checks the segment header against the file name and the expected first index (0: any). */
static int scan_header(struct stoa_env *env, struct reader *reader, uint64_t expected_first,
                       struct scan *scan) {
    const uint8_t *header = NULL;
    int status = reader_get(env, reader, 0, SEGMENT_HEADER_BYTES, &header);
    if (status == STOA_ERR_AGAIN) {
        if (scan->is_last) {
            scan->header_torn = true;
        } else {
            scan_bad(scan, STOA_ERR_CORRUPT, 0, "segment header cut short");
        }
        return STOA_OK;
    }
    if (status != 0) {
        return status;
    }
    static const uint8_t zeros[SEGMENT_HEADER_BYTES] = {0};
    if (scan->is_last && memcmp(header, zeros, SEGMENT_HEADER_BYTES) == 0) {
        scan->header_torn = true;
    } else if (memcmp(header, segment_magic, sizeof(segment_magic)) != 0) {
        scan_bad(scan, STOA_ERR_CORRUPT, 0, "not a log segment (bad magic number)");
    } else if (XXH3_64bits(header, 24) != stoa_bytes_get_u64(header + 24)) {
        scan_bad(scan, STOA_ERR_CORRUPT, 0, "segment header checksum mismatch");
    } else if (stoa_bytes_get_u32(header + 8) != FORMAT_VERSION) {
        scan->version = stoa_bytes_get_u32(header + 8);
        scan_bad(scan, STOA_ERR_UNSUPPORTED, 8, "unsupported segment format version");
    } else if (stoa_bytes_get_u32(header + 12) != 0) {
        scan_bad(scan, STOA_ERR_CORRUPT, 12, "segment flags are not zero");
    } else if (stoa_bytes_get_u64(header + 16) != scan->name_index) {
        scan_bad(scan, STOA_ERR_CORRUPT, 16, "segment first index does not match its name");
    } else if (expected_first != 0 && scan->name_index != expected_first) {
        scan_bad(scan, STOA_ERR_CORRUPT, 0, "segment does not follow the one before it");
    }
    scan->first_index = scan->name_index;
    scan->next_index = scan->name_index;
    scan->valid_bytes = SEGMENT_HEADER_BYTES;
    return STOA_OK;
}

/* Decides whether a bad record at offset is a torn tail or corruption. Outside the last
 * segment it is always corruption. In the last segment, a record cut short by the end of the
 * file is a torn tail; any other bad record is corruption only if a record header after it
 * (after its end when its own header checked, else anywhere after its start) checks and says
 * the bad record was already on disk when that later record was written, or if one flipped
 * bit makes it whole; otherwise the bad bytes may be an unsynced write the crash tore, and
 * they are cut. */
static int classify_bad(struct stoa_env *env, struct reader *reader, uint64_t offset,
                        enum record_result result, const struct record_view *view,
                        size_t record_bytes_max, struct scan *scan) {
    if (!scan->is_last) {
        scan_bad(scan, STOA_ERR_CORRUPT, offset, view->reason);
        return STOA_OK;
    }
    if (result == RECORD_PARTIAL) {
        scan->torn = true;
        return STOA_OK;
    }
    uint64_t from = offset + 1;
    if (result == RECORD_BAD_PAYLOAD) {
        from = offset + RECORD_HEADER_BYTES + view->length;
    }
    uint64_t proof_offset = 0;
    int status =
        find_durable_proof(env, reader, from, scan->next_index, record_bytes_max, &proof_offset);
    if (status != 0) {
        return status;
    }
    uint64_t flip_offset = 0;
    if (proof_offset == 0) {
        status = find_one_bit_flip(env, reader, offset, result, scan->next_index, record_bytes_max,
                                   &flip_offset);
        if (status != 0) {
            return status;
        }
        if (flip_offset >= reader->data_end) {
            /* The byte lies in the zeros after the data: in a preallocated segment that is
             * just as likely a write cut short (unwritten bytes read as zero) as a flipped
             * bit, so it is a torn tail. */
            flip_offset = 0;
        }
    }
    if (proof_offset == 0 && flip_offset == 0) {
        scan->torn = true;
    } else {
        scan->proof_offset = proof_offset;
        scan->flip_offset = flip_offset;
        scan_bad(scan, STOA_ERR_CORRUPT, offset, view->reason);
    }
    return STOA_OK;
}

/* Sets reader->data_end: the offset just past the last byte of the file that is not zero,
 * read backwards from the end. A segment is preallocated with zeros (file_allocate), so the
 * zeros after its last record are space, not a torn write. */
static int find_data_end(struct stoa_env *env, struct reader *reader) {
    uint64_t end = reader->file_bytes;
    while (end > 0) {
        size_t count = end < STOA_WAL_READ_BYTES ? (size_t)end : STOA_WAL_READ_BYTES;
        const uint8_t *bytes = NULL;
        int status = reader_get(env, reader, end - count, count, &bytes);
        if (status != 0) {
            return status == STOA_ERR_AGAIN ? STOA_ERR_IO : status; /* the file shrank */
        }
        for (size_t i = count; i > 0; i--) {
            if (bytes[i - 1] != 0) {
                reader->data_end = end - count + i;
                return STOA_OK;
            }
        }
        end -= count;
    }
    reader->data_end = 0;
    return STOA_OK;
}

static int scan_records(struct stoa_env *env, struct reader *reader, size_t record_bytes_max,
                        struct scan *scan) {
    uint64_t offset = SEGMENT_HEADER_BYTES;
    while (offset < scan->file_bytes) {
        struct record_view view = {0};
        enum record_result result = RECORD_OK;
        int status =
            read_record(env, reader, offset, scan->next_index, record_bytes_max, &view, &result);
        if (status != 0) {
            return status;
        }
        if (result != RECORD_OK && offset >= reader->data_end) {
            return STOA_OK; /* only zeros from here: the segment's preallocated space */
        }
        if (result != RECORD_OK) {
            return classify_bad(env, reader, offset, result, &view, record_bytes_max, scan);
        }
        offset += RECORD_HEADER_BYTES + view.length;
        scan->next_index++;
        scan->valid_bytes = offset;
    }
    return STOA_OK;
}

static int scan_segment(struct stoa_env *env, const char *path, uint64_t expected_first,
                        size_t record_bytes_max, struct scan *scan) {
    struct reader reader = {0};
    int status = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &reader.file);
    if (status != 0) {
        return status;
    }
    status = env->ops->file_size(reader.file, &reader.file_bytes);
    scan->file_bytes = reader.file_bytes;
    if (status == 0) {
        status = find_data_end(env, &reader);
        scan->data_end = reader.data_end;
    }
    if (status == 0) {
        status = scan_header(env, &reader, expected_first, scan);
    }
    if (status == 0 && !scan->header_torn && scan->bad_status == 0) {
        status = scan_records(env, &reader, record_bytes_max, scan);
    }
    reader_free(&reader);
    env->ops->file_close(reader.file);
    return status;
}

/* ---- the segment list ---- */

static int segments_reserve(struct stoa_wal *wal, size_t count) {
    if (count > STOA_WAL_SEGMENTS_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (count <= wal->segment_capacity) {
        return STOA_OK;
    }
    size_t capacity = wal->segment_capacity == 0 ? 16 : wal->segment_capacity * 2;
    capacity = capacity < count ? count : capacity;
    struct segment *grown = stoa_realloc(wal->segments, capacity * sizeof(*grown));
    if (grown == NULL) {
        return STOA_ERR_NOMEM;
    }
    wal->segments = grown;
    wal->segment_capacity = capacity;
    return STOA_OK;
}

struct listing {
    struct stoa_wal *wal;
    int status;
};

static int on_directory_entry(void *context, const char *name) {
    struct listing *listing = context;
    struct stoa_wal *wal = listing->wal;
    uint64_t first_index = 0;
    if (!parse_segment_name(name, &first_index)) {
        STOA_LOG_DEBUG(wal->log, MODULE, "not a log segment; ignored",
                       STOA_FIELD_STR("name", name));
        return 0;
    }
    listing->status = segments_reserve(wal, wal->segment_count + 1);
    if (listing->status != 0) {
        return 1;
    }
    wal->segments[wal->segment_count++] = (struct segment){.first_index = first_index};
    return 0;
}

static int compare_segments(const void *left, const void *right) {
    uint64_t a = ((const struct segment *)left)->first_index;
    uint64_t b = ((const struct segment *)right)->first_index;
    return a < b ? -1 : a > b ? 1 : 0;
}

static int list_segments(struct stoa_wal *wal) {
    struct listing listing = {.wal = wal};
    int status = wal->env->ops->list_dir(wal->env, wal->directory, on_directory_entry, &listing);
    if (status == 0) {
        status = listing.status;
    }
    if (status == 0 && wal->segment_count > 1) {
        qsort(wal->segments, wal->segment_count, sizeof(*wal->segments), compare_segments);
    }
    return status;
}

static int file_bytes_of(struct stoa_env *env, const char *path, uint64_t *bytes) {
    struct stoa_env_file *file = NULL;
    int status = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file);
    if (status != 0) {
        return status;
    }
    status = env->ops->file_size(file, bytes);
    env->ops->file_close(file);
    return status;
}

/* Removes segments [from, segment_count), newest first, so that a crash part way leaves a
 * contiguous log; adds their sizes to *bytes. The caller syncs the directory. */
static int remove_segments_from(struct stoa_wal *wal, size_t from, uint64_t *bytes) {
    while (wal->segment_count > from) {
        path_buffer path;
        segment_path(wal, wal->segments[wal->segment_count - 1].first_index, path);
        uint64_t size = 0;
        int status = file_bytes_of(wal->env, path, &size);
        if (status == 0) {
            status = wal->env->ops->unlink(wal->env, path);
        }
        if (status != 0) {
            return status;
        }
        *bytes += size;
        wal->segment_count--;
    }
    return STOA_OK;
}

/* ---- opening ---- */

struct opening {
    struct stoa_wal *wal;
    bool truncate_corrupt;
    uint64_t first_index; /* for a new segment if none is left */
    struct stoa_wal_recovery recovery;
    struct stoa_wal_error *error;
    struct scan last; /* the scan of the last segment */
};

static int sync_directory(struct stoa_wal *wal) {
    return wal->env->ops->sync_dir(wal->env, wal->directory);
}

/* Reserves the segment's whole size (file_allocate) so that appends inside it change no file
 * metadata: a datasync then costs about two thirds as much (on ext4 here: 64 us against
 * 95 us for a 50-byte append). Best effort: a file system that cannot just grows the file. */
static void preallocate(struct stoa_wal *wal, struct stoa_env_file *file) {
    int status = wal->env->ops->file_allocate(file, wal->segment_bytes_max);
    if (status != 0 && status != STOA_ERR_UNSUPPORTED) {
        STOA_LOG_DEBUG(wal->log, MODULE, "cannot preallocate a segment", STOA_FIELD_ERR(status));
    }
}

/* Makes the first segment of an empty log: header written and synced, directory synced. */
static int create_segment(struct stoa_wal *wal, uint64_t first_index) {
    int status = segments_reserve(wal, 1);
    if (status != 0) {
        return status;
    }
    path_buffer path;
    segment_path(wal, first_index, path);
    unsigned flags =
        STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_EXCLUSIVE;
    struct stoa_env_file *file = NULL;
    status = wal->env->ops->file_open(wal->env, path, flags, &file);
    if (status != 0) {
        return status;
    }
    preallocate(wal, file);
    uint8_t header[SEGMENT_HEADER_BYTES];
    encode_segment_header(header, first_index);
    status = wal->env->ops->file_pwrite(file, header, sizeof(header), 0);
    if (status == 0) {
        status = wal->env->ops->file_datasync(file);
    }
    if (status == 0) {
        status = sync_directory(wal);
    }
    if (status != 0) {
        wal->env->ops->file_close(file);
        return status;
    }
    wal->segments[0] = (struct segment){.first_index = first_index, .bytes = sizeof(header)};
    wal->segment_count = 1;
    wal->active = file;
    wal->next_index = first_index;
    wal->written_index = first_index - 1;
    wal->durable_index = first_index - 1;
    return STOA_OK;
}

/* A segment of another format version: never cut, whatever the options. */
static void report_unsupported(struct opening *opening, const char *path, const struct scan *scan) {
    STOA_LOG_ERROR(opening->wal->log, MODULE, "log segment has another format version",
                   STOA_FIELD_STR("file", path), STOA_FIELD_UINT("version", scan->version),
                   STOA_FIELD_UINT("supported_version", FORMAT_VERSION));
    if (opening->error != NULL) {
        snprintf(opening->error->message, sizeof(opening->error->message),
                 "log segment %s has format version %" PRIu32 "; this build reads version %d "
                 "only%s",
                 path, scan->version, FORMAT_VERSION,
                 scan->version < FORMAT_VERSION
                     ? " (an older pre-release format: there is no conversion)"
                     : "");
    }
}

static void report_corrupt(struct opening *opening, const char *path, const struct scan *scan) {
    if (scan->bad_status == STOA_ERR_UNSUPPORTED) {
        report_unsupported(opening, path, scan);
        return;
    }
    struct stoa_wal *wal = opening->wal;
    STOA_LOG_ERROR(wal->log, MODULE, "log segment is damaged", STOA_FIELD_STR("file", path),
                   STOA_FIELD_UINT("offset", scan->bad_offset),
                   STOA_FIELD_STR("reason", scan->reason),
                   STOA_FIELD_UINT("proof_offset", scan->proof_offset),
                   STOA_FIELD_UINT("flip_offset", scan->flip_offset),
                   STOA_FIELD_BOOL("truncate_corrupt", opening->truncate_corrupt));
    if (opening->error == NULL) {
        return;
    }
    char proof[96] = "";
    if (scan->proof_offset != 0) {
        snprintf(proof, sizeof(proof), "; the record at byte %" PRIu64 " shows it was on disk",
                 scan->proof_offset);
    } else if (scan->flip_offset != 0) {
        snprintf(proof, sizeof(proof), "; one bit flipped at byte %" PRIu64 " (written whole)",
                 scan->flip_offset);
    }
    snprintf(opening->error->message, sizeof(opening->error->message),
             "log segment %s is damaged at byte %" PRIu64 ": %s%s%s", path, scan->bad_offset,
             scan->reason, proof,
             opening->truncate_corrupt
                 ? ""
                 : " (truncate_corrupt cuts the log there, keeping a copy of the segment)");
}

/* Copies the file at from to a new file at to, and syncs the copy. */
static int copy_file(struct stoa_env *env, const char *from, const char *to) {
    struct stoa_env_file *source = NULL;
    struct stoa_env_file *target = NULL;
    uint8_t *chunk = stoa_alloc(STOA_WAL_READ_BYTES);
    if (chunk == NULL) {
        return STOA_ERR_NOMEM;
    }
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE;
    int status = env->ops->file_open(env, from, STOA_ENV_OPEN_READ, &source);
    if (status == 0) {
        status = env->ops->file_open(env, to, flags, &target);
    }
    uint64_t offset = 0;
    size_t got = STOA_WAL_READ_BYTES;
    while (status == 0 && got == STOA_WAL_READ_BYTES) {
        status = env->ops->file_pread(source, chunk, STOA_WAL_READ_BYTES, offset, &got);
        if (status == 0) {
            status = env->ops->file_pwrite(target, chunk, got, offset);
        }
        offset += got;
    }
    if (status == 0) {
        status = env->ops->file_datasync(target);
    }
    if (target != NULL) {
        env->ops->file_close(target);
    }
    if (source != NULL) {
        env->ops->file_close(source);
    }
    stoa_free(chunk);
    return status;
}

/* truncate_corrupt: keeps a copy of segment i, then cuts the log at the bad offset. */
static int cut_corrupt(struct opening *opening, size_t i, const char *path,
                       const struct scan *scan) {
    struct stoa_wal *wal = opening->wal;
    path_buffer copy;
    int length =
        snprintf(copy, sizeof(copy), "%s" CORRUPT_SUFFIX "%" PRIu64, path, scan->bad_offset);
    STOA_ASSERT(length > 0 && length <= STOA_PATH_BYTES_MAX); /* checked at open */
    int status = copy_file(wal->env, path, copy);
    uint64_t dropped = 0;
    if (status == 0) {
        status = remove_segments_from(wal, i + 1, &dropped);
    }
    bool whole = scan->bad_offset < SEGMENT_HEADER_BYTES;
    if (status == 0 && whole) {
        opening->first_index = wal->segments[i].first_index;
        status = remove_segments_from(wal, i, &dropped);
    } else if (status == 0) {
        struct stoa_env_file *file = NULL;
        status = wal->env->ops->file_open(wal->env, path, STOA_ENV_OPEN_WRITE, &file);
        if (status == 0) {
            status = wal->env->ops->file_truncate(file, scan->bad_offset);
            if (status == 0) {
                status = wal->env->ops->file_datasync(file);
            }
            wal->env->ops->file_close(file);
        }
        dropped += scan->file_bytes - scan->bad_offset;
    }
    if (status == 0) {
        status = sync_directory(wal);
    }
    if (status != 0) {
        return status;
    }
    STOA_LOG_WARN(wal->log, MODULE, "log cut at a damaged record; a copy was kept",
                  STOA_FIELD_STR("file", path), STOA_FIELD_UINT("offset", scan->bad_offset),
                  STOA_FIELD_STR("copy", copy), STOA_FIELD_UINT("dropped_bytes", dropped));
    opening->recovery.corrupt_bytes += dropped;
    return STOA_OK;
}

/* The last segment's header never reached the disk: the segment holds nothing. */
static int drop_torn_segment(struct opening *opening, const char *path, const struct scan *scan) {
    struct stoa_wal *wal = opening->wal;
    int status = wal->env->ops->unlink(wal->env, path);
    if (status == 0) {
        status = sync_directory(wal);
    }
    if (status != 0) {
        return status;
    }
    STOA_LOG_WARN(wal->log, MODULE, "removed a segment whose header was torn",
                  STOA_FIELD_STR("file", path), STOA_FIELD_UINT("bytes", scan->file_bytes));
    opening->first_index = scan->name_index;
    opening->recovery.torn_bytes += scan->file_bytes;
    wal->segment_count--;
    return STOA_OK;
}

/* Scans every segment in order; stops at (and handles) a damaged one. */
static int recover_segments(struct opening *opening) {
    struct stoa_wal *wal = opening->wal;
    uint64_t expected_first = 0;
    for (size_t i = 0; i < wal->segment_count; i++) {
        path_buffer path;
        segment_path(wal, wal->segments[i].first_index, path);
        struct scan scan = {.name_index = wal->segments[i].first_index,
                            .is_last = i + 1 == wal->segment_count};
        int status = scan_segment(wal->env, path, expected_first, wal->record_bytes_max, &scan);
        if (status != 0) {
            return status;
        }
        if (scan.header_torn) {
            return drop_torn_segment(opening, path, &scan);
        }
        if (scan.bad_status != 0) {
            report_corrupt(opening, path, &scan);
            if (scan.bad_status != STOA_ERR_CORRUPT || !opening->truncate_corrupt) {
                return scan.bad_status;
            }
            status = cut_corrupt(opening, i, path, &scan);
            if (status != 0 || scan.bad_offset < SEGMENT_HEADER_BYTES) {
                return status;
            }
            scan.file_bytes = scan.bad_offset;
        }
        wal->segments[i].bytes = scan.valid_bytes;
        expected_first = scan.next_index;
        opening->last = scan;
    }
    return STOA_OK;
}

/* Opens the last segment for appending, cuts a torn tail, and syncs it, so that every record
 * found (possibly only in the page cache after a process crash) is durable. */
static int open_active(struct opening *opening) {
    struct stoa_wal *wal = opening->wal;
    const struct scan *last = &opening->last;
    path_buffer path;
    segment_path(wal, last->first_index, path);
    unsigned flags = STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE;
    struct stoa_env_file *file = NULL;
    int status = wal->env->ops->file_open(wal->env, path, flags, &file);
    if (status != 0) {
        return status;
    }
    /* Zeros after the last record are the segment's preallocated space, kept; anything else
     * there is a torn write, cut. */
    uint64_t torn_bytes =
        last->data_end > last->valid_bytes ? last->data_end - last->valid_bytes : 0;
    if (torn_bytes > 0) {
        status = wal->env->ops->file_truncate(file, last->valid_bytes);
    }
    if (status == 0) {
        preallocate(wal, file);
        status = wal->env->ops->file_datasync(file);
    }
    if (status != 0) {
        wal->env->ops->file_close(file);
        return status;
    }
    if (torn_bytes > 0) {
        STOA_LOG_WARN(wal->log, MODULE, "cut a torn tail", STOA_FIELD_STR("file", path),
                      STOA_FIELD_UINT("offset", last->valid_bytes),
                      STOA_FIELD_UINT("bytes", torn_bytes));
    }
    opening->recovery.torn_bytes += torn_bytes;
    wal->active = file;
    wal->next_index = last->next_index;
    wal->written_index = last->next_index - 1;
    wal->durable_index = wal->written_index;
    return STOA_OK;
}

/* Makes the log's directory, and syncs its parent so the directory itself is durable. */
static int make_directory(struct stoa_wal *wal) {
    int status = wal->env->ops->mkdir(wal->env, wal->directory);
    if (status != 0) {
        return status;
    }
    path_buffer parent;
    const char *slash = strrchr(wal->directory, '/');
    if (slash == NULL) {
        memcpy(parent, ".", 2);
    } else {
        size_t length = slash == wal->directory ? 1 : (size_t)(slash - wal->directory);
        memcpy(parent, wal->directory, length);
        parent[length] = '\0';
    }
    return wal->env->ops->sync_dir(wal->env, parent);
}

static uint64_t bound_or_default(uint64_t value, uint64_t default_value) {
    return value == 0 ? default_value : value;
}

/* Checks the options and makes an empty log object. */
static int wal_new(struct stoa_env *env, const struct stoa_wal_options *options,
                   struct stoa_wal **wal_out) {
    STOA_ASSERT(options->directory != NULL && options->directory[0] != '\0');
    uint64_t segment_bytes_max =
        bound_or_default(options->segment_bytes_max, STOA_WAL_SEGMENT_BYTES_MAX);
    size_t record_bytes_max =
        bound_or_default(options->record_bytes_max, STOA_WAL_RECORD_BYTES_MAX);
    size_t batch_bytes_max = bound_or_default(options->batch_bytes_max, STOA_WAL_BATCH_BYTES_MAX);
    STOA_ASSERT(segment_bytes_max >= STOA_WAL_SEGMENT_BYTES_MIN);
    STOA_ASSERT(segment_bytes_max <= STOA_WAL_SEGMENT_BYTES_MAX);
    STOA_ASSERT(record_bytes_max <= STOA_WAL_RECORD_BYTES_MAX);
    STOA_ASSERT(batch_bytes_max <= STOA_WAL_BATCH_BYTES_MAX);
    STOA_ASSERT(options->durability == STOA_WAL_DURABILITY_ALWAYS ||
                options->durability == STOA_WAL_DURABILITY_EVERYSEC);
    size_t length = strlen(options->directory);
    while (length > 1 && options->directory[length - 1] == '/') {
        length--;
    }
    /* Room for "/<20 digits>.log.corrupt-<20 digits>" after the directory. */
    if (length + 1 + NAME_DIGITS + strlen(NAME_SUFFIX CORRUPT_SUFFIX) + 20 > STOA_PATH_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_wal *wal = stoa_calloc(1, sizeof(*wal));
    char *directory = stoa_strndup(options->directory, length);
    if (wal == NULL || directory == NULL) {
        stoa_free(wal);
        stoa_free(directory);
        return STOA_ERR_NOMEM;
    }
    *wal = (struct stoa_wal){.env = env,
                             .log = options->log,
                             .directory = directory,
                             .durability = options->durability,
                             .segment_bytes_max = segment_bytes_max,
                             .record_bytes_max = record_bytes_max,
                             .batch_bytes_max = batch_bytes_max,
                             .last_sync_ns = stoa_env_monotonic_ns(env)};
    size_t largest = batch_bytes_max > RECORD_HEADER_BYTES + record_bytes_max
                         ? batch_bytes_max
                         : RECORD_HEADER_BYTES + record_bytes_max;
    stoa_buf_init(&wal->batch, SEGMENT_HEADER_BYTES + largest);
    *wal_out = wal;
    return STOA_OK;
}

int stoa_wal_open(struct stoa_env *env, const struct stoa_wal_options *options,
                  struct stoa_wal **wal_out, struct stoa_wal_recovery *recovery,
                  struct stoa_wal_error *error) {
    STOA_ASSERT(env != NULL && options != NULL && wal_out != NULL && recovery != NULL);
    if (error != NULL) {
        error->message[0] = '\0';
    }
    struct stoa_wal *wal = NULL;
    int status = wal_new(env, options, &wal);
    if (status != 0) {
        return status;
    }
    struct opening opening = {.wal = wal,
                              .truncate_corrupt = options->truncate_corrupt,
                              .first_index = bound_or_default(options->first_index, 1),
                              .error = error};
    status = make_directory(wal);
    if (status == 0) {
        status = list_segments(wal);
    }
    if (status == 0) {
        status = recover_segments(&opening);
    }
    if (status == 0 && wal->segment_count == 0) {
        status = create_segment(wal, opening.first_index);
    } else if (status == 0) {
        status = open_active(&opening);
    }
    if (status != 0) {
        if (error != NULL && error->message[0] == '\0') {
            snprintf(error->message, sizeof(error->message), "cannot open the log in %s: %s",
                     wal->directory, stoa_err_message(status));
        }
        stoa_wal_close(wal);
        return status;
    }
    opening.recovery.first_index = wal->segments[0].first_index;
    opening.recovery.last_index = wal->next_index - 1;
    opening.recovery.segment_count = wal->segment_count;
    *recovery = opening.recovery;
    *wal_out = wal;
    return STOA_OK;
}

void stoa_wal_close(struct stoa_wal *wal) {
    if (wal == NULL) {
        return;
    }
    if (wal->active != NULL) {
        wal->env->ops->file_close(wal->active);
    }
    stoa_buf_free(&wal->batch);
    stoa_free(wal->segments);
    stoa_free(wal->directory);
    stoa_free(wal);
}

/* ---- appending and flushing ---- */

static size_t batch_record_bytes(const struct stoa_wal *wal) {
    return wal->batch.length == 0 ? 0 : wal->batch.length - SEGMENT_HEADER_BYTES;
}

int stoa_wal_append(struct stoa_wal *wal, const void *payload, size_t length, uint64_t *index) {
    STOA_ASSERT(wal != NULL && index != NULL && (payload != NULL || length == 0));
    if (wal->failure != 0) {
        return wal->failure;
    }
    if (length > wal->record_bytes_max) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t record_bytes = RECORD_HEADER_BYTES + length;
    size_t batched = batch_record_bytes(wal);
    if (batched > 0 && batched + record_bytes > wal->batch_bytes_max) {
        return STOA_ERR_FULL;
    }
    size_t room = record_bytes + (wal->batch.length == 0 ? SEGMENT_HEADER_BYTES : 0);
    int status = stoa_buf_reserve(&wal->batch, room);
    if (status != 0) {
        return status;
    }
    if (wal->batch.length == 0) {
        memset(wal->batch.data, 0, SEGMENT_HEADER_BYTES);
        wal->batch.length = SEGMENT_HEADER_BYTES;
    }
    uint8_t *record = wal->batch.data + wal->batch.length;
    encode_record_header(record, wal->next_index, wal->durable_index, payload, length);
    if (length > 0) {
        memcpy(record + RECORD_HEADER_BYTES, payload, length);
    }
    wal->batch.length += record_bytes;
    *index = wal->next_index++;
    return STOA_OK;
}

/* Syncs the active segment; a failure fails the log. */
static int sync_active(struct stoa_wal *wal) {
    int status = wal->env->ops->file_datasync(wal->active);
    if (status != 0) {
        return fail(wal, status, "datasync");
    }
    wal->durable_index = wal->written_index;
    wal->unsynced = false;
    wal->last_sync_ns = stoa_env_monotonic_ns(wal->env);
    return STOA_OK;
}

static bool sync_due(const struct stoa_wal *wal) {
    int64_t elapsed_ns = stoa_env_monotonic_ns(wal->env) - wal->last_sync_ns;
    return elapsed_ns >= STOA_WAL_EVERYSEC_INTERVAL_MS * STOA_NS_PER_MS;
}

/* Writes the batch (after the header room) at the end of the active segment. */
static int write_batch(struct stoa_wal *wal) {
    struct segment *active = &wal->segments[wal->segment_count - 1];
    size_t bytes = batch_record_bytes(wal);
    int status = wal->env->ops->file_pwrite(wal->active, wal->batch.data + SEGMENT_HEADER_BYTES,
                                            bytes, active->bytes);
    if (status != 0) {
        return fail(wal, status, "write");
    }
    active->bytes += bytes;
    return STOA_OK;
}

/* Starts a new segment holding the batch: header and records in one pwrite, one datasync,
 * then the directory sync that makes the new name durable. */
static int roll_over(struct stoa_wal *wal) {
    int status = segments_reserve(wal, wal->segment_count + 1);
    if (status != 0) {
        return status;
    }
    if (wal->unsynced) {
        status = sync_active(wal); /* the old segment is finished before the new one starts */
        if (status != 0) {
            return status;
        }
    }
    uint64_t first_index = wal->written_index + 1;
    path_buffer path;
    segment_path(wal, first_index, path);
    unsigned flags =
        STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_EXCLUSIVE;
    struct stoa_env_file *file = NULL;
    status = wal->env->ops->file_open(wal->env, path, flags, &file);
    if (status != 0) {
        return status; /* nothing written: the log is still whole */
    }
    /* The finished segment gives back its unused preallocated space (were this lost in a
     * crash, the zeros would read as its end all the same). */
    (void)wal->env->ops->file_truncate(wal->active, wal->segments[wal->segment_count - 1].bytes);
    wal->env->ops->file_close(wal->active);
    preallocate(wal, file);
    wal->active = file;
    wal->segments[wal->segment_count++] =
        (struct segment){.first_index = first_index, .bytes = SEGMENT_HEADER_BYTES};
    encode_segment_header(wal->batch.data, first_index);
    status = wal->env->ops->file_pwrite(file, wal->batch.data, wal->batch.length, 0);
    if (status != 0) {
        return fail(wal, status, "write");
    }
    wal->segments[wal->segment_count - 1].bytes = wal->batch.length;
    wal->written_index = wal->next_index - 1;
    /* The records are durable only once the new name is: durable_index moves after both. */
    status = wal->env->ops->file_datasync(file);
    if (status != 0) {
        return fail(wal, status, "datasync");
    }
    status = sync_directory(wal);
    if (status != 0) {
        return fail(wal, status, "sync_dir");
    }
    wal->last_sync_ns = stoa_env_monotonic_ns(wal->env);
    wal->durable_index = wal->written_index;
    wal->unsynced = false;
    return STOA_OK;
}

static void batch_done(struct stoa_wal *wal) {
    /* A batch grown past the usual bound by one huge record gives its memory back. */
    if (wal->batch.capacity > SEGMENT_HEADER_BYTES + wal->batch_bytes_max) {
        stoa_buf_free(&wal->batch);
    } else {
        stoa_buf_reset(&wal->batch);
    }
}

int stoa_wal_flush(struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    if (wal->failure != 0) {
        return wal->failure;
    }
    size_t bytes = batch_record_bytes(wal);
    if (bytes == 0) {
        return stoa_wal_tick(wal);
    }
    const struct segment *active = &wal->segments[wal->segment_count - 1];
    bool has_records = active->bytes > SEGMENT_HEADER_BYTES;
    if (has_records && active->bytes + bytes > wal->segment_bytes_max) {
        int status = roll_over(wal);
        if (status == 0) {
            batch_done(wal);
        }
        return status;
    }
    int status = write_batch(wal);
    if (status != 0) {
        return status;
    }
    wal->written_index = wal->next_index - 1;
    wal->unsynced = true;
    batch_done(wal);
    if (wal->durability == STOA_WAL_DURABILITY_ALWAYS || sync_due(wal)) {
        return sync_active(wal);
    }
    return STOA_OK;
}

int stoa_wal_tick(struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    if (wal->failure != 0) {
        return wal->failure;
    }
    if (wal->unsynced && sync_due(wal)) {
        return sync_active(wal);
    }
    return STOA_OK;
}

int stoa_wal_sync(struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    int status = stoa_wal_flush(wal);
    if (status == STOA_OK && wal->unsynced) {
        status = sync_active(wal);
    }
    return status;
}

/* ---- replay ---- */

static int replay_corrupt(struct stoa_wal *wal, const char *path, uint64_t offset,
                          const char *reason) {
    STOA_LOG_ERROR(wal->log, MODULE, "log segment changed under the log",
                   STOA_FIELD_STR("file", path), STOA_FIELD_UINT("offset", offset),
                   STOA_FIELD_STR("reason", reason));
    return STOA_ERR_CORRUPT;
}

/* Walks the records of segment i. With on_record, calls it for indexes >= from_index; else
 * stops at the record with index from_index and sets *offset to where it starts. */
static int walk_segment(struct stoa_wal *wal, size_t i, uint64_t from_index,
                        stoa_wal_record_fn on_record, void *context, uint64_t *offset_out) {
    const struct segment *segment = &wal->segments[i];
    path_buffer path;
    segment_path(wal, segment->first_index, path);
    struct reader reader = {.file_bytes = segment->bytes, .data_end = segment->bytes};
    int status = wal->env->ops->file_open(wal->env, path, STOA_ENV_OPEN_READ, &reader.file);
    if (status != 0) {
        return status;
    }
    struct scan scan = {.name_index = segment->first_index};
    status = scan_header(wal->env, &reader, 0, &scan);
    if (status == 0 && (scan.bad_status != 0 || scan.header_torn)) {
        status = replay_corrupt(wal, path, scan.bad_offset, "bad segment header");
    }
    uint64_t offset = SEGMENT_HEADER_BYTES;
    uint64_t index = segment->first_index;
    while (status == 0 && offset < segment->bytes) {
        if (on_record == NULL && index == from_index) {
            break;
        }
        struct record_view view = {0};
        enum record_result result = RECORD_OK;
        status =
            read_record(wal->env, &reader, offset, index, wal->record_bytes_max, &view, &result);
        if (status == 0 && result != RECORD_OK) {
            status = replay_corrupt(wal, path, offset, view.reason);
        }
        if (status == 0 && on_record != NULL && index >= from_index) {
            status = on_record(context, index, view.payload, view.length);
        }
        offset += RECORD_HEADER_BYTES + view.length;
        index++;
    }
    if (status == 0 && on_record == NULL) {
        STOA_ASSERT(index == from_index); /* the caller picked the segment holding it */
        *offset_out = offset;
    }
    reader_free(&reader);
    wal->env->ops->file_close(reader.file);
    return status;
}

/* The segment holding index: the last one whose first index is at most index. */
static size_t segment_of(const struct stoa_wal *wal, uint64_t index) {
    size_t i = wal->segment_count - 1;
    while (i > 0 && wal->segments[i].first_index > index) {
        i--;
    }
    return i;
}

static int replay_batch(const struct stoa_wal *wal, uint64_t from_index,
                        stoa_wal_record_fn on_record, void *context) {
    size_t offset = SEGMENT_HEADER_BYTES;
    while (offset < wal->batch.length) {
        const uint8_t *record = wal->batch.data + offset;
        size_t length = stoa_bytes_get_u32(record);
        uint64_t index = stoa_bytes_get_u64(record + 8);
        if (index >= from_index) {
            int status = on_record(context, index, record + RECORD_HEADER_BYTES, length);
            if (status != 0) {
                return status;
            }
        }
        offset += RECORD_HEADER_BYTES + length;
    }
    return STOA_OK;
}

int stoa_wal_replay(struct stoa_wal *wal, uint64_t from_index, stoa_wal_record_fn on_record,
                    void *context) {
    STOA_ASSERT(wal != NULL && on_record != NULL);
    if (from_index < wal->segments[0].first_index || from_index > wal->next_index) {
        return STOA_ERR_RANGE;
    }
    if (from_index <= wal->written_index) {
        for (size_t i = segment_of(wal, from_index); i < wal->segment_count; i++) {
            int status = walk_segment(wal, i, from_index, on_record, context, NULL);
            if (status != 0) {
                return status;
            }
        }
    }
    return replay_batch(wal, from_index, on_record, context);
}

/* ---- truncation ---- */

int stoa_wal_truncate_before(struct stoa_wal *wal, uint64_t index) {
    STOA_ASSERT(wal != NULL);
    if (wal->failure != 0) {
        return wal->failure;
    }
    size_t removable = 0;
    while (removable + 1 < wal->segment_count &&
           wal->segments[removable + 1].first_index <= index) {
        removable++;
    }
    /* Oldest first, so that whatever a crash keeps is still a contiguous log. */
    size_t removed = 0;
    int status = STOA_OK;
    while (removed < removable && status == 0) {
        path_buffer path;
        segment_path(wal, wal->segments[removed].first_index, path);
        status = wal->env->ops->unlink(wal->env, path);
        removed += status == 0 ? 1 : 0;
    }
    if (removed == 0) {
        return status;
    }
    memmove(wal->segments, wal->segments + removed,
            (wal->segment_count - removed) * sizeof(*wal->segments));
    wal->segment_count -= removed;
    int synced = sync_directory(wal);
    if (synced != 0) {
        return fail(wal, synced, "sync_dir");
    }
    return status;
}

/* Drops the unwritten records after index from the batch. */
static void trim_batch(struct stoa_wal *wal, uint64_t index) {
    size_t offset = SEGMENT_HEADER_BYTES;
    uint64_t next = wal->written_index + 1;
    while (next <= index) {
        offset += RECORD_HEADER_BYTES + stoa_bytes_get_u32(wal->batch.data + offset);
        next++;
    }
    wal->batch.length = offset == SEGMENT_HEADER_BYTES ? 0 : offset;
    wal->next_index = index + 1;
}

/* Cuts the written log after index: later segments go, the one holding index + 1 is cut. */
static int cut_written(struct stoa_wal *wal, uint64_t index) {
    size_t k = segment_of(wal, index + 1);
    uint64_t offset = 0;
    int status = walk_segment(wal, k, index + 1, NULL, NULL, &offset);
    if (status != 0) {
        return status; /* nothing changed yet */
    }
    if (k + 1 < wal->segment_count) {
        wal->env->ops->file_close(wal->active);
        wal->active = NULL;
        uint64_t dropped = 0;
        status = remove_segments_from(wal, k + 1, &dropped);
        if (status == 0) {
            status = sync_directory(wal);
        }
        path_buffer path;
        segment_path(wal, wal->segments[k].first_index, path);
        unsigned flags = STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE;
        if (status == 0) {
            status = wal->env->ops->file_open(wal->env, path, flags, &wal->active);
        }
        if (status != 0) {
            return fail(wal, status, "truncate_after");
        }
    }
    status = wal->env->ops->file_truncate(wal->active, offset);
    if (status != 0) {
        return fail(wal, status, "truncate_after");
    }
    wal->segments[k].bytes = offset;
    wal->written_index = index;
    wal->unsynced = true;
    return sync_active(wal);
}

int stoa_wal_truncate_after(struct stoa_wal *wal, uint64_t index) {
    STOA_ASSERT(wal != NULL);
    if (wal->failure != 0) {
        return wal->failure;
    }
    if (index + 1 < wal->segments[0].first_index || index >= wal->next_index) {
        return STOA_ERR_RANGE;
    }
    if (index >= wal->written_index) {
        trim_batch(wal, index);
        return STOA_OK;
    }
    stoa_buf_reset(&wal->batch);
    wal->next_index = index + 1;
    wal->durable_index = wal->durable_index < index ? wal->durable_index : index;
    return cut_written(wal, index);
}

/* ---- state ---- */

uint64_t stoa_wal_first_index(const struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    return wal->segments[0].first_index;
}

uint64_t stoa_wal_last_index(const struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    return wal->next_index - 1;
}

uint64_t stoa_wal_durable_index(const struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    return wal->durable_index;
}

int stoa_wal_failure(const struct stoa_wal *wal) {
    STOA_ASSERT(wal != NULL);
    return wal->failure;
}
