#!/usr/bin/env bash
# Single node vs a local 3-primary, 3-replica Redis Cluster, in one run (Markdown on stdout). Every server started
# here (on free loopback ports, no persistence) is stopped by its pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v redis-server >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi

pids=()
dir=$(mktemp -d)
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"' EXIT

free_port() {
  for _ in $(seq 1 100); do
    local candidate=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "no free port" >&2; exit 1
}

start() { # port [extra args…]
  local port=$1; shift
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/$port" "$@" >/dev/null &
  pids+=($!)
  for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
  echo "redis-server on $port did not start" >&2; exit 1
}

single=$(free_port); start "$single"
nodes=()
for _ in 1 2 3 4 5 6; do
  p=$(free_port); start "$p" --cluster-enabled yes --cluster-node-timeout 2000; nodes+=("127.0.0.1:$p")
done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 1 100); do
  redis-cli -p "${nodes[0]##*:}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.2
done

export REDIS_URL="127.0.0.1:$single"
export REDIS_CLUSTER_URL=$(IFS=,; echo "${nodes[*]}")
dotnet run -c Release --project benchmarks/CacheInvalidation.Benchmarks -- cluster
