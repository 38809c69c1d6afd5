#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (issue 9, point 1) for a short time each, starting from the
# committed seeds, with cargo-fuzz (libFuzzer + AddressSanitizer) from crates.io.
#
#   bash ci/fuzz.sh [SECONDS_PER_TARGET] [--release]
#
# .ci/run calls it with a few seconds per target and a debug build (quick to compile); the long
# runs recorded in RELIABILITY.md use --release. A crash fails the run; libFuzzer prints the
# input and cargo-fuzz saves it under fuzz/artifacts/TARGET/. Copy it into fuzz/regressions/
# TARGET/ and fix the cause: the crates' fuzz_inputs tests replay every file there.
#
# The stable toolchain is enough: RUSTC_BOOTSTRAP=1 lets it accept the -Z sanitizer flags that
# cargo-fuzz passes (the sanitizer runtimes ship with the stable x86_64 Linux standard library).
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${1:-5}"
PROFILE="--dev"
if [ "${2:-}" = "--release" ]; then PROFILE="--release"; fi

TOOLS="$HOME/.cache/marrow/tools"
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -q "0.13.2"; then
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"
export RUSTC_BOOTSTRAP=1
TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/marrow/fuzz-target}"

cargo fuzz build "$PROFILE" --target-dir "$TARGET_DIR"

for target in $(cargo fuzz list); do
  # A fresh corpus each run: the seeds stay as committed.
  corpus="$(mktemp -d)"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  log="$corpus.log"
  status=0
  cargo fuzz run "$PROFILE" --target-dir "$TARGET_DIR" "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done [0-9]+ runs" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
  fi
  rm -f "$log"
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz: every target ran without a crash"
