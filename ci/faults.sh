#!/usr/bin/env bash
# Faults with the real PostgreSQL server (issue 9, point 5), run by .ci/run after the test
# suite: a running `marrow serve` loses its database (the cluster is stopped, as an operator
# or a crash would), must answer 503 quickly while it is away, and must answer 200 again once
# the cluster is back, without being restarted. Needs root (pg_ctlcluster) and MARROW_BIN.
#
#   MARROW_BIN=target/debug/marrow PG_VERSION=15 PG_PORT=5432 bash ci/faults.sh
set -euo pipefail

: "${MARROW_BIN:?set MARROW_BIN to the marrow binary}"
: "${PG_VERSION:?set PG_VERSION}"
PG_PORT="${PG_PORT:-5432}"
URL="postgres://marrow:marrow@127.0.0.1:$PG_PORT/marrow_faults"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  pg_ctlcluster "$PG_VERSION" main start 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

su postgres -c "psql -qc 'DROP DATABASE IF EXISTS marrow_faults'" >/dev/null
su postgres -c "psql -qc 'CREATE DATABASE marrow_faults OWNER marrow'" >/dev/null
"$MARROW_BIN" --database "$URL" migrate
echo "a long enough password" | "$MARROW_BIN" --database "$URL" user add --role clinician faults >/dev/null
TOKEN="$("$MARROW_BIN" --database "$URL" token create faults | tail -n 1 | awk '{print $NF}')"
PORT=$((20000 + RANDOM % 20000))
"$MARROW_BIN" --database "$URL" serve --listen "127.0.0.1:$PORT" >"$WORK/out" 2>"$WORK/err" &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

status() { curl -s -o "$WORK/body" -w '%{http_code}' -m 20 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/cases"; }

[ "$(status)" = 200 ] || { echo "faults: the API did not answer 200 before the fault"; exit 1; }
pg_ctlcluster "$PG_VERSION" main stop -m fast
for i in 1 2 3; do
  start=$(date +%s%N)
  code="$(status)"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "faults: database stopped, request $i: $code in $took ms: $(cat "$WORK/body")"
  [ "$code" = 503 ] || { echo "faults: expected 503 while the database is stopped"; exit 1; }
  [ "$took" -lt 5000 ] || { echo "faults: the refusal took $took ms (not fast)"; exit 1; }
done
pg_ctlcluster "$PG_VERSION" main start
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.5; done
back=""
for i in $(seq 1 40); do
  code="$(status)"
  if [ "$code" = 200 ]; then back="after $i tries"; break; fi
  sleep 0.5
done
[ -n "$back" ] || { echo "faults: the API did not recover after the database came back"; exit 1; }
kill -0 "$SERVER" || { echo "faults: marrow exited"; exit 1; }
echo "faults: the same marrow answered 200 again $back, without a restart"
