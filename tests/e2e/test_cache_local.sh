#!/usr/bin/env bash
# The local build cache: which context and argument changes hit and which
# miss, a build killed in the middle of a RUN, two builds sharing one
# state directory at the same time, prune and du, and --no-cache.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx/app"
echo "main v1" >"$ctx/app/main.txt"
echo "log line" >"$ctx/app/debug.log"
echo "extra" >"$ctx/extra.txt"
printf 'app/*.log\n' >"$ctx/.dockerignore"
# Every RUN writes a random UUID, so a step that ran again
# gives another layer and another image digest.
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN cat /proc/sys/kernel/random/uuid >/first
COPY app/ /app/
RUN cat /proc/sys/kernel/random/uuid >/after-copy
ARG FLAVOR=plain
RUN echo "$FLAVOR $(cat /proc/sys/kernel/random/uuid)" >/flavor
COPY extra.txt /extra.txt
DOCKERFILE

ALL_CACHED="CACHED CACHED CACHED CACHED CACHED "
ALL_RUN="RUN RUN RUN RUN RUN "

# build NAME [ARGS...]: builds $BUILD_CONTEXT (default $ctx) with the
# test's state directory and prints the image digest. The log goes to
# $TEST_TMP/NAME.err.
build() {
  local name="$1"
  shift
  cbuild_build "$@" "${BUILD_CONTEXT:-$ctx}" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" ||
    fail "$name: build failed: $(tail -n 30 "$TEST_TMP/$name.err")"
  tail -n 1 "$TEST_TMP/$name.out"
}

# step_results NAME: CACHED or RUN for each RUN and COPY step, in order,
# read from the log: a step is CACHED when a CACHED line follows its header.
step_results() {
  awk '
    function flush() { if (open) printf "%s ", result; open = 0 }
    /^\[([a-z0-9_.-]+ )?[0-9]+\/[0-9]+\] (RUN|COPY) / { flush(); open = 1; result = "RUN"; next }
    /^\[([a-z0-9_.-]+ )?[0-9]+\/[0-9]+\] / { flush(); next }
    open && ($0 == "CACHED" || $0 ~ /^\[[a-z0-9_.-]+\] CACHED$/) { result = "CACHED" }
    END { flush() }' "$TEST_TMP/$1.err"
}

# expect NAME EXPECTED [ARGS...]: builds and checks the step results.
expect() {
  local name="$1" expected="$2"
  shift 2
  LAST_DIGEST=$(build "$name" "$@")
  assert_eq "$expected" "$(step_results "$name")" "$name: steps (RUN or CACHED)"
}

case_hit_miss_matrix() {
  local baseline
  expect first "$ALL_RUN"
  baseline=$LAST_DIGEST
  expect unchanged "$ALL_CACHED"
  assert_eq "$baseline" "$LAST_DIGEST" "digest of an unchanged rebuild"

  # The key covers content and mode, not times.
  touch -d '2001-02-03 04:05:06' "$ctx/app/main.txt"
  expect touched "$ALL_CACHED"
  assert_eq "$baseline" "$LAST_DIGEST" "digest after touching a copied file"

  echo "ignored change" >>"$ctx/app/debug.log"
  expect ignored-file "$ALL_CACHED"
  assert_eq "$baseline" "$LAST_DIGEST" "digest after changing an ignored file"

  # One byte: "main v1" becomes "main v2".
  sed -i 's/v1/v2/' "$ctx/app/main.txt"
  expect one-byte "CACHED RUN RUN RUN RUN "
  expect one-byte-again "$ALL_CACHED"

  chmod 0600 "$ctx/app/main.txt"
  expect chmod "CACHED RUN RUN RUN RUN "

  # FLAVOR reaches the keys of the steps after its ARG line only.
  expect build-arg "CACHED CACHED CACHED RUN RUN " --build-arg FLAVOR=spicy
  expect build-arg-again "$ALL_CACHED" --build-arg FLAVOR=spicy

  expect no-cache "$ALL_RUN" --no-cache
  grep -q "5 steps run, 0 cached" "$TEST_TMP/no-cache.err" || fail "--no-cache summary: $(tail -n 2 "$TEST_TMP/no-cache.err")"
}

# kill -9 while a RUN sleeps: the next build reuses the steps that
# completed and runs the interrupted one again.
case_killed_build() {
  local kctx="$TEST_TMP/kill-ctx" log="$TEST_TMP/killed.err" pid deadline
  mkdir -p "$kctx"
  echo "data" >"$kctx/data.txt"
  cat >"$kctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY data.txt /data.txt
RUN cat /proc/sys/kernel/random/uuid >/before
RUN echo long-step-started && sleep 4 && cat /proc/sys/kernel/random/uuid >/long
RUN cat /proc/sys/kernel/random/uuid >/after
DOCKERFILE
  "$CBUILD" build --root "$TEST_ROOT" --registry-mirror "$REGISTRY" --insecure-registry "$REGISTRY" \
    "$kctx" >/dev/null 2>"$log" &
  pid=$!
  deadline=$((SECONDS + 120))
  until grep -q "long-step-started" "$log"; do
    ((SECONDS < deadline)) || fail "the long RUN did not start: $(tail -n 20 "$log")"
    kill -0 "$pid" 2>/dev/null || fail "cbuild ended before the long RUN: $(tail -n 20 "$log")"
    sleep 0.1
  done
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true

  BUILD_CONTEXT=$kctx expect after-kill "CACHED CACHED RUN RUN "
  grep -q "long-step-started" "$TEST_TMP/after-kill.err" || fail "the interrupted RUN did not run again"
}

# Two builds of one project with one state directory at the same time.
# SOURCE_DATE_EPOCH pins the timestamps, so the step that both run gives
# the same layer in each.
case_concurrent_builds() {
  local cctx="$TEST_TMP/concurrent-ctx" a b third status_a=0 status_b=0
  mkdir -p "$cctx/src"
  echo "one" >"$cctx/src/one.txt"
  echo "two" >"$cctx/two.txt"
  printf 'FROM busybox\nCOPY src/ /app/src/\nCOPY two.txt /app/\nRUN echo built >/app/built\n' >"$cctx/Dockerfile"
  cbuild_build --build-arg SOURCE_DATE_EPOCH=0 "$cctx" >"$TEST_TMP/concurrent-a.out" 2>"$TEST_TMP/concurrent-a.err" &
  a=$!
  cbuild_build --build-arg SOURCE_DATE_EPOCH=0 "$cctx" >"$TEST_TMP/concurrent-b.out" 2>"$TEST_TMP/concurrent-b.err" &
  b=$!
  wait "$a" || status_a=$?
  wait "$b" || status_b=$?
  ((status_a == 0)) || fail "first concurrent build failed: $(tail -n 20 "$TEST_TMP/concurrent-a.err")"
  ((status_b == 0)) || fail "second concurrent build failed: $(tail -n 20 "$TEST_TMP/concurrent-b.err")"
  # Both may have run the RUN (its file's mtime can differ), but the cache
  # they wrote together must serve a third build in full, with the image
  # of one of them.
  third=$(BUILD_CONTEXT="$cctx" build concurrent-third --build-arg SOURCE_DATE_EPOCH=0)
  assert_eq "CACHED CACHED CACHED " "$(step_results concurrent-third)" "build after the concurrent ones"
  [[ "$third" == "$(tail -n 1 "$TEST_TMP/concurrent-a.out")" || "$third" == "$(tail -n 1 "$TEST_TMP/concurrent-b.out")" ]] ||
    fail "the cached image matches neither concurrent build: $third"
}


case_prune_and_du() {
  local name="cache-local/app:1"
  build tagged -t "$name" >/dev/null
  "$CBUILD" du --root "$TEST_ROOT" >"$TEST_TMP/du-before" || fail "cbuild du failed"
  [[ "$(awk '/^cache entries/ { print $NF }' "$TEST_TMP/du-before")" -gt 0 ]] ||
    fail "no cache entries before prune: $(cat "$TEST_TMP/du-before")"

  # What a killed build leaves in tmp/: a partial blob and a work directory.
  head -c 100000 /dev/zero >"$TEST_ROOT/tmp/blob-killed"
  mkdir -p "$TEST_ROOT/tmp/build-killed/step-1"
  "$CBUILD" prune --root "$TEST_ROOT" >"$TEST_TMP/prune" || fail "cbuild prune failed"
  assert_missing "$TEST_ROOT/tmp/blob-killed" "partial blob of a killed build after prune"
  assert_missing "$TEST_ROOT/tmp/build-killed" "work directory of a killed build after prune"
  "$CBUILD" du --root "$TEST_ROOT" >"$TEST_TMP/du-after" || fail "cbuild du failed"
  assert_eq "0" "$(awk '/^cache entries/ { print $NF }' "$TEST_TMP/du-after")" "cache entries after prune"
  assert_eq "0.0" "$(awk '/^build cache/ { print $(NF-1) }' "$TEST_TMP/du-after")" "build cache MB after prune"
  skopeo inspect "oci:$TEST_ROOT:docker.io/$name" >/dev/null ||
    fail "the tagged image is gone after prune"

  expect after-prune "$ALL_RUN"
}

# prune --filter until= keeps recent entries; --keep-storage with a tiny
# budget drops them; --no-cache-filter reruns only the named stage.
case_prune_filters_and_stage_filter() {
  local entries
  build filters-warm >/dev/null
  "$CBUILD" prune --root "$TEST_ROOT" --filter until=24h >/dev/null || fail "prune --filter failed"
  "$CBUILD" du --root "$TEST_ROOT" >"$TEST_TMP/du-filter" || fail "cbuild du failed"
  entries=$(awk '/^cache entries/ { print $NF }' "$TEST_TMP/du-filter")
  [[ "$entries" -gt 0 ]] || fail "prune --filter until=24h removed recent entries"
  expect filters-still-cached "$ALL_CACHED"

  "$CBUILD" prune --root "$TEST_ROOT" --keep-storage 1B >/dev/null || fail "prune --keep-storage failed"
  "$CBUILD" du --root "$TEST_ROOT" >"$TEST_TMP/du-keep" || fail "cbuild du failed"
  assert_eq "0.0" "$(awk '/^build cache/ { print $(NF-1) }' "$TEST_TMP/du-keep")" "build cache MB after --keep-storage 1B"

  status=0
  "$CBUILD" prune --root "$TEST_ROOT" --keep-storage lots >/dev/null 2>"$TEST_TMP/prune-bad" || status=$?
  ((status == 2)) || fail "prune accepted an invalid size"
  assert_contains "$(cat "$TEST_TMP/prune-bad")" "invalid --keep-storage" "invalid size message"

  expect filters-refill "$ALL_RUN"

  mkdir -p "$TEST_TMP/staged"
  printf 'FROM busybox AS tools\nRUN cat /proc/sys/kernel/random/uuid >/t\nFROM busybox AS app\nRUN cat /proc/sys/kernel/random/uuid >/a\nCOPY --from=tools /t /t\n' \
    >"$TEST_TMP/staged/Dockerfile"
  # One stage at a time, so that each CACHED line follows its own step.
  BUILD_CONTEXT="$TEST_TMP/staged" expect staged-first "RUN RUN RUN " --jobs 1
  BUILD_CONTEXT="$TEST_TMP/staged" expect staged-cached "CACHED CACHED CACHED " --jobs 1
  # Only the named stage runs again; the other keeps its cache, but its
  # COPY --from now copies a new layer, so it misses too.
  BUILD_CONTEXT="$TEST_TMP/staged" expect staged-filter "RUN CACHED RUN " --jobs 1 --no-cache-filter tools
}

case_hit_miss_matrix
case_prune_filters_and_stage_filter
case_killed_build
case_concurrent_builds
case_prune_and_du
log "ok"
