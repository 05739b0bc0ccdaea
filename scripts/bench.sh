#!/usr/bin/env bash
# Reproduces the figures of docs/benchmarks.md: builds campaignstats, starts `serve` as its own process on an empty
# data directory, and runs `campaignstats bench` against it with the naive DuckDB baseline on the same data (the
# baseline is compiled in only with the build tag benchnaive, hence -tags below).
# Usage: scripts/bench.sh [EVENTS] [CAMPAIGNS] [USERS] [DAYS]   (defaults: 10000000 1000 1000000 60)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-10000000}; CAMPAIGNS=${2:-1000}; USERS=${3:-1000000}; DAYS=${4:-60}
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -tags benchnaive -o "$work/campaignstats" ./cmd/campaignstats
bin="$work/campaignstats"
"$bin" workspace create --data-dir "$work/data" --name bench --rate-limit 100000 > "$work/ws.json"
ws=$(sed -n 's/.*"workspace_id": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
rk=$(sed -n 's/.*"report_key": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
dk=$(sed -n 's/.*"data_key": "\([0-9a-f]*\)".*/\1/p' "$work/ws.json")
port=18181
"$bin" serve --data-dir "$work/data" --addr "127.0.0.1:$port" --log-level warn &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version)" >&2
"$bin" bench --server "http://127.0.0.1:$port" --workspace "$ws" --data-key "$dk" --report-key "$rk" \
  --events "$EVENTS" --campaigns "$CAMPAIGNS" --users "$USERS" --days "$DAYS" --stats-calls 200 \
  --server-pid "$pid" --naive "${@:5}"
echo "data directory size: $(du -sh "$work/data" | cut -f1)" >&2
