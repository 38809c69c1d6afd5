#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: 10,000 synthetic cases in a SQLite file, then the
# case page and GET /api/v1/cases/{id} under 50 concurrent clients on loopback (wrk).
#
#   bash bench/run.sh            # needs wrk (Debian package "wrk") and curl
#   CASES=2000 DURATION=10s bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CASES="${CASES:-10000}"
DURATION="${DURATION:-30s}"
CONNECTIONS="${CONNECTIONS:-50}"
PORT="${PORT:-18090}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -p marrow
BIN="$TARGET_DIR/release/marrow"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export MARROW_DATABASE_URL="sqlite://$WORK/bench.db"
export MARROW_LOG=warn

echo "== seeding $CASES synthetic cases"
start=$(date +%s)
"$BIN" seed-synthetic --cases "$CASES"
echo "   seeded in $(( $(date +%s) - start )) s"
printf 'bench-password-123\n' | "$BIN" user add --role clinician bench.clinician >/dev/null
TOKEN="$("$BIN" token create bench.clinician 2>/dev/null)"

"$BIN" serve --listen "127.0.0.1:$PORT" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done

# Log in as a browser would: the login form's token, its cookie, then the session cookie.
JAR="$WORK/jar"
LOGIN_CSRF="$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/login" | sed -n 's/.*name="login_csrf" value="\([0-9a-f]*\)".*/\1/p')"
curl -s -b "$JAR" -c "$JAR" -o /dev/null \
  --data-urlencode "login_csrf=$LOGIN_CSRF" --data-urlencode "username=bench.clinician" \
  --data-urlencode "password=bench-password-123" "http://127.0.0.1:$PORT/login"
SESSION="$(awk '$6 == "marrow_session" {print $7}' "$JAR")"
[ -n "$SESSION" ] || { echo "bench: login failed" >&2; exit 1; }

echo "== case page: GET /cases/{random id}, $CONNECTIONS connections, $DURATION"
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: marrow_session=$SESSION" \
  -s bench/random_case.lua "http://127.0.0.1:$PORT" -- /cases/ "$CASES"

echo "== API: GET /api/v1/cases/{random id}, $CONNECTIONS connections, $DURATION"
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" \
  -s bench/random_case.lua "http://127.0.0.1:$PORT" -- /api/v1/cases/ "$CASES"
