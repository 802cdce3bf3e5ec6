#!/usr/bin/env bash
# A base image pulled before is reused with no registry request, as
# docker build does. --pull sends the request again and gets a moved tag.
source "$(dirname "$0")/lib/common.sh"

base="$REGISTRY/e2e/base:1"
mkdir -p "$TEST_TMP/base" "$TEST_TMP/app"

publish_base() {
  printf 'FROM busybox\nLABEL generation=%s\n' "$1" >"$TEST_TMP/base/Dockerfile"
  cbuild_build --push -t "$base" "$TEST_TMP/base" >/dev/null 2>"$TEST_TMP/base.err" ||
    fail "publishing generation $1 failed: $(tail -n 5 "$TEST_TMP/base.err")"
}

# Prints the generation label of the image built from $base.
build_app() {
  local out="$TEST_TMP/app-out"
  printf 'FROM %s\nRUN true\n' "$base" >"$TEST_TMP/app/Dockerfile"
  rm -rf "$out"
  cbuild_build "$@" --output "type=oci,dest=$out,tar=false" "$TEST_TMP/app" >/dev/null 2>"$TEST_TMP/app.err" ||
    fail "app build failed: $(tail -n 5 "$TEST_TMP/app.err")"
  skopeo inspect --raw --config "oci:$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["Labels"]["generation"])'
}

publish_base 1
assert_eq "1" "$(build_app)" "first build"
publish_base 2
assert_eq "1" "$(build_app)" "rebuild without --pull keeps the image pulled before"
assert_eq "2" "$(build_app --pull)" "rebuild with --pull"
assert_eq "2" "$(build_app)" "rebuild after --pull"
log "ok"
