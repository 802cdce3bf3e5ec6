#!/usr/bin/env bash
# Build cache shared between state directories through --cache-to and
# --cache-from: a registry and an OCI layout directory round trip, mode=min
# against mode=max, a miss in one stage that leaves the other stages'
# hits alone, and caches that cannot be read.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
echo "app v1" >"$ctx/app.txt"
# Every RUN writes a random UUID, so a step that ran again
# gives another layer and another image digest.
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS base
RUN cat /proc/sys/kernel/random/uuid >/base-stamp

FROM busybox AS tools
ARG TOOL_VERSION=1
RUN echo "tool $TOOL_VERSION $(cat /proc/sys/kernel/random/uuid)" >/tool

FROM base
COPY app.txt /app/app.txt
RUN cat /proc/sys/kernel/random/uuid >/app/stamp
COPY --from=tools /tool /app/tool
DOCKERFILE

cache_ref="$REGISTRY/cache/app:buildcache"
cache_dir="$TEST_TMP/cache-dir"

# build NAME ROOT ARGS...: builds the fixture with state directory ROOT and
# prints the image digest. The log goes to $TEST_TMP/NAME.err.
build() {
  local name="$1" root="$2"
  shift 2
  timeout "$CBUILD_TEST_TIMEOUT" "$CBUILD" build --root "$root" --registry-mirror "$REGISTRY" \
    --insecure-registry "$REGISTRY" "$@" "$ctx" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" ||
    fail "$name: build failed: $(tail -n 30 "$TEST_TMP/$name.err")"
  tail -n 1 "$TEST_TMP/$name.out"
}

# summary NAME: the "N steps run, M cached" part of the build's last line.
summary() {
  grep -o '[0-9]* steps\? run, [0-9]* cached' "$TEST_TMP/$1.err" ||
    fail "$1: no summary line in: $(tail -n 5 "$TEST_TMP/$1.err")"
}

# step_results NAME STAGE: CACHED or RUN for each file-system step of
# STAGE, in order, read from the log: a step is CACHED when a "[STAGE]
# CACHED" line follows its header.
step_results() {
  local name="$1" stage="$2"
  awk -v stage="$stage" '
    function flush() { if (open) printf "%s ", result; open = 0 }
    index($0, "[" stage " ") == 1 && ($3 == "RUN" || $3 == "COPY") { flush(); open = 1; result = "RUN"; next }
    index($0, "[" stage " ") == 1 { flush(); next }
    open && $0 == "[" stage "] CACHED" { result = "CACHED" }
    END { flush() }' "$TEST_TMP/$name.err"
}

case_registry_round_trip() {
  local first second
  first=$(build registry-export "$TEST_TMP/root-1" --cache-to "type=registry,ref=$cache_ref,mode=max")
  assert_eq "5 steps run, 0 cached" "$(summary registry-export)" "first build"
  grep -q "exporting 5 cache entries to '$cache_ref' (mode=max)" "$TEST_TMP/registry-export.err" ||
    fail "export line missing: $(grep -i cache "$TEST_TMP/registry-export.err")"
  skopeo inspect --raw --tls-verify=false "docker://$cache_ref" >"$TEST_TMP/cache-manifest.json" ||
    fail "the cache manifest is not in the registry"
  assert_eq "application/vnd.cbuild.cache.config.v1+json" \
    "$(jq -r .config.mediaType "$TEST_TMP/cache-manifest.json")" "cache config media type"

  # A fresh state directory: the local cache is empty, so every hit comes
  # from the registry, and an identical digest proves no RUN ran again.
  second=$(build registry-import "$TEST_TMP/root-2" --cache-from "type=registry,ref=$cache_ref")
  assert_eq "$first" "$second" "image digest rebuilt from the registry cache"
  assert_eq "0 steps run, 5 cached" "$(summary registry-import)" "build from the registry cache"
  assert_eq "CACHED " "$(step_results registry-import base)" "stage base"
  assert_eq "CACHED " "$(step_results registry-import tools)" "stage tools"
  assert_eq "CACHED CACHED CACHED " "$(step_results registry-import stage-2)" "final stage"
  grep -q "imported 5 cache entries from '$cache_ref'" "$TEST_TMP/registry-import.err" ||
    fail "import line missing: $(head -n 5 "$TEST_TMP/registry-import.err")"

  # Fetched entries went into the local cache: a third build needs no
  # registry cache at all.
  second=$(build local-after-import "$TEST_TMP/root-2")
  assert_eq "$first" "$second" "image digest from the local cache"
  assert_eq "0 steps run, 5 cached" "$(summary local-after-import)" "build from the fetched entries"
  FIRST_DIGEST=$first
}

# A changed build arg used only in stage tools: that stage misses, and so
# does the COPY --from it, but stage base and the final stage's steps
# before that COPY still hit from the registry cache.
case_miss_in_one_stage() {
  local digest
  digest=$(build arg-changed "$TEST_TMP/root-3" --cache-from "type=registry,ref=$cache_ref" \
    --build-arg TOOL_VERSION=2)
  [[ "$digest" != "$FIRST_DIGEST" ]] || fail "a changed build arg gave the same image"
  assert_eq "CACHED " "$(step_results arg-changed base)" "stage base"
  assert_eq "RUN " "$(step_results arg-changed tools)" "stage tools"
  assert_eq "CACHED CACHED RUN " "$(step_results arg-changed stage-2)" "final stage"
  assert_eq "2 steps run, 3 cached" "$(summary arg-changed)" "build with a changed build arg"
}

# mode=min exports the final image's steps (the final stage and stage
# base, which it is built FROM), not those of stage tools. Stage tools runs
# again and, because its RUN writes a random UUID, makes a new layer, so the
# COPY --from=tools that reads it misses too: a key covers the layers the
# step builds on, never a stale copy of them.
case_local_round_trip() {
  local first second
  first=$(build local-export "$TEST_TMP/root-4" --cache-to "type=local,dest=$cache_dir")
  assert_exists "$cache_dir/index.json" "cache layout index"
  assert_exists "$cache_dir/oci-layout" "cache layout marker"
  grep -q "exporting 4 cache entries to '$cache_dir' (mode=min)" "$TEST_TMP/local-export.err" ||
    fail "export line missing: $(grep -i cache "$TEST_TMP/local-export.err")"
  skopeo inspect --raw "oci:$cache_dir" >/dev/null || fail "skopeo cannot read the cache layout"

  second=$(build local-import "$TEST_TMP/root-5" --cache-from "type=local,src=$cache_dir")
  [[ "$first" != "$second" ]] || fail "the image kept the old output of stage tools"
  assert_eq "CACHED " "$(step_results local-import base)" "stage base"
  assert_eq "RUN " "$(step_results local-import tools)" "stage tools (not exported with mode=min)"
  assert_eq "CACHED CACHED RUN " "$(step_results local-import stage-2)" "final stage"

  # A second export replaces the layout in place.
  build local-reexport "$TEST_TMP/root-5" --cache-to "type=local,dest=$cache_dir,mode=max" >/dev/null
  assert_eq "1" "$(jq '.manifests | length' "$cache_dir/index.json")" "manifests in the replaced layout"
  second=$(build local-import-max "$TEST_TMP/root-6" --cache-from "type=local,src=$cache_dir")
  assert_eq "0 steps run, 5 cached" "$(summary local-import-max)" "build from the mode=max directory"
}

# A cache that cannot be read costs its hits, not the build.
case_unreadable_caches() {
  local auth_dir="$TEST_TMP/auth-registry" port digest
  mkdir -p "$auth_dir"
  htpasswd -Bbn e2e-user right-password >"$auth_dir/htpasswd"
  port=$(registry_start "$auth_dir" "$auth_dir/htpasswd") ||
    skip "docker-registry with htpasswd authentication did not start: $(tail -n 5 "$auth_dir/registry.log")"
  on_exit "registry_stop '$auth_dir'"

  digest=$(build unreadable "$TEST_TMP/root-7" \
    --cache-from "type=registry,ref=$REGISTRY/cache/missing:none" \
    --cache-from "type=registry,ref=127.0.0.1:$port/cache/app:buildcache" \
    --cache-from "type=local,src=$TEST_TMP/no-such-dir" \
    --cache-from "type=registry,ref=$REGISTRY/library/busybox:latest" \
    --cache-from "type=registry,ref=$cache_ref")
  assert_eq "$FIRST_DIGEST" "$digest" "image digest with unreadable caches before the good one"
  assert_eq "4" "$(grep -c '^warning: cache .* not imported' "$TEST_TMP/unreadable.err")" "warnings"
  grep -q "^warning: cache '$REGISTRY/cache/missing:none' not imported: .*manifest unknown" \
    "$TEST_TMP/unreadable.err" || fail "no warning for the missing tag: $(cat "$TEST_TMP/unreadable.err")"
  grep -qi "^warning: cache '127.0.0.1:$port/.*not imported: .*\(auth\|unauthorized\|credentials\)" \
    "$TEST_TMP/unreadable.err" || fail "no warning for the unauthorized cache: $(cat "$TEST_TMP/unreadable.err")"
  grep -q "library/busybox:latest' not imported: not a cbuild cache" "$TEST_TMP/unreadable.err" ||
    fail "no warning for an image used as cache: $(cat "$TEST_TMP/unreadable.err")"

  # Exporting to a registry that rejects the push fails the build, unless
  # ignore-error=true makes it a warning.
  expect_build_failure export-denied --cache-to "type=registry,ref=127.0.0.1:$port/cache/app:x" "$ctx"
  assert_contains "$CBUILD_ERROR" "export cache to '127.0.0.1:$port/cache/app:x'" "export failure"
  build export-ignored "$TEST_TMP/root-7" \
    --cache-to "type=registry,ref=127.0.0.1:$port/cache/app:x,ignore-error=true" >/dev/null
  grep -q "^warning: cache not exported to '127.0.0.1:$port/cache/app:x'" "$TEST_TMP/export-ignored.err" ||
    fail "no warning for the ignored export failure: $(cat "$TEST_TMP/export-ignored.err")"
}

case_invalid_specs() {
  expect_build_failure no-type --cache-to "ref=$cache_ref" "$ctx"
  assert_contains "$CBUILD_ERROR" "missing type=registry or type=local" "cache spec without type"
  expect_build_failure bad-mode --cache-to "type=registry,ref=$cache_ref,mode=all" "$ctx"
  assert_contains "$CBUILD_ERROR" "mode must be min or max" "cache spec with a bad mode"
  expect_build_failure local-no-dest --cache-to "type=local,src=$cache_dir" "$ctx"
  assert_contains "$CBUILD_ERROR" "takes dest=DIR" "type=local export with src="
}

case_registry_round_trip
case_miss_in_one_stage
case_local_round_trip
case_unreadable_caches
case_invalid_specs
log "ok"
