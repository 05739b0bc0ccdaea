#!/usr/bin/env bash
# The bench of scripts/bench.sh against the scale-out deployment on this machine: scripts/cluster.sh starts 2
# ClickHouse shards, PostgreSQL, Redis, SeaweedFS (S3) and 2 campaignstats nodes on loopback, and `campaignstats
# bench` sends every request to each node in turn (ingest, Stats, the report run). The generator, its seed and the
# output lines are scripts/bench.sh's, so both runs load the same events.
# Usage: scripts/bench-cluster.sh [EVENTS] [CAMPAIGNS] [USERS] [DAYS] [extra bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}; CAMPAIGNS=${2:-1000}; USERS=${3:-1000000}; DAYS=${4:-60}
work=$(mktemp -d /tmp/campaignstats-bench-cluster-XXXXXX)
chmod 755 "$work" # PostgreSQL runs as its own user
trap 'scripts/cluster.sh stop "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
scripts/cluster.sh start "$work/cluster" > "$work/env"
# shellcheck disable=SC1091
. "$work/env"
export CAMPAIGNSTATS_ADMIN_TOKEN
read -r node0 node1 <<<"$CLUSTER_NODES"
bin="$work/cluster/campaignstats"
"$bin" workspace create --server "$node0" --name bench --rate-limit 100000 > "$work/ws.json"
ws=$(sed -n 's/.*"workspace_id": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
rk=$(sed -n 's/.*"report_key": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
dk=$(sed -n 's/.*"data_key": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version)" >&2
"$bin" bench --server "$node0,$node1" --workspace "$ws" --data-key "$dk" --report-key "$rk" \
  --events "$EVENTS" --campaigns "$CAMPAIGNS" --users "$USERS" --days "$DAYS" --stats-calls 200 "${@:5}"
# Where the ClickHouse time went, from the first shard's query log (it initiates the Distributed reads).
ch=$(( ${PORT_BASE:-19100} ))
clickhouse-client --port "$ch" -q "SYSTEM FLUSH LOGS" >/dev/null 2>&1 || true
echo "ClickHouse queries on shard 0 (initiator), by kind: count, mean ms, total s" >&2
clickhouse-client --port "$ch" -q "SELECT replaceRegexpAll(substring(query, 1, 70), '[0-9]+', 'N') AS kind, count(), round(avg(query_duration_ms)), round(sum(query_duration_ms) / 1000, 1) FROM system.query_log WHERE type = 2 AND is_initial_query GROUP BY kind ORDER BY sum(query_duration_ms) DESC LIMIT 12 FORMAT TSV" >&2 || true
echo "ClickHouse data size: $(du -sh "$work/cluster/clickhouse-0/data" | cut -f1) + $(du -sh "$work/cluster/clickhouse-1/data" | cut -f1)" >&2
echo "peak RSS: $(for p in $(pgrep -f "$work/cluster" ); do grep -h VmHWM /proc/$p/status 2>/dev/null | awk -v p="$(ps -o comm= -p $p)" '{printf "%s %s MiB; ", p, int($2/1024)}'; done)" >&2
