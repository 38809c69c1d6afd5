#!/usr/bin/env bash
# API robustness (issue 9, point 2): schemathesis generates requests from /api/openapi.json and
# sends them, with a real token, to `marrow serve --demo` on a fresh SQLite database, once per
# clinical role (each role reaches different operations past the role check). It fails on any
# 5xx, any response that contradicts the document (body schema, status code, content type).
# Bounded: a fixed seed and a fixed number of examples per operation.
#
#   MARROW_BIN=target/debug/marrow SCHEMATHESIS=path/to/venv/bin/schemathesis bash ci/schemathesis.sh [EXAMPLES]
set -euo pipefail

: "${MARROW_BIN:?set MARROW_BIN to the marrow binary}"
: "${SCHEMATHESIS:?set SCHEMATHESIS to the schemathesis command}"
EXAMPLES="${1:-20}"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

DB="sqlite://$WORK/m.db"
PORT=$((20000 + RANDOM % 20000))
"$MARROW_BIN" serve --demo --database "$DB" --listen "127.0.0.1:$PORT" >"$WORK/out" 2>"$WORK/err" &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for role in clinician nurse proceduralist technologist pathologist; do
  token="$("$MARROW_BIN" --database "$DB" token create "$role" 2>/dev/null | tail -n 1)"
  echo "schemathesis: as $role, $EXAMPLES examples per operation"
  "$SCHEMATHESIS" run "http://127.0.0.1:$PORT/api/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" --seed 20261125 --no-color 2>&1 | tee "$WORK/$role.txt" | grep -a -E "generated|passed|failed|FAILED" || true
  if ! grep -a -q -E "^Test cases:" "$WORK/$role.txt" || grep -a -q -E "[0-9]+ failed|FAILURES" "$WORK/$role.txt"; then
    cat "$WORK/$role.txt"
    echo "schemathesis: failures as $role"
    exit 1
  fi
  # The run's own exit status is not enough alone: warnings (e.g. operations only this role may
  # not use) are expected; failures are not.
done
echo "schemathesis: no failures for any role"
