#!/usr/bin/env bash
# Named build contexts, as docker buildx --build-context gives them: a
# directory that COPY --from reads (hashed for the cache key like the main
# context), and docker-image://REF, which FROM, COPY --from and RUN --mount
# from= use in place of the name.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
extra="$TEST_TMP/extra"
mkdir -p "$ctx" "$extra/conf"
echo "from extra" >"$extra/conf/app.conf"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM base
COPY --from=shared conf/app.conf /etc/app.conf
COPY --from=tools /etc/debian_version /debian_version
RUN --mount=from=tools,source=/etc/os-release,target=/os cat /os >/os-release
DOCKERFILE

build() {
  cbuild_build --build-context base=docker-image://busybox --build-context "shared=$extra" \
    --build-context tools=docker-image://debian:bookworm-slim \
    --output "type=oci,dest=$TEST_TMP/$1-image,tar=false" "$ctx" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" ||
    fail "$1: build failed: $(tail -n 20 "$TEST_TMP/$1.err")"
  RAN=$(steps_run "$TEST_TMP/$1.err")
  skopeo copy "oci:$TEST_TMP/$1-image" "oci:$TEST_TMP/layout:$1" >/dev/null || fail "skopeo copy failed"
  umoci unpack --image "$TEST_TMP/layout:$1" "$TEST_TMP/$1-bundle" >/dev/null || fail "umoci unpack failed"
}

build first
rootfs="$TEST_TMP/first-bundle/rootfs"
assert_exists "$rootfs/bin/busybox" "FROM a docker-image:// build context"
assert_eq "from extra" "$(cat "$rootfs/etc/app.conf")" "COPY --from a directory build context"
assert_contains "$(cat "$rootfs/debian_version")" "12." "COPY --from a docker-image:// build context"
assert_contains "$(cat "$rootfs/os-release")" "Debian" "RUN --mount from= a docker-image:// build context"

build again
assert_eq "0" "$RAN" "unchanged build contexts: steps run"
echo "changed" >"$extra/conf/app.conf"
build changed
assert_eq "3" "$RAN" "changed file in a directory build context: steps run"
assert_eq "changed" "$(cat "$TEST_TMP/changed-bundle/rootfs/etc/app.conf")" "new content from the directory"

expect_build_failure no_equals --build-context shared "$ctx"
assert_contains "$CBUILD_ERROR" "expected NAME=DIR or NAME=docker-image://REF" "--build-context without '='"
expect_build_failure missing_dir --build-context "shared=$TEST_TMP/nope" "$ctx"
assert_contains "$CBUILD_ERROR" "is not a directory" "--build-context with a missing directory"
printf 'FROM shared\n' >"$ctx/Dockerfile.fromdir"
expect_build_failure from_dir --build-context "shared=$extra" -f "$ctx/Dockerfile.fromdir" "$ctx"
assert_contains "$CBUILD_ERROR" "FROM a directory is not supported yet" "FROM a directory build context"
log "ok"
