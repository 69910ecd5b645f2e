#!/usr/bin/env bash
# The HybridCache adapter's measurements against a private redis-server on a free loopback port, stopped when done:
#   benchmarks/run-hybrid.sh               RemoveByTagAsync propagation between two nodes, then the memory-hit cost
#   benchmarks/run-hybrid.sh propagation   only the propagation;  benchmarks/run-hybrid.sh hits   only the hit cost (BenchmarkDotNet, ~2 min)
# Markdown on stdout; docs/hybridcache.md quotes it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
REDIS_URL="127.0.0.1:$port" dotnet run -c Release --project benchmarks/CacheInvalidation.Hybrid.Benchmarks -- "$@"
