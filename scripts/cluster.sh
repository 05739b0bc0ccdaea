#!/usr/bin/env bash
# Runs campaignstats on several machines' worth of parts, all on loopback: 2 ClickHouse shards (events, behind a
# Distributed table), PostgreSQL (metadata, locks, leader election), Redis (shared rate limits), SeaweedFS (S3 report
# files) and 2 campaignstats nodes sharing them.
#
#   scripts/cluster.sh start [DIR]   start everything; state, data and logs in DIR (default ./cluster)
#   scripts/cluster.sh stop  [DIR]   stop everything started in DIR (by PID)
#   scripts/cluster.sh env   [DIR]   print the nodes' URLs and the admin token as shell assignments
#
# Needs Debian's clickhouse-server, postgresql and redis-server packages, and the weed binary
# (scripts/build-weed.sh). PORT_BASE (default 19100) is the first of the 20 ports it uses.
set -euo pipefail
cmd=${1:-}
dir=$(realpath -m "${2:-./cluster}")
base=${PORT_BASE:-19100}
repo=$(cd "$(dirname "$0")/.." && pwd)

ch_tcp=($((base + 0)) $((base + 1))); ch_http=($((base + 2)) $((base + 3))); ch_inter=($((base + 4)) $((base + 5)))
pg_port=$((base + 6)); redis_port=$((base + 7)); node_port=($((base + 8)) $((base + 9)))
s3_port=$((base + 10)); weed_master=$((base + 11)); weed_volume=$((base + 12)); weed_filer=$((base + 13))
# SeaweedFS's gRPC ports, named so that none defaults to its HTTP port + 10000, outside the range.
weed_grpc=($((base + 14)) $((base + 15)) $((base + 16)) $((base + 17)))
admin_token=cluster-admin-token-0123456789
pg_bin=/usr/lib/postgresql/15/bin

die() { echo "cluster.sh: $*" >&2; exit 1; }
started() { echo "$1" >>"$dir/pids"; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
wait_for() { # wait_for WHAT SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up in ${secs}s (logs in $dir)"
}
weed_bin() {
  for w in "${CAMPAIGNSTATS_WEED:-}" "$(command -v weed || true)" "${XDG_CACHE_HOME:-$HOME/.cache}/campaignstats/weed"; do
    [ -n "$w" ] && [ -x "$w" ] && { echo "$w"; return; }
  done
  die "weed not found: run scripts/build-weed.sh"
}

start_clickhouse() {
  local shards="" i
  for i in 0 1; do shards+="<shard><replica><host>127.0.0.1</host><port>${ch_tcp[$i]}</port></replica></shard>"; done
  for i in 0 1; do
    local d=$dir/clickhouse-$i
    mkdir -p "$d"/{data,tmp,user_files,format_schemas,log}
    cat >"$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_threads>2</max_threads><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
    cat >"$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>$d/log/server.log</log><errorlog>$d/log/error.log</errorlog>
    <size>10M</size><count>2</count><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>${ch_tcp[$i]}</tcp_port><http_port>${ch_http[$i]}</http_port>
  <interserver_http_port>${ch_inter[$i]}</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$d/data/</path><tmp_path>$d/tmp/</tmp_path><user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <remote_servers><campaignstats>$shards</campaignstats></remote_servers>
</yandex>
XML
    setsid clickhouse-server --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 &
    started $!
  done
  for i in 0 1; do wait_for "clickhouse shard $i" 60 curl -fsS "http://127.0.0.1:${ch_http[$i]}/ping"; done
}

start_postgres() {
  local d=$dir/postgres
  mkdir -p "$d/socket"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$d"
    runuser -u postgres -- test -w "$d" || die "user postgres cannot reach $d: use a directory every user can traverse"
  fi
  as_postgres "$pg_bin/initdb" -D "$d/data" -U campaignstats --auth=trust >"$dir/postgres-initdb.log" 2>&1 ||
    { cat "$dir/postgres-initdb.log" >&2; die "initdb failed"; }
  as_postgres setsid "$pg_bin/postgres" -D "$d/data" -k "$d/socket" -h 127.0.0.1 -p "$pg_port" >"$d/postgres.log" 2>&1 &
  started $!
  wait_for postgres 30 as_postgres "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port"
  as_postgres psql -h 127.0.0.1 -p "$pg_port" -U campaignstats -d postgres -qc "CREATE DATABASE campaignstats" >/dev/null
}

start_redis() {
  mkdir -p "$dir/redis"
  setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir/redis" >"$dir/redis/redis.log" 2>&1 &
  started $!
  wait_for redis 10 redis-cli -p "$redis_port" ping
}

start_s3() {
  local d=$dir/s3 weed
  weed=$(weed_bin)
  mkdir -p "$d"
  cat >"$d/s3.json" <<JSON
{"identities":[{"name":"campaignstats","credentials":[{"accessKey":"campaignstats","secretKey":"campaignstats-secret"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  # Every port is in the range (the Iceberg and Lance servers, which default to fixed ports, are off), and the
  # local sockets are in the cluster's directory, so that clusters and tests can run side by side.
  setsid "$weed" server -dir="$d" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -master.port="$weed_master" -master.port.grpc="${weed_grpc[0]}" \
    -volume.port="$weed_volume" -volume.port.grpc="${weed_grpc[1]}" \
    -filer.port="$weed_filer" -filer.port.grpc="${weed_grpc[2]}" -filer.localSocket="$d/filer.sock" \
    -s3 -s3.port="$s3_port" -s3.port.grpc="${weed_grpc[3]}" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.localSocket="$d/s3.sock" -s3.config="$d/s3.json" >"$d/weed.log" 2>&1 &
  started $!
  wait_for "s3 (seaweedfs)" 60 curl -fsS -o /dev/null "http://127.0.0.1:$s3_port/status"
}

node_flags() {
  echo --store "clickhouse://127.0.0.1:${ch_tcp[0]}/campaignstats,clickhouse://127.0.0.1:${ch_tcp[1]}/campaignstats" \
    --meta "postgres://campaignstats@127.0.0.1:$pg_port/campaignstats?sslmode=disable"
}

start_nodes() {
  (cd "$repo" && go build -o "$dir/campaignstats" ./cmd/campaignstats)
  # shellcheck disable=SC2046
  "$dir/campaignstats" migrate $(node_flags) >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; die "migrate failed"; }
  local i
  for i in 0 1; do
    mkdir -p "$dir/node-$i"
    # shellcheck disable=SC2046
    AWS_ACCESS_KEY_ID=campaignstats AWS_SECRET_ACCESS_KEY=campaignstats-secret AWS_REGION=us-east-1 \
      CAMPAIGNSTATS_ADMIN_TOKEN=$admin_token setsid "$dir/campaignstats" serve --addr "127.0.0.1:${node_port[$i]}" \
      --data-dir "$dir/node-$i" $(node_flags) --redis "redis://127.0.0.1:$redis_port/0" \
      --report-storage "s3://reports/cluster" --s3-endpoint "http://127.0.0.1:$s3_port" >"$dir/node-$i/serve.log" 2>&1 &
    started $!
  done
  for i in 0 1; do wait_for "node $i" 60 curl -fsS "http://127.0.0.1:${node_port[$i]}/readyz"; done
}

stop_all() {
  [ -f "$dir/pids" ] || return 0
  # Nodes first (they drain), then the stores, in reverse start order.
  tac "$dir/pids" | while read -r pid; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
  # PostgreSQL runs under runuser as its own session: stop the postmaster by the PID it records.
  local pm=$dir/postgres/data/postmaster.pid
  if [ -f "$pm" ]; then
    local pid; pid=$(head -1 "$pm")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case "$cmd" in
start)
  [ -f "$dir/pids" ] && die "$dir already holds a running cluster (scripts/cluster.sh stop $dir)"
  for b in clickhouse-server redis-server curl; do command -v "$b" >/dev/null || die "$b is not installed"; done
  [ -x "$pg_bin/postgres" ] || die "postgresql 15 is not installed"
  rm -rf "$dir"; mkdir -p "$dir"
  # A failed start (die exits, which ERR does not catch) stops what it started.
  trap 'stop_all' ERR EXIT
  start_clickhouse; start_postgres; start_redis; start_s3; start_nodes
  trap - ERR EXIT
  "$0" env "$dir"
  ;;
stop) stop_all ;;
env)
  echo "CLUSTER_NODES=\"http://127.0.0.1:${node_port[0]} http://127.0.0.1:${node_port[1]}\""
  echo "CAMPAIGNSTATS_ADMIN_TOKEN=$admin_token"
  ;;
*) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
