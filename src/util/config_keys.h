/*
 * config_keys: the schema of stoa's configuration, as one X-macro table.
 *
 * Every key stoa reads is one row of STOA_CONFIG_KEYS. From this table config.h generates
 * the fields of struct stoa_config, and config.c generates the defaults, the lookup used by
 * the file, environment and flag parsers, the commented default YAML written by
 * `stoa setup`, and the reference table of docs/config.md. Adding a key is adding a row
 * (and its line in docs/config.md, which a test checks).
 *
 * A row is X(type, name, field, min, max, words, default, doc):
 *   type     INT (int64_t), DOUBLE (double), BOOL (bool), STRING (char[max + 1]),
 *            ENUM (enum stoa_config_<words>), or DURATION (int64_t milliseconds; the
 *            field's name ends in _ms; written "500ms", "20s", "5m", "1h" or bare seconds)
 *   name     the dotted key, as written in the file and in flags ("node.maxPeers")
 *   field    the member of struct stoa_config
 *   min, max INT and DURATION: the inclusive range (DURATION in ms). DOUBLE: min is
 *            exclusive and max inclusive (every double we have is a positive size).
 *            STRING: 0 and the longest value in bytes. BOOL and ENUM: 0, 0.
 *   words    ENUM: the name of its word list below; every other type: none
 *   default  the default, as text the parser accepts (the defaults are parsed from it)
 *   doc      one sentence saying what the key does, for the YAML comments and the docs
 *
 * Keys under the same section must be adjacent, so the YAML written from the table opens
 * each section once (a test parses that YAML back).
 */
#ifndef STOA_UTIL_CONFIG_KEYS_H
#define STOA_UTIL_CONFIG_KEYS_H

#include "util/limits.h"

/* The word lists of the ENUM keys: X(constant, "word"). The constants are numbered from 0
 * in the order given. */
#define STOA_CONFIG_WORDS_node_type(X)                                                             \
    X(STOA_CONFIG_NODE_TYPE_PEER, "peer")                                                          \
    X(STOA_CONFIG_NODE_TYPE_SUPER_PEER, "super-peer")
#define STOA_CONFIG_WORDS_storage_mode(X)                                                          \
    X(STOA_CONFIG_STORAGE_MODE_FAST, "fast")                                                       \
    X(STOA_CONFIG_STORAGE_MODE_SAFE, "safe")
#define STOA_CONFIG_WORDS_retrieval_mode(X)                                                        \
    X(STOA_CONFIG_RETRIEVAL_MODE_FAST, "fast")                                                     \
    X(STOA_CONFIG_RETRIEVAL_MODE_SAFE, "safe")                                                     \
    X(STOA_CONFIG_RETRIEVAL_MODE_PARALLEL, "parallel")
#define STOA_CONFIG_WORDS_durability(X)                                                            \
    X(STOA_CONFIG_DURABILITY_ALWAYS, "always")                                                     \
    X(STOA_CONFIG_DURABILITY_EVERYSEC, "everysec")                                                 \
    X(STOA_CONFIG_DURABILITY_NONE, "none")
#define STOA_CONFIG_WORDS_eviction(X)                                                              \
    X(STOA_CONFIG_EVICTION_NONE, "noeviction")                                                     \
    X(STOA_CONFIG_EVICTION_VOLATILE_TTL, "volatile-ttl")
#define STOA_CONFIG_WORDS_backend(X)                                                               \
    X(STOA_CONFIG_BACKEND_MEMORY, "memory")                                                        \
    X(STOA_CONFIG_BACKEND_REDIS, "redis")
#define STOA_CONFIG_WORDS_log_level(X)                                                             \
    X(STOA_CONFIG_LOG_LEVEL_DEBUG, "debug")                                                        \
    X(STOA_CONFIG_LOG_LEVEL_INFO, "info")                                                          \
    X(STOA_CONFIG_LOG_LEVEL_WARN, "warn")                                                          \
    X(STOA_CONFIG_LOG_LEVEL_ERROR, "error")

/* Every word list above, by name. */
#define STOA_CONFIG_ENUMS(X)                                                                       \
    X(node_type)                                                                                   \
    X(storage_mode)                                                                                \
    X(retrieval_mode)                                                                              \
    X(durability)                                                                                  \
    X(eviction)                                                                                    \
    X(backend)                                                                                     \
    X(log_level)

/* clang-format off */
#define STOA_CONFIG_KEYS(X)                                                                        \
    X(STRING, "node.id", node_id, 0, STOA_NODE_ID_BYTES_MAX, none, "",                             \
      "This node's id, in every log line and peer frame; empty means generate one at first "       \
      "start and keep it in data.dir.")                                                            \
    X(ENUM, "node.type", node_type, 0, 0, node_type, "peer",                                       \
      "peer, or super-peer: a permanent group leader that skips super-peer discovery "             \
      "(Nomad's --type flag).")                                                                    \
    X(STRING, "node.peerID", node_peer_id, 0, STOA_NODE_ID_BYTES_MAX, none, "",                    \
      "Nomad's peer id key, accepted so Nomad config files load; stoa identifies the node by "     \
      "node.id.")                                                                                  \
    X(INT, "node.maxPeers", node_max_peers, 1, 1000, none, "5",                                    \
      "Most peers in one group; a join beyond it is refused.")                                     \
    X(BOOL, "node.group.migration", node_group_migration, 0, 0, none, "false",                     \
      "Let peers move in the virtual world and change group, every schedule.updatePosition.")      \
    X(BOOL, "node.group.voronoiGrouping", node_group_voronoi_grouping, 0, 0, none, "false",        \
      "Group peers by the Voronoi cells of the virtual world instead of by nearest site.")         \
    X(INT, "node.storage.replicationFactor", node_storage_replication_factor, 1, 7, none, "3",     \
      "Copies kept of each object in a group; sent to peers when they join.")                      \
    X(ENUM, "node.storage.storageMode", node_storage_storage_mode, 0, 0, storage_mode, "safe",     \
      "safe: a write is acknowledged once a quorum of the group has it; fast: once the leader "    \
      "has it durably. stoa's default is safe (Nomad's is fast) because acknowledged writes "      \
      "must survive.")                                                                             \
    X(ENUM, "node.storage.retrievalMode", node_storage_retrieval_mode, 0, 0, retrieval_mode,      \
      "safe",                                                                                      \
      "safe: a linearizable read through the leader; fast: any one replica; parallel: all "        \
      "replicas, first answer wins. stoa's default is safe (Nomad's is fast).")                    \
    X(STRING, "node.networkHostnames.peerServer", node_network_hostnames_peer_server, 0,          \
      STOA_CONFIG_HOST_BYTES_MAX, none, "",                                                        \
      "Host advertised to peers for the peer service; empty means the address it listens on.")     \
    X(STRING, "node.networkHostnames.peerStorageServer",                                          \
      node_network_hostnames_peer_storage_server, 0, STOA_CONFIG_HOST_BYTES_MAX, none, "",         \
      "Host advertised for peer storage requests; empty means the address it listens on.")         \
    X(STRING, "node.networkHostnames.overlayHostname", node_network_hostnames_overlay_hostname,   \
      0, STOA_CONFIG_HOST_BYTES_MAX, none, "",                                                     \
      "Host advertised in the overlay; empty means the address it listens on.")                    \
    X(STRING, "node.networkHostnames.superPeerServer", node_network_hostnames_super_peer_server,  \
      0, STOA_CONFIG_HOST_BYTES_MAX, none, "",                                                     \
      "Host advertised for the super-peer service; empty means the address it listens on.")        \
    X(STRING, "node.networkHostnames.groupStorageServer",                                         \
      node_network_hostnames_group_storage_server, 0, STOA_CONFIG_HOST_BYTES_MAX, none, "",        \
      "Host advertised for group storage requests; empty means the address it listens on.")        \
    X(DOUBLE, "node.world.width", node_world_width, 0.0, 1e9, none, "10.0",                        \
      "Width of the virtual 2-D world in which groups are placed.")                                \
    X(DOUBLE, "node.world.height", node_world_height, 0.0, 1e9, none, "10.0",                      \
      "Height of the virtual 2-D world in which groups are placed.")                               \
    X(DURATION, "schedule.healthCheck", schedule_health_check_ms, STOA_CONFIG_DURATION_MS_MIN,    \
      STOA_CONFIG_DURATION_MS_MAX, none, "20s",                                                    \
      "How often a peer checks the health of a random peer of its group.")                         \
    X(DURATION, "schedule.dhtBootstrap", schedule_dht_bootstrap_ms, STOA_CONFIG_DURATION_MS_MIN,  \
      STOA_CONFIG_DURATION_MS_MAX, none, "500s",                                                   \
      "How often the node refreshes its overlay routing table from the bootstrap nodes.")          \
    X(DURATION, "schedule.dbCleanup", schedule_db_cleanup_ms, STOA_CONFIG_DURATION_MS_MIN,        \
      STOA_CONFIG_DURATION_MS_MAX, none, "60s",                                                    \
      "How often expired objects are swept from the local store.")                                 \
    X(DURATION, "schedule.ledgerCleanup", schedule_ledger_cleanup_ms,                             \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "60s",                       \
      "How often a super-peer sweeps expired entries from its object ledger.")                    \
    X(DURATION, "schedule.repair", schedule_repair_ms, STOA_CONFIG_DURATION_MS_MIN,               \
      STOA_CONFIG_DURATION_MS_MAX, none, "6000s",                                                  \
      "How often a super-peer looks for under-replicated objects and repairs them.")               \
    X(DURATION, "schedule.updatePosition", schedule_update_position_ms,                           \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "10s",                       \
      "How often a peer updates its position in the world (only with node.group.migration).")      \
    X(DURATION, "bootstrap.discoveryWindow", bootstrap_discovery_window_ms,                       \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "5s",                        \
      "How long a peer looks for a super-peer before it makes itself a provisional one.")          \
    X(DURATION, "bootstrap.electionTimeout", bootstrap_election_timeout_ms,                       \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "10s",                       \
      "How long a super-peer election may take before it starts again.")                           \
    X(DURATION, "bootstrap.provisionalPollInterval", bootstrap_provisional_poll_interval_ms,      \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "30s",                       \
      "How often a provisional super-peer looks for a dedicated super-peer to hand over to.")      \
    X(STRING, "data.dir", data_dir, 0, STOA_DATA_DIR_BYTES_MAX, none, "./data",                    \
      "Directory holding the log, the snapshots and the node id.")                                 \
    X(ENUM, "data.durability", data_durability, 0, 0, durability, "always",                        \
      "When the log is fsynced: always (before each reply), everysec (once a second; a crash "     \
      "may lose the last second), none (no log at all: memory only, snapshots still load).")       \
    X(INT, "data.memoryLimit", data_memory_limit, 0, STOA_CONFIG_MEMORY_LIMIT_MAX, none, "0",      \
      "Bytes of keys and values the node may hold (as the engine accounts them); a write past "    \
      "it is refused with an OOM error. 0 means no limit.")                                        \
    X(ENUM, "data.eviction", data_eviction, 0, 0, eviction, "noeviction",                          \
      "At the memory limit: noeviction refuses the write; volatile-ttl first evicts the keys "     \
      "with the nearest expiry.")                                                                  \
    X(INT, "data.snapshotLogBytes", data_snapshot_log_bytes, 0, STOA_CONFIG_MEMORY_LIMIT_MAX,    \
      none, "67108864",                                                                            \
      "Take a background snapshot when the log has grown this many bytes since the last one; "     \
      "0 means only when asked.")                                                                  \
    X(BOOL, "data.truncateCorruptLog", data_truncate_corrupt_log, 0, 0, none, "false",             \
      "At start, cut the log at a damaged record (keeping a copy of the segment) instead of "      \
      "refusing to start. Records after the damage are lost.")                                     \
    X(ENUM, "data.backend", data_backend, 0, 0, backend, "memory",                                 \
      "Where the keys live: memory (the engine's keyspace, with data.durability's log), or "       \
      "redis (an external Redis at data.redisUri; no log, Redis's own durability; "                \
      "docs/redis-backend.md).")                                                                  \
    X(STRING, "data.redisUri", data_redis_uri, 0, STOA_REDIS_URI_BYTES_MAX, none,                  \
      "redis://127.0.0.1:6379",                                                                    \
      "The Redis of data.backend redis: redis://host:port[/db] or unix:///path/to/socket.")       \
    X(STRING, "listen.host", listen_host, 0, STOA_CONFIG_HOST_BYTES_MAX, none, "127.0.0.1",        \
      "Address every front door and peer port listens on.")                                        \
    X(INT, "listen.resp.port", listen_resp_port, 0, STOA_CONFIG_PORT_MAX, none, "7379",            \
      "TCP port for RESP (Redis protocol) clients; 0 means pick a free port and log it.")          \
    X(INT, "listen.http.port", listen_http_port, 0, STOA_CONFIG_PORT_MAX, none, "7380",            \
      "TCP port for HTTP/JSON (stoa's REST API, Nomad's routes); 0 means pick a free port.")       \
    X(INT, "listen.grpc.port", listen_grpc_port, 0, STOA_CONFIG_PORT_MAX, none, "7381",            \
      "TCP port for gRPC (Nomad's services); 0 means pick a free port and log it.")                \
    X(INT, "listen.peer.port", listen_peer_port, 0, STOA_CONFIG_PORT_MAX, none, "7382",            \
      "TCP port for replication between peers; 0 means pick a free port and log it.")              \
    X(INT, "listen.geomys.port", listen_geomys_port, 0, STOA_CONFIG_PORT_MAX, none, "7383",        \
      "TCP port for Geomys msgpack clients; 0 means pick a free port and log it.")                 \
    X(INT, "listen.multiverse9.port", listen_multiverse9_port, 0, STOA_CONFIG_PORT_MAX, none,     \
      "7384", "TCP port for multiverse9 binary clients; 0 means pick a free port and log it.")     \
    X(INT, "listen.overlay.port", listen_overlay_port, 0, STOA_CONFIG_PORT_MAX, none, "7385",      \
      "UDP port of the overlay (Kademlia); 0 means pick a free port and log it.")                  \
    X(INT, "http.maxBodyBytes", http_max_body_bytes, 1, STOA_HTTP_BODY_BYTES_MAX, none,            \
      "1048576", "Largest HTTP request body; a larger one is refused with 413.")                   \
    X(INT, "http.maxClients", http_max_clients, 1, STOA_SERVER_CLIENTS_MAX, none, "1024",          \
      "Most HTTP connections at once; more are refused.")                                          \
    X(INT, "http.requestTimeoutSeconds", http_request_timeout_seconds, 1,                          \
      STOA_HTTP_TIMEOUT_SECONDS_MAX, none, "30",                                                   \
      "A request must arrive whole within this many seconds, and an idle connection is closed "    \
      "after it, so slow or stalled clients cannot hold a connection.")                            \
    X(STRING, "http.swaggerDir", http_swagger_dir, 0, STOA_DATA_DIR_BYTES_MAX, none, "",           \
      "Directory of the Swagger UI assets (npm's swagger-ui-dist); empty means the one the "       \
      "build installed.")                                                                          \
    X(STRING, "resp.password", resp_password, 0, STOA_SERVER_PASSWORD_BYTES_MAX, none, "",        \
      "Password clients must give with AUTH (or HELLO ... AUTH) before other commands; empty "     \
      "means no password.")                                                                        \
    X(INT, "resp.maxClients", resp_max_clients, 1, STOA_SERVER_CLIENTS_MAX, none, "10000",         \
      "Most RESP connections at once; more are told so and closed.")                              \
    X(INT, "resp.idleTimeoutSeconds", resp_idle_timeout_seconds, 0, 2147483647, none, "0",         \
      "Close a RESP connection idle this many seconds (blocked clients excepted); 0 = never.")     \
    X(INT, "resp.outputBufferBytes", resp_output_buffer_bytes, 1024, STOA_CONFIG_MEMORY_LIMIT_MAX, \
      none, "268435456",                                                                           \
      "Replies a RESP client may leave unread before it is disconnected (and the reason logged).") \
    X(BOOL, "resp.debugCommands", resp_debug_commands, 0, 0, none, "false",                        \
      "Allow the DEBUG command.")                                                                  \
    X(STRING, "cluster.members", cluster_members, 0, STOA_PEER_MEMBERS_TEXT_BYTES_MAX, none, "",   \
      "The replica group: comma-separated id=host:port, each member's id (1..4294967295) and "     \
      "peer address (e.g. 1=127.0.0.1:7382,2=127.0.0.1:7392); empty means a single node.")        \
    X(INT, "cluster.self", cluster_self, 0, STOA_PEER_NODE_ID_MAX, none, "0",                      \
      "This node's id in cluster.members; 0 means the member whose address is "                    \
      "listen.host:listen.peer.port.")                                                             \
    X(STRING, "cluster.secret", cluster_secret, 0, STOA_PEER_SECRET_BYTES_MAX, none, "",           \
      "Secret every member holds (at least 16 bytes) and proves at connect; required when "        \
      "cluster.members is set. A peer without it is refused.")                                     \
    X(DURATION, "cluster.connectTimeout", cluster_connect_timeout_ms, STOA_PEER_TIMING_MS_MIN,     \
      STOA_PEER_TIMING_MS_MAX, none, "3s",                                                         \
      "A connect to a peer taking longer than this is abandoned and retried after the backoff.")   \
    X(DURATION, "cluster.reconnectBackoffMin", cluster_reconnect_backoff_min_ms,                  \
      STOA_PEER_TIMING_MS_MIN, STOA_PEER_TIMING_MS_MAX, none, "100ms",                             \
      "First delay before redialing a lost peer; it doubles after each failed attempt.")          \
    X(DURATION, "cluster.reconnectBackoffMax", cluster_reconnect_backoff_max_ms,                  \
      STOA_PEER_TIMING_MS_MIN, STOA_PEER_TIMING_MS_MAX, none, "5s",                                \
      "Longest delay between attempts to redial a peer (with jitter, in its upper half).")         \
    X(DURATION, "cluster.tick", cluster_tick_ms, STOA_REPLICA_TICK_MS_MIN,                       \
      STOA_REPLICA_TICK_MS_MAX, none, "10ms",                                                      \
      "The replica group's unit of time: heartbeats, election timeouts and leases count ticks.")  \
    X(INT, "cluster.heartbeatTicks", cluster_heartbeat_ticks, 1, 1000, none, "5",                 \
      "A leader sends heartbeats (and retransmits) every this many ticks.")                       \
    X(INT, "cluster.electionTicksMin", cluster_election_ticks_min, 2, 100000, none, "30",         \
      "Shortest election timeout, in ticks; also how long a follower that heard a leader refuses " \
      "to promise to another (the lease). Must exceed heartbeatTicks.")                           \
    X(INT, "cluster.electionTicksMax", cluster_election_ticks_max, 2, 100000, none, "60",         \
      "Longest election timeout, in ticks (each timeout is drawn between min and max).")          \
    X(INT, "cluster.driftTicks", cluster_drift_ticks, 0, 100000, none, "5",                       \
      "The clock-drift bound taken off a leader's lease before it serves a safe read locally.")   \
    X(DURATION, "cluster.requestTimeout", cluster_request_timeout_ms, STOA_CONFIG_DURATION_MS_MIN, \
      STOA_CONFIG_DURATION_MS_MAX, none, "5s",                                                     \
      "A request waiting for the group longer than this is answered TIMEOUT (outcome unknown).")  \
    X(INT, "cluster.logSlots", cluster_log_slots, STOA_REPLICA_LOG_SLOTS_MIN,                     \
      STOA_PAXOS_LOG_SLOTS_MAX, none, "65536",                                                     \
      "Log slots a member keeps above its snapshot; a snapshot starts every quarter of this "      \
      "(and every data.snapshotLogBytes of journal), and a full log refuses writes.")              \
    X(STRING, "multiverse9.name", multiverse9_name, 0, STOA_MULTIVERSE9_NAME_BYTES_MAX, none, "",  \
      "The node's human-readable name in METADATA; empty means multiverse9_<node id>.")           \
    X(STRING, "multiverse9.nodes", multiverse9_nodes, 0, STOA_MULTIVERSE9_NODES_BYTES_MAX, none,   \
      "",                                                                                          \
      "Acknowledged nodes, comma-separated: each a public key (64 hex or 44 base64 characters, "   \
      "from the other node's log or METADATA), optionally @host:port.")                           \
    X(BOOL, "multiverse9.openInteractions", multiverse9_open_interactions, 0, 0, none, "true",     \
      "Let any client CREATE, REMOVE and AGGREGATE; false allows only acknowledged nodes that "    \
      "authenticated with HELLO/AUTH.")                                                            \
    X(BOOL, "multiverse9.openMetadata", multiverse9_open_metadata, 0, 0, none, "false",            \
      "Let any client ask for METADATA; false allows only authenticated acknowledged nodes.")      \
    X(DURATION, "multiverse9.remoteTimeout", multiverse9_remote_timeout_ms,                       \
      STOA_CONFIG_DURATION_MS_MIN, STOA_CONFIG_DURATION_MS_MAX, none, "5s",                        \
      "How long an AGGREGATE waits for another node before answering its entries with an error.") \
    X(INT, "multiverse9.threads", multiverse9_threads, 1, STOA_MULTIVERSE9_THREADS_MAX, none, "1", \
      "multiverse9's worker-thread count (stoa start --threads); stoa serves every connection on " \
      "one event loop, so it is checked and logged, and changes nothing else.")                   \
    X(ENUM, "log.level", log_level, 0, 0, log_level, "info",                                       \
      "Lowest level that is logged: debug, info, warn or error.")                                  \
    X(INT, "loop.busyPollMicros", loop_busy_poll_micros, -1, 10000, none, "-1",                    \
      "After the event loop wakes, it polls on without sleeping for this many microseconds "      \
      "before it sleeps again: under load a client's request then finds it awake and does not "   \
      "pay for waking it. Costs up to this much CPU per wakeup; 0 never spins; -1 is 100 on a "   \
      "single node and 0 on a replica-group member (members sharing a machine would take each "   \
      "other's CPU).")
/* clang-format on */

#endif
