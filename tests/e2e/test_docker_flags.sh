#!/usr/bin/env bash
# docker build flags that CI scripts pass: --label, --iidfile,
# --metadata-file, --add-host, --network (and RUN --network), --platform,
# --progress, and the classic builder's --rm and --force-rm, which BuildKit
# ignores.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG TARGETPLATFORM
LABEL team=old keep=yes
RUN --network=none grep -c : /proc/net/dev >/interfaces-none
RUN --network=host grep -c : /proc/net/dev >/interfaces-host
RUN grep -c : /proc/net/dev >/interfaces-default
RUN echo "$TARGETPLATFORM" >/platform
RUN grep -wE 'db|v6host' /etc/hosts >/added-hosts
DOCKERFILE

out="$TEST_TMP/image"
cbuild_build --label team=new --label extra=1 --iidfile "$TEST_TMP/iid" --progress=plain --rm --force-rm \
  --metadata-file "$TEST_TMP/metadata.json" -t flags:1 --platform linux/amd64 \
  --add-host db:10.1.2.3 --add-host "v6host:[fd00::1]" \
  --output "type=oci,dest=$out,tar=false" "$ctx" \
  >"$TEST_TMP/one.out" 2>"$TEST_TMP/one.err" || fail "build failed: $(tail -n 20 "$TEST_TMP/one.err")"
config=$(skopeo inspect --raw --config "oci:$out") || fail "skopeo inspect --config failed"
labels=$(printf '%s' "$config" | python3 -c 'import json, sys; l = json.load(sys.stdin)["config"]["Labels"]; print(" ".join(k + "=" + l[k] for k in sorted(l)))')
assert_eq "extra=1 keep=yes team=new" "$labels" "--label over the Dockerfile's LABEL"
assert_eq "sha256:$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)" "$(cat "$TEST_TMP/iid")" \
  "--iidfile holds the config digest"
manifest_digest="sha256:$(skopeo inspect --raw "oci:$out" | sha256sum | cut -d' ' -f1)"
metadata=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["containerimage.digest"], m["containerimage.config.digest"], m["image.name"])' "$TEST_TMP/metadata.json") ||
  fail "--metadata-file is not the expected JSON: $(cat "$TEST_TMP/metadata.json")"
assert_eq "$manifest_digest $(cat "$TEST_TMP/iid") flags:1" "$metadata" "--metadata-file digests and name"

skopeo copy "oci:$out" "oci:$TEST_TMP/layout:img" >/dev/null || fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null || fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"
assert_eq "1" "$(cat "$rootfs/interfaces-none")" "RUN --network=none sees only loopback"
host_interfaces=$(grep -c : /proc/net/dev)
assert_eq "$host_interfaces" "$(cat "$rootfs/interfaces-host")" "RUN --network=host sees the host's interfaces"
assert_eq "$host_interfaces" "$(cat "$rootfs/interfaces-default")" "RUN without --network uses the host's network"
assert_eq "linux/amd64" "$(cat "$rootfs/platform")" "TARGETPLATFORM with --platform"
assert_eq "$(printf '10.1.2.3\tdb\nfd00::1\tv6host')" "$(cat "$rootfs/added-hosts")" "--add-host entries in /etc/hosts"
assert_missing "$rootfs/etc/hosts" "/etc/hosts of RUN steps in the image"

printf 'FROM busybox\nRUN grep -c : /proc/net/dev >/n\n' >"$ctx/Dockerfile.none"
cbuild_build --network=none -f "$ctx/Dockerfile.none" --output "type=oci,dest=$TEST_TMP/none,tar=false" "$ctx" \
  >/dev/null 2>"$TEST_TMP/none.err" || fail "--network=none build failed: $(tail -n 20 "$TEST_TMP/none.err")"
skopeo copy "oci:$TEST_TMP/none" "oci:$TEST_TMP/layout:none" >/dev/null || fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:none" "$TEST_TMP/bundle-none" >/dev/null || fail "umoci unpack failed"
assert_eq "1" "$(cat "$TEST_TMP/bundle-none/rootfs/n")" "--network=none for a RUN without the flag"

printf 'FROM busybox\nRUN --network=host true\n' >"$ctx/Dockerfile.host"
expect_build_failure host_under_none --network=none -f "$ctx/Dockerfile.host" "$ctx"
assert_contains "$CBUILD_ERROR" "RUN --network=host in a build started with --network=none" \
  "RUN --network=host cannot widen --network=none"

# --iidfile writes through a symlink, as the docker CLI does.
ln -s "$TEST_TMP/iid-target" "$TEST_TMP/iid-link"
cbuild_build --iidfile "$TEST_TMP/iid-link" --label bare -f "$ctx/Dockerfile.none" "$ctx" >/dev/null \
  2>"$TEST_TMP/link.err" ||
  fail "build with --iidfile through a symlink failed: $(tail -n 5 "$TEST_TMP/link.err")"
[[ -L "$TEST_TMP/iid-link" ]] || fail "--iidfile replaced the symlink"
assert_contains "$(cat "$TEST_TMP/iid-target")" "sha256:" "--iidfile target of a symlink"

expect_build_failure several_platforms --platform linux/amd64,linux/arm64 "$ctx"
assert_contains "$CBUILD_ERROR" "several platforms at once is not supported yet" "--platform with a list"
expect_build_failure bad_host --add-host db:not-an-ip "$ctx"
assert_contains "$CBUILD_ERROR" "'not-an-ip' is not an IP address" "--add-host with a bad address"
expect_build_failure bad_progress --progress=fancy "$ctx"
assert_contains "$CBUILD_ERROR" "invalid --progress 'fancy'" "--progress with an unknown mode"
expect_build_failure other_os --platform windows/amd64 "$ctx"
assert_contains "$CBUILD_ERROR" "cbuild builds linux images only" "--platform for another OS"
expect_build_failure bad_network --network bridge "$ctx"
assert_contains "$CBUILD_ERROR" "invalid network mode 'bridge'" "--network bridge"
log "ok"
