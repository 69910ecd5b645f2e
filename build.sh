#!/usr/bin/env bash
# The two quick-start commands:
#   ./build.sh demo   runs samples/CacheInvalidation.Demo against a private redis-server
#   ./build.sh test   runs every test (the fixture starts its own redis-server) and ends with "N passed, N failed"
#   ./build.sh catalog  runs samples/CacheInvalidation.CatalogSample (outbox → stream → consumer), like demo
# Each installs redis-server through apt-get when it is missing and REDIS_URL is not set; test also installs
# PostgreSQL's server (Debian's postgresql package) when its binaries are missing and POSTGRES_BIN_DIR is not set.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  echo "usage: ./build.sh demo | test [dotnet test arguments…] | catalog"
}

apt_updated=""
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
  # env, not a prefix assignment: sudo would drop the variable. A package may also start its system service
  # (redis on 6379, postgresql on 5432); that server is left alone (the commands below use their own).
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_redis() {
  if [ -n "${REDIS_URL:-}" ] || command -v redis-server >/dev/null 2>&1; then
    return
  fi
  echo "redis-server not found: installing it with apt-get…"
  apt_install redis-server
  command -v redis-server >/dev/null 2>&1 || { echo "redis-server could not be installed" >&2; exit 1; }
}

# The folder of PostgreSQL's server binaries, looked up as the tests do (PostgresServerProcess.FindBinDirectory):
# pg_config --bindir when it holds initdb and postgres (libpq-dev's pg_config may name a client-only version), else the
# newest /usr/lib/postgresql/N/bin that does.
postgres_bin_dir() {
  local dir
  for dir in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return
    fi
  done
  return 1
}

ensure_postgres() {
  if [ -n "${POSTGRES_BIN_DIR:-}" ] || postgres_bin_dir >/dev/null; then
    return
  fi
  echo "PostgreSQL server binaries not found: installing postgresql with apt-get…"
  apt_install postgresql
  postgres_bin_dir >/dev/null || { echo "postgresql could not be installed" >&2; exit 1; }
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}

started_pid=""
stop_started() {
  if [ -n "$started_pid" ] && kill -0 "$started_pid" 2>/dev/null; then
    kill "$started_pid" && wait "$started_pid" 2>/dev/null || true
  fi
}

start_private_redis() {
  local port
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
  started_pid=$!
  trap stop_started EXIT
  for _ in $(seq 1 100); do
    kill -0 "$started_pid" 2>/dev/null || { echo "redis-server exited at start (port $port taken?)" >&2; exit 1; }
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
      export REDIS_URL="127.0.0.1:$port"
      echo "Started a private redis-server on $REDIS_URL (pid $started_pid)"
      return
    fi
    sleep 0.1
  done
  echo "redis-server did not answer on port $port" >&2
  exit 1
}

run_sample() {
  ensure_redis
  dotnet build "samples/$1" -c Release -v quiet -nologo
  [ -n "${REDIS_URL:-}" ] || start_private_redis
  dotnet run --project "samples/$1" -c Release --no-build
}

# Sums the counters of every TRX file and prints the plain closing line; $2 is dotnet test's exit code.
summarize() {
  local counters
  counters=$(find "$1" -name '*.trx' -exec grep -ho '<Counters [^>]*>' {} + 2>/dev/null || true)
  local passed failed skipped
  count() { grep -o " $1=\"[0-9]*\"" <<<"$counters" | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}'; }
  passed=$(count passed)
  failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
  # xUnit skips land in total but not in executed (notExecuted stays 0).
  skipped=$(( $(count total) - $(count executed) ))
  if [ $((passed + failed)) -eq 0 ]; then
    echo "0 passed, 1 failed" # a run that executed nothing proves nothing
    return 1
  fi
  if [ "$2" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "dotnet test exited with $2 although no test failed (test host crash?)" >&2
    failed=1 # the line must not read green when the run was not
  fi
  list_failures "$1"
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

# Names each failed test with the first line of its message, just above the closing line, so a log that keeps only
# its tail still says what failed.
list_failures() {
  find "$1" -name '*.trx' -exec awk '
    /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1 }
    want && /<Message>/ { sub(/.*<Message>/, ""); sub(/<\/Message>.*/, ""); print "FAILED " name ": " $0; want = 0 }
    want && /<\/UnitTestResult>/ { print "FAILED " name; want = 0 }
  ' {} + 2>/dev/null | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&apos;/'"'"'/g; s/&amp;/\&/g' || true
}

run_tests() {
  ensure_redis
  ensure_postgres
  results=$(mktemp -d) # global: the EXIT trap runs after this function has returned
  trap 'rm -rf "$results"' EXIT
  local status=0
  dotnet build CacheInvalidation.sln -c Release -v quiet -nologo || { echo "0 passed, 1 failed"; exit 1; }
  mkdir -p "$results/pids"
  CACHEINVALIDATION_TEST_PIDS="$results/pids" dotnet test CacheInvalidation.sln -c Release --no-build \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" || status=$?
  # The tests stop their redis-server and postgres processes; any a torn-down test host left behind are stopped here,
  # by pid. A pid file outlives its (normally stopped) server, so a pid is only killed while it is still one of those.
  for pidfile in "$results"/pids/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      redis-server) kill "$pid" 2>/dev/null || true ;;
      postgres) kill -INT "$pid" 2>/dev/null || true ;; # fast shutdown: ends its backends too
    esac
  done
  summarize "$results" "$status" || status=1
  return $status
}

case "${1:-help}" in
  demo) shift; run_sample CacheInvalidation.Demo ;;
  catalog) shift; run_sample CacheInvalidation.CatalogSample ;;
  test) shift; run_tests "$@" ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
