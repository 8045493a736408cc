#!/usr/bin/env bash
# with-redis.sh CMD...: run CMD with a private redis-server of its own.
#
# It installs redis-server with apt-get if it is missing, starts it on a free
# loopback port with nothing persisted, exports REGLOCK_TEST_REDIS=host:port
# (and REGLOCK_REDIS_SERVER, the binary, for tests that start more servers:
# restarts, Sentinel, Cluster), runs CMD, and stops the server afterwards,
# whatever happens. It never touches a Redis it did not start.
set -euo pipefail

# redis-server is all the tests need: it runs Sentinel too (--sentinel).
if ! command -v redis-server >/dev/null 2>&1; then
  echo "with-redis: redis-server not found; installing it with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >&2
fi
server=$(command -v redis-server)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for _ in $(seq 1 50); do
  candidate=$(( 20000 + RANDOM % 30000 ))
  if port_free "$candidate"; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "with-redis: no free port found" >&2; exit 1; }

dir=$(mktemp -d)
"$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --daemonize no --logfile "$dir/redis.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.05
done
if ! kill -0 "$pid" 2>/dev/null; then
  echo "with-redis: redis-server did not start:" >&2
  cat "$dir/redis.log" >&2 || true
  exit 1
fi
echo "with-redis: private redis-server on 127.0.0.1:$port" >&2

export REGLOCK_TEST_REDIS="127.0.0.1:$port"
export REGLOCK_REDIS_SERVER="$server"
"$@"
