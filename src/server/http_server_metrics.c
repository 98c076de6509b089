/* The HTTP door's /metrics (Prometheus text) and /v1/status (JSON). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/http_server_int.h"
#include "util/alloc.h"
#include "util/err.h"

static void gauge(struct stoa_http_metrics_writer *writer, const char *name, const char *help,
                  double value) {
    stoa_http_metrics_family(writer, name, "gauge", help);
    stoa_http_metrics_sample(writer, name, NULL, NULL, value);
}

/* Ops and latency of every command the HTTP door ran, and the RESP door's commandstats. */
static void command_metrics(struct stoa_http_metrics_writer *writer,
                            const struct stoa_http_server *server) {
    stoa_http_metrics_family(writer, "stoa_http_commands_total", "counter",
                             "Commands run by the HTTP door, by command.");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        if (server->commands[id].calls > 0) {
            stoa_http_metrics_sample(writer, "stoa_http_commands_total", "command",
                                     stoa_commands_spec(id)->name,
                                     (double)server->commands[id].calls);
        }
    }
    stoa_http_metrics_family(writer, "stoa_http_command_failures_total", "counter",
                             "Commands of the HTTP door that replied an error, by command.");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        if (server->commands[id].calls > 0) {
            stoa_http_metrics_sample(writer, "stoa_http_command_failures_total", "command",
                                     stoa_commands_spec(id)->name,
                                     (double)server->commands[id].failed);
        }
    }
    stoa_http_metrics_family(writer, "stoa_http_command_duration_seconds", "histogram",
                             "Time the engine took for each command of the HTTP door (the "
                             "group commit not included).");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        if (server->commands[id].calls > 0) {
            stoa_http_metrics_histogram(writer, "stoa_http_command_duration_seconds", "command",
                                        stoa_commands_spec(id)->name,
                                        &server->commands[id].latency);
        }
    }
    if (server->options.resp == NULL) {
        return;
    }
    stoa_http_metrics_family(writer, "stoa_resp_commands_total", "counter",
                             "Commands run by the RESP door, by command (INFO commandstats).");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        struct stoa_server_command_stat stat;
        stoa_server_command_stat(server->options.resp, id, &stat);
        if (stat.calls > 0) {
            stoa_http_metrics_sample(writer, "stoa_resp_commands_total", "command",
                                     stoa_commands_spec(id)->name, (double)stat.calls);
        }
    }
    stoa_http_metrics_family(writer, "stoa_resp_command_seconds_total", "counter",
                             "Time the RESP door spent in each command (INFO commandstats).");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        struct stoa_server_command_stat stat;
        stoa_server_command_stat(server->options.resp, id, &stat);
        if (stat.calls > 0) {
            stoa_http_metrics_sample(writer, "stoa_resp_command_seconds_total", "command",
                                     stoa_commands_spec(id)->name, (double)stat.usec / 1e6);
        }
    }
}

static void route_metrics(struct stoa_http_metrics_writer *writer,
                          const struct stoa_http_server *server) {
    const struct stoa_http_route *routes = stoa_http_route_table();
    stoa_http_metrics_family(writer, "stoa_http_request_duration_seconds", "histogram",
                             "Time from a request's headers to its response, by route (the "
                             "wait for the group commit included).");
    for (size_t i = 0; i < STOA_HTTP_ROUTE_COUNT; i++) {
        if (server->route_requests[i] > 0) {
            stoa_http_metrics_histogram(writer, "stoa_http_request_duration_seconds", "route",
                                        routes[i].path, &server->route_latency[i]);
        }
    }
    stoa_http_metrics_family(writer, "stoa_http_responses_total", "counter",
                             "HTTP responses by status class.");
    static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (size_t i = 1; i < 6; i++) {
        stoa_http_metrics_sample(writer, "stoa_http_responses_total", "code", classes[i],
                                 (double)server->status_classes[i]);
    }
}

static void node_metrics(struct stoa_http_metrics_writer *writer,
                         const struct stoa_http_server *server) {
    const struct stoa_keyspace *keyspace = stoa_engine_keyspace(server->engine);
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    struct stoa_alloc_stats alloc;
    stoa_alloc_stats(&alloc);
    gauge(writer, "stoa_keys", "Keys in the keyspace.", (double)stoa_keyspace_count(keyspace));
    gauge(writer, "stoa_memory_used_bytes", "Bytes of keys and values, as the engine counts them.",
          (double)stoa_keyspace_used_bytes(keyspace));
    gauge(writer, "stoa_memory_allocated_bytes", "Bytes live in stoa's allocator.",
          (double)alloc.live_bytes);
    gauge(writer, "stoa_http_connections", "Open HTTP connections.",
          (double)server->stats.connections_current);
    if (server->options.resp != NULL) {
        struct stoa_server_stats resp;
        stoa_server_stats(server->options.resp, &resp);
        gauge(writer, "stoa_resp_connections", "Open RESP connections.",
              (double)resp.connections_current);
    }
    stoa_http_metrics_family(writer, "stoa_http_timeouts_total", "counter",
                             "HTTP connections cut off because a request did not arrive in time.");
    stoa_http_metrics_sample(writer, "stoa_http_timeouts_total", NULL, NULL,
                             (double)server->stats.timeouts);
    gauge(writer, "stoa_log_written_bytes", "Bytes appended to the log since the node started.",
          (double)stats.log_bytes);
    gauge(writer, "stoa_log_applied_index", "Index of the last write applied.",
          (double)stats.applied_index);
    gauge(writer, "stoa_log_durable_index", "Index of the last write on disk.",
          (double)stats.durable_index);
    double age = -1;
    if (stats.snapshot_index > 0) {
        age = (double)(stoa_env_real_ms(server->env) - stats.snapshot_created_ms) / 1000.0;
    }
    gauge(writer, "stoa_snapshot_age_seconds",
          "Seconds since the newest snapshot was made; -1 when there is none.", age);
    gauge(writer, "stoa_writes_refused", "1 when the engine refuses writes after a log failure.",
          stats.failure != 0 ? 1.0 : 0.0);
    /* Every group commit of the node, whichever door's writes it carried: the engine's log
     * syncs on a single node, the Paxos journal's on a replica group member. */
    const struct stoa_histogram *syncs = &stats.sync_latency;
    struct stoa_replica_stats replica_stats;
    if (server->options.replica != NULL) {
        stoa_replica_stats(server->options.replica, &replica_stats);
        syncs = &replica_stats.journal_sync_latency;
    }
    stoa_http_metrics_family(writer, "stoa_fsync_duration_seconds", "histogram",
                             "Group commits: one fdatasync of the log (the journal on a replica "
                             "group member) for every write of one loop iteration.");
    stoa_http_metrics_histogram(writer, "stoa_fsync_duration_seconds", NULL, NULL, syncs);
}

void stoa_http_metrics(struct request *request) {
    struct stoa_http_metrics_writer writer;
    request->response.length = 0;
    stoa_http_metrics_writer_init(&writer, &request->response);
    route_metrics(&writer, request->server);
    command_metrics(&writer, request->server);
    node_metrics(&writer, request->server);
    if (writer.error != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                       "the metrics did not fit");
        return;
    }
    request->status = MHD_HTTP_OK;
    request->content_type = "text/plain; version=0.0.4; charset=utf-8";
    request->ready = true;
}

/* On a member of a replica group, the group as this member sees it: ,"group":{...}; on a
 * single node nothing. */
static void group_status(const struct stoa_http_server *server, char *text, size_t capacity) {
    text[0] = '\0';
    if (server->options.replica == NULL) {
        return;
    }
    static const char *const roles[] = {"follower", "candidate", "leader"};
    struct stoa_paxos_status status;
    stoa_replica_status(server->options.replica, &status);
    snprintf(text, capacity,
             ",\"group\":{\"self\":%" PRIu32 ",\"role\":\"%s\",\"leader\":%" PRIu32
             ",\"commitIndex\":%" PRIu64 ",\"appliedIndex\":%" PRIu64 "}",
             status.self_id, (unsigned)status.role < 3 ? roles[status.role] : "unknown",
             status.leader_id, status.commit_index, status.applied_index);
}

void stoa_http_status(struct request *request) {
    const struct stoa_http_server *server = request->server;
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    const char *reason = NULL;
    bool ready = stoa_http_ready(server, &reason);
    char group[256];
    group_status(server, group, sizeof(group));
    char text[1024];
    int n = snprintf(
        text, sizeof(text),
        "{\"node\":\"%s\",\"version\":\"%s\",\"ready\":%s,\"uptimeSeconds\":%" PRId64
        ",\"storageMode\":\"%s\",\"retrievalMode\":\"%s\",\"replicationFactor\":%" PRId64
        ",\"keys\":%zu,\"appliedIndex\":%" PRIu64 ",\"durableIndex\":%" PRIu64
        ",\"draining\":%s,\"httpConnections\":%" PRIu64 "%s}",
        server->options.node_id != NULL ? server->options.node_id : "", STOA_VERSION,
        ready ? "true" : "false", (stoa_env_real_ms(server->env) - server->started_ms) / 1000,
        server->storage_mode, server->retrieval_mode, server->replication_factor,
        stoa_keyspace_count(stoa_engine_keyspace(server->engine)), stats.applied_index,
        stats.durable_index, server->draining ? "true" : "false", server->stats.connections_current,
        group);
    request->response.length = 0;
    if (n < 0 || (size_t)n >= sizeof(text) ||
        stoa_buf_append(&request->response, text, (size_t)n) != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    request->status = MHD_HTTP_OK;
    request->content_type = "application/json";
    request->ready = true;
}
