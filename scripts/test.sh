#!/usr/bin/env bash
# Run every test of cbuild, as root on Debian 12:
#   1. install the packages (setup.sh) and build release and ASan+UBSan trees
#   2. ctest in build/: unit tests and the end-to-end tests
#   3. ctest in build-asan/: the same tests under the sanitizers
#   4. the example app's own Python tests
#   5. each libFuzzer target for CBUILD_FUZZ_SECONDS (default 60) when clang
#      and tests/fuzz exist
# Every step runs even when an earlier one failed; the exit status is
# non-zero when any failed. The last line counts tests:
# "summary: N passed, N failed, N skipped".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_SECONDS=${CBUILD_FUZZ_SECONDS:-60}
LOG_DIR=""
PASSED=0
FAILED=0
SKIPPED=0
FAILED_STEPS=()

# Sanitizer reports must fail the run, with a stack trace to act on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step_failed() {
  FAILED_STEPS+=("$1")
}

fuzzing_available() {
  command -v clang >/dev/null && [[ -f "$ROOT/tests/fuzz/CMakeLists.txt" ]]
}

build_all() {
  local kinds=(release asan)
  fuzzing_available && kinds+=(fuzz)
  bash "$ROOT/scripts/build.sh" "${kinds[@]}"
}

# Add the counts from ctest's "N% tests passed, F tests failed out of T" line.
count_ctest_results() {
  local log="$1" line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    FAILED=$((FAILED + BASH_REMATCH[1]))
    PASSED=$((PASSED + BASH_REMATCH[2] - BASH_REMATCH[1]))
  else
    FAILED=$((FAILED + 1))
  fi
}

# Usage: run_ctest NAME BUILD_DIR [CTEST_ARGS...]
run_ctest() {
  local name="$1" dir="$2" status=0
  shift 2
  echo "== $name: ctest --test-dir $dir $*"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error \
    --parallel "$(nproc)" "$@" 2>&1 | tee "$LOG_DIR/$name.log" || status=$?
  count_ctest_results "$LOG_DIR/$name.log"
  ((status == 0)) || step_failed "$name"
}

# Start a Redis server of the fixture tests' own, on a unix socket in
# LOG_DIR so that it listens on no network port, and print its URL.
start_fixture_redis() {
  local socket="$LOG_DIR/redis.sock" tries=0
  redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --save '' \
    --appendonly no --daemonize yes --pidfile "$LOG_DIR/redis.pid" \
    --logfile "$LOG_DIR/redis.log" >/dev/null || return 1
  until redis-cli -s "$socket" ping >/dev/null 2>&1; do
    ((++tries < 50)) || return 1
    sleep 0.1
  done
  echo "unix://$socket"
}

stop_fixture_redis() {
  [[ -f "$LOG_DIR/redis.pid" ]] && kill "$(cat "$LOG_DIR/redis.pid")" 2>/dev/null
  rm -f "$LOG_DIR/redis.pid"
}

run_fixture_tests() {
  local log="$LOG_DIR/fixture.log" status=0 ran skipped redis_url
  echo "== flask-app: python3 -m unittest"
  redis_url=$(start_fixture_redis) || {
    echo "test: could not start redis-server (log: $LOG_DIR/redis.log)" >&2
    redis_url=""
  }
  REDIS_URL="$redis_url" PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m unittest discover \
    -s "$ROOT/fixtures/flask-app/tests" -v 2>&1 | tee "$log" || status=$?
  stop_fixture_redis
  ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} .*/\1/p' "$log")
  skipped=$(sed -n 's/^OK (skipped=\([0-9]*\))$/\1/p' "$log")
  if ((status == 0)); then
    PASSED=$((PASSED + ${ran:-0} - ${skipped:-0}))
    SKIPPED=$((SKIPPED + ${skipped:-0}))
  else
    FAILED=$((FAILED + 1))
    step_failed "flask-app tests"
  fi
}

# Run one libFuzzer target on a scratch corpus seeded from
# tests/fuzz/corpus/<name> (with or without the fuzz_ prefix) when present.
run_fuzzer() {
  local binary="$1" name seeds=() dir
  name=$(basename "$binary")
  for dir in "$ROOT/tests/fuzz/corpus/$name" "$ROOT/tests/fuzz/corpus/${name#fuzz_}"; do
    [[ -d "$dir" ]] && seeds+=("$dir")
  done
  mkdir -p "$LOG_DIR/corpus-$name"
  echo "== $name: ${FUZZ_SECONDS}s"
  # The outer timeout stops a fuzzer that hangs outside libFuzzer's own timers.
  if timeout "$((FUZZ_SECONDS + 120))" "$binary" -max_total_time="$FUZZ_SECONDS" \
    -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$LOG_DIR/$name-" \
    "$LOG_DIR/corpus-$name" "${seeds[@]}" >"$LOG_DIR/$name.log" 2>&1; then
    PASSED=$((PASSED + 1))
    grep -E '^stat::number_of_executed_units' "$LOG_DIR/$name.log" || true
  else
    FAILED=$((FAILED + 1))
    step_failed "$name"
    tail -n 60 "$LOG_DIR/$name.log"
    echo "$name: crash input and full log kept in $LOG_DIR"
  fi
}

run_fuzzers() {
  local fuzzers=() binary
  if ! fuzzing_available; then
    echo "== fuzzers: skipped (needs clang and tests/fuzz)"
    return 0
  fi
  # fuzz_<name>_replay programs only replay the corpus; ctest runs those.
  while IFS= read -r binary; do
    fuzzers+=("$binary")
  done < <(find "$ROOT/build-fuzz" -type f -executable -name 'fuzz_*' ! -name '*_replay' | sort)
  if ((${#fuzzers[@]} == 0)); then
    echo "== fuzzers: no libFuzzer targets in build-fuzz"
    step_failed "fuzz build"
    return 0
  fi
  for binary in "${fuzzers[@]}"; do
    run_fuzzer "$binary"
  done
}

main() {
  local started=$SECONDS
  bash "$ROOT/scripts/setup.sh"
  build_all
  LOG_DIR=$(mktemp -d /var/tmp/cbuild-test-logs.XXXXXX)

  run_ctest release "$ROOT/build"
  run_ctest asan "$ROOT/build-asan"
  run_fixture_tests
  run_fuzzers

  echo "== done in $((SECONDS - started))s"
  if ((${#FAILED_STEPS[@]} > 0)); then
    echo "failed steps: ${FAILED_STEPS[*]} (logs in $LOG_DIR)"
  else
    rm -rf "$LOG_DIR"
  fi
  echo "summary: $PASSED passed, $FAILED failed, $SKIPPED skipped"
  ((${#FAILED_STEPS[@]} == 0))
}

main "$@"
