# Sourced by scripts/test.sh: a real redis-server for the fleet tests (SPEC §10), installed from the
# distribution's packages when missing, on a free 127.0.0.1 port with persistence off, stopped by
# its pid on exit. Exports FAILSOFT_TEST_REDIS_URL for the binding suites; the Rust tests start
# their own private servers from the same binary (they SIGSTOP and FLUSHALL them).
# Without redis-server the fleet tests fail when CI is set and skip (saying so) otherwise.

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server from the distribution's packages"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
      || echo "could not install redis-server"
  fi
fi

if command -v redis-server >/dev/null 2>&1; then
  _redis_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  redis-server --bind 127.0.0.1 --port "$_redis_port" --save '' --appendonly no --daemonize no \
    --loglevel warning >/dev/null 2>&1 &
  FAILSOFT_TEST_REDIS_PID=$!
  trap 'kill "$FAILSOFT_TEST_REDIS_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$_redis_port") 2>/dev/null; then break; fi
    sleep 0.05
  done
  export FAILSOFT_TEST_REDIS_URL="redis://127.0.0.1:$_redis_port/0"
  echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $FAILSOFT_TEST_REDIS_URL (pid $FAILSOFT_TEST_REDIS_PID)"
elif [ -n "${CI:-}" ]; then
  echo "redis-server is missing and CI is set: the fleet tests need it" >&2
  exit 1
fi
