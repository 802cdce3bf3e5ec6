#!/usr/bin/env bash
# RUN and COPY results as other tools see them: deleted files are gone
# (whiteouts), RUN gets ENV, ARG, WORKDIR and USER, and the image unpacks
# with umoci.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx/dir/sub"
echo "from context" >"$ctx/dir/sub/file.txt"
echo "ignored" >"$ctx/secret.env"
printf '*.env\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG WHO=builder
ENV GREETING=hello
RUN mkdir -p /data/old && echo one >/data/a && echo two >/data/b && echo x >/data/old/x
RUN rm /data/a && rm -rf /data/old && mkdir /data/old && echo y >/data/old/y
WORKDIR /work
RUN echo "$GREETING $WHO from $(pwd)" >/work/greeting
COPY dir/ /copied/
RUN chown 1000:1000 /work
USER 1000
RUN id -u >/work/uid
RUN true
DOCKERFILE

ref="$REGISTRY/e2e/layers:1"
cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 30 "$TEST_TMP/err")"
grep -q '^\[' "$TEST_TMP/err" || fail "no step headers in the log: $(head "$TEST_TMP/err")"

skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null ||
  fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

assert_missing "$rootfs/data/a" "file removed by a later RUN"
assert_eq "two" "$(cat "$rootfs/data/b")" "/data/b"
assert_missing "$rootfs/data/old/x" "file of a replaced directory"
assert_eq "y" "$(cat "$rootfs/data/old/y")" "/data/old/y"
assert_eq "hello builder from /work" "$(cat "$rootfs/work/greeting")" "RUN environment"
assert_eq "from context" "$(cat "$rootfs/copied/sub/file.txt")" "COPY of a directory's contents"
assert_missing "$rootfs/copied/dir" "COPY dir/ copies the contents, not the directory"
assert_eq "1000" "$(cat "$rootfs/work/uid")" "RUN as USER 1000"
assert_eq "0 0" "$(stat -c '%u %g' "$rootfs/copied/sub/file.txt")" "COPY owner"
# Mount points the runtime needed must not leak into layers.
assert_missing "$rootfs/etc/resolv.conf" "bind-mount target /etc/resolv.conf"
assert_missing "$rootfs/etc/hosts" "bind-mount target /etc/hosts"
# A RUN that changes nothing adds no layer, even though the runtime had
# to create (and cbuild then removed) mount points such as /etc/hosts.
skopeo inspect --tls-verify=false --raw --config "docker://$ref" >"$TEST_TMP/config.json" ||
  fail "skopeo inspect --config failed"
last_empty=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["history"][-1].get("empty_layer", False))' "$TEST_TMP/config.json")
assert_eq "True" "$last_empty" "empty_layer of a RUN that changes nothing"
log "ok"
