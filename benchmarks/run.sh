#!/usr/bin/env bash
# Runs the benchmarks against a private redis-server on a free loopback port, stopped when done.
#   benchmarks/run.sh                      Redis work per hit (probe), then every BenchmarkDotNet benchmark (~5 min on 2 cores)
#   benchmarks/run.sh --filter '*Latency*'  a subset (any BenchmarkDotNet arguments)
#   benchmarks/run.sh probe                only the probe: commands, server time and interleaved latency per hit
#   benchmarks/run.sh scenarios            stampede, fan-out and event scenarios (Markdown on stdout)
#   benchmarks/run.sh events               events/s and commit → invalidated lag, SQLite and PostgreSQL, 1 and 3 relays, 200–5,000/s (~5 min;
#                                          starts a private PostgreSQL too: Debian's postgresql binaries, as user postgres when root)
#   benchmarks/run.sh propagation          node A invalidates, time until node B stops serving its local copy (Markdown on stdout)
#   benchmarks/run.sh sampler              the continuous freshness sampler's Redis commands and source loads per second (~2 min)
# Results: BenchmarkDotNet.Artifacts/results (*-report-github.md, hit-probe.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v redis-server >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi

# A port below the kernel's ephemeral range and below that range minus 10000 (where Redis Cluster nodes of other
# processes put their bus ports), so nothing started meanwhile on "a free port" can collide with this server.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
top=$((low - 10000)); [ "$top" -gt 11000 ] || top=30000
port=""
for _ in $(seq 1 50); do
  candidate=$((10000 + RANDOM % (top - 10000)))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free port" >&2; exit 1; }

mkdir -p BenchmarkDotNet.Artifacts
log=BenchmarkDotNet.Artifacts/redis-server.log
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile "$PWD/$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
ready=""
for _ in $(seq 1 100); do
  if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "redis-server did not start on port $port (see $log)" >&2; exit 1; }
export REDIS_URL="127.0.0.1:$port"

status=0
dotnet run -c Release --project benchmarks/CacheInvalidation.Benchmarks -- "$@" || status=$?
kill -0 "$pid" 2>/dev/null || { echo "redis-server (pid $pid, port $port) died during the run; its log: $log" >&2; status=1; }
exit "$status"
