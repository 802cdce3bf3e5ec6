#!/usr/bin/env bash
# COPY --parents keeps each source's directories below the destination, or
# those after a "/./" pivot, as BuildKit's Dockerfile frontend does since
# 1.20. ADD --unpack=false copies a local archive as a file.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx/src/a" "$ctx/src/b" "$ctx/pkg"
echo x >"$ctx/src/a/x.go"
echo y >"$ctx/src/b/y.go"
echo z >"$ctx/src/b/z.js"
echo p >"$ctx/pkg/p.json"
echo packed >"$TEST_TMP/t.txt"
tar czf "$ctx/local.tar.gz" -C "$TEST_TMP" t.txt
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY --parents src/*/*.go /wild/
COPY --parents ./src/./b/*.go /pivot/
COPY --parents pkg /dir/
COPY --parents src/a/x.go pkg/p.json /two/
COPY src/*/*.go /flat/
ADD --unpack=false local.tar.gz /kept/
ADD local.tar.gz /unpacked/
DOCKERFILE

ref="$REGISTRY/e2e/copy-parents:1"
cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 30 "$TEST_TMP/err")"
skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null || fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

assert_eq "x" "$(cat "$rootfs/wild/src/a/x.go")" "wildcard match keeps its directories"
assert_eq "y" "$(cat "$rootfs/wild/src/b/y.go")" "second wildcard match keeps its directories"
assert_missing "$rootfs/wild/src/b/z.js" "file the wildcard does not match"
assert_eq "y" "$(cat "$rootfs/pivot/b/y.go")" "directories after the /./ pivot"
assert_missing "$rootfs/pivot/src" "directories before the /./ pivot"
assert_eq "p" "$(cat "$rootfs/dir/pkg/p.json")" "directory source below its own name"
assert_eq "x" "$(cat "$rootfs/two/src/a/x.go")" "first of two named sources"
assert_eq "p" "$(cat "$rootfs/two/pkg/p.json")" "second of two named sources"
assert_eq "x" "$(cat "$rootfs/flat/x.go")" "COPY without --parents flattens"
assert_exists "$rootfs/kept/local.tar.gz" "ADD --unpack=false keeps the archive"
assert_missing "$rootfs/kept/t.txt" "ADD --unpack=false does not extract"
assert_eq "packed" "$(cat "$rootfs/unpacked/t.txt")" "ADD extracts a local archive by default"
log "ok"
