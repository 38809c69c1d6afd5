#!/usr/bin/env bash
# The advisory half of the dependency check (issue 9, point 10), with cargo-deny.
#
#   CARGO_DENY=path/to/cargo-deny bash ci/advisories.sh
#
# 1. Self-test, always: a throwaway advisory database holding one synthetic advisory against
#    `serde` (in Marrow's tree, every version affected) must make `cargo deny check advisories`
#    fail and name it. This shows the check reads Marrow's real crate graph and fails the run
#    when an advisory matches, wherever it runs.
# 2. The real RustSec database, fetched from GitHub, where github.com answers: the check must
#    pass. Where it does not answer (this sandbox reaches only the package registries), the run
#    says so rather than pretending.
set -euo pipefail

cd "$(dirname "$0")/.."
DENY="${CARGO_DENY:-cargo-deny}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- 1. self-test -----------------------------------------------------------------------------
url="https://example.invalid/marrow-advisory-selftest"
cat >"$work/deny.toml" <<TOML
[graph]
all-features = true
[advisories]
db-path = "$work/dbs"
db-urls = ["$url"]
TOML
# cargo-deny keeps each database in a folder named after its URL; ask it which, then fill it.
dir="$("$DENY" --offline --config "$work/deny.toml" check advisories 2>&1 | grep -o "$work/dbs/[A-Za-z0-9._-]*" | head -n 1 || true)"
if [ -z "$dir" ]; then
  echo "advisories self-test: cargo-deny did not say where it looks for the database" >&2
  exit 1
fi
mkdir -p "$dir/crates/serde"
cat >"$dir/crates/serde/RUSTSEC-2026-9999.md" <<'MD'
```toml
[advisory]
id = "RUSTSEC-2026-9999"
package = "serde"
date = "2026-11-25"
url = "https://example.invalid/marrow-advisory-selftest"
title = "Synthetic advisory: Marrow's CI checks that its advisory check can fail"
description = "Not a real vulnerability."

[versions]
patched = [">= 999.0.0"]
```

# Synthetic advisory: Marrow's CI checks that its advisory check can fail

Not a real vulnerability.
MD
git -C "$dir" init -q
git -C "$dir" add -A
git -C "$dir" -c user.email=ci@marrow.invalid -c user.name="Marrow CI" commit -q -m "synthetic advisory"
if "$DENY" --offline --config "$work/deny.toml" check advisories >"$work/selftest.log" 2>&1; then
  echo "advisories self-test: a synthetic advisory against serde did NOT fail the check" >&2
  exit 1
fi
if ! grep -q "RUSTSEC-2026-9999" "$work/selftest.log"; then
  tail -n 20 "$work/selftest.log" >&2
  echo "advisories self-test: the check failed without naming the synthetic advisory" >&2
  exit 1
fi
echo "advisories self-test: ok (a synthetic advisory against serde fails the check and is named)"

# --- 2. the RustSec database ------------------------------------------------------------------
if timeout 20 git ls-remote --exit-code https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
  "$DENY" --locked check advisories
else
  echo "cargo deny check advisories: not run against RustSec, github.com (its database) is unreachable from here"
fi
