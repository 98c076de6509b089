/*
 * overlay: a copy-on-write backend over another backend, for speculative state.
 *
 * A replica group's leader answers "fast" writes whose reply depends on the state (INCR,
 * LPUSH, LPOP, SET NX, DEL ...) before they are chosen, by applying them speculatively to a
 * view: the real keyspace plus the effects of the commands proposed but not yet applied. The
 * overlay is that view, as an engine backend (engine/backend.h), so stoa_apply runs on it
 * unchanged. The real keyspace (the base) is never changed by speculation, so a snapshot
 * never captures a speculative effect, and a rollback is stoa_overlay_clear: dropping the
 * view costs what freeing the changed keys costs, whatever the size of the base.
 *
 * Inside are a keyspace of the overlay's own values (changes), the set of keys the overlay
 * has taken over (owned: changed, created, deleted or expired in the view), and whether a
 * FLUSHALL was seen. A key the overlay owns is whatever changes says: absent or expired there
 * means not found, never base's value. A key it does not own is base's, unless the view was
 * flushed. A write to a key copies base's value (a deep copy, with its expiry) into changes
 * first; a deletion only takes the key over.
 *
 * The base is only read, through lookup, and always with now_ms 0, at which no key has
 * expired: the overlay decides expiry itself from the now_ms of the call. So a speculative
 * command stamped later than the base's log never makes the base reclaim a key that a command
 * still to be applied to it, with an earlier stamp, would see. While the view is in use, base
 * may change only by applying commands the view has already applied, in the same order (base
 * catching up with the speculation); any other change makes the view stale: clear it.
 *
 * Limits. There is no memory limit in the view (reserve always succeeds): the caller
 * speculates only when the real keyspace has no limit either, since eviction cannot be
 * replayed from a view. scan and random_key return STOA_ERR_UNSUPPORTED (reads go to the real
 * keyspace; no write command needs them); count and digest are exact but O(keys owned). A
 * key is taken over with one allocation (its name, which the owned set borrows), beside what
 * the keyspace allocates for its copy; a key already owned costs nothing more. The overlay is
 * deterministic: the same calls on the same base give the same view.
 *
 * Ownership: the overlay borrows base (which must outlive it) and owns its changes; free them
 * with stoa_overlay_free or stoa_overlay_clear. Values handed out are borrowed until the next
 * call on the overlay's backend (a base value, until the next call on base as well).
 */
#ifndef STOA_ENGINE_OVERLAY_H
#define STOA_ENGINE_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/backend.h"
#include "engine/keyspace.h"
#include "util/map.h"

/* Public only so an overlay can be embedded (as a keyspace is); use the functions below. */
struct stoa_overlay {
    struct stoa_backend *base;    /* borrowed, read through lookup only */
    struct stoa_keyspace changes; /* the view's own values, no memory limit */
    struct stoa_map owned;        /* key -> struct owned_key (overlay.c), which holds the key */
    size_t owned_bytes;           /* footprint of the owned set's blocks */
    bool flushed;                 /* a FLUSHALL hides every key not owned */
    size_t copy_bytes_max;        /* 0: no limit; see stoa_overlay_copy_limit_set */
    bool declined;                /* a copy was refused for its size since the last take */
    struct stoa_backend backend;  /* what stoa_overlay_backend returns */
};

/* Makes an empty view of base (borrowed); seed keys the hashes of the overlay's maps (take it
 * from env randomness). Allocates nothing. The overlay must not move afterwards. */
void stoa_overlay_init(struct stoa_overlay *overlay, struct stoa_backend *base, uint64_t seed);

/* Drops every change and frees what the overlay holds; the view is base again and usable. */
void stoa_overlay_free(struct stoa_overlay *overlay);

/* Drops every change (the rollback): the view is exactly base again, flushed or not. The same
 * as stoa_overlay_free today, since neither the keyspace nor the map keeps capacity when
 * emptied; kept apart so a later version may keep the tables of one speculation for the
 * next. */
void stoa_overlay_clear(struct stoa_overlay *overlay);

/* The view as an engine backend. Borrowed from the overlay, valid while it is. */
struct stoa_backend *stoa_overlay_backend(struct stoa_overlay *overlay);

/* Keys the overlay owns: changed, created, deleted or expired in the view. */
size_t stoa_overlay_key_count(const struct stoa_overlay *overlay);

/* Bytes the view holds beyond base: the changes keyspace's used_bytes (engine/keyspace.h)
 * plus the owned set's blocks, each with its allocation header. Map bucket arrays are not
 * counted, as in the keyspace. */
size_t stoa_overlay_used_bytes(const struct stoa_overlay *overlay);

/* Refuses to take over (copy) a base value whose footprint is past bytes (0: no limit): the
 * operation then fails with STOA_ERR_TOO_LARGE and changes nothing, and
 * stoa_overlay_take_declined says so, so the caller can tell that refusal (its own, not the
 * command's) from a real error. Copying a large deque for every view would cost its size. */
void stoa_overlay_copy_limit_set(struct stoa_overlay *overlay, size_t bytes);

/* Whether a copy was refused for its size since the last call; resets it. */
bool stoa_overlay_take_declined(struct stoa_overlay *overlay);

/* Whether a FLUSHALL was applied to the view since the last clear. */
bool stoa_overlay_flushed(const struct stoa_overlay *overlay);

/* Asserts the overlay's invariants: the changes keyspace's, the owned set's, every key in
 * changes owned, and owned_bytes against a recomputation. Not const because it looks keys up
 * in changes, which changes nothing. O(n): for tests and debug checks. */
void stoa_overlay_check(struct stoa_overlay *overlay);

#endif
