/*
 * data_dir: the node's data directory, as `stoa start` prepares it (internal to src/bin).
 *
 * The directory is created with its parents if missing. The node's id lives in
 * <dir>/node.id (one line): made at first start from a ULID and never changed after, so a
 * node keeps its identity across restarts. The file is written the durable way: a
 * temporary file, fdatasync, rename, then a sync of the directory.
 */
#ifndef STOA_BIN_DATA_DIR_H
#define STOA_BIN_DATA_DIR_H

#include <stdbool.h>

#include "util/env.h"
#include "util/limits.h"

/* Creates path and its missing parents. Returns 0 or the error of the mkdir that failed. */
int stoa_bin_data_dir_create(struct stoa_env *env, const char *path);

/* Reads the node id from <dir>/node.id, or makes, stores and returns a new one if the file
 * does not exist (*created is then true). A file that exists but does not hold a valid id
 * (1 to STOA_NODE_ID_BYTES_MAX of [A-Za-z0-9._-], optionally ending in a newline) is
 * STOA_ERR_CORRUPT: it is never silently replaced. */
int stoa_bin_node_id_load(struct stoa_env *env, const char *dir,
                          char id[STOA_NODE_ID_BYTES_MAX + 1], bool *created);

#endif
