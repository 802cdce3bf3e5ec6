#!/usr/bin/env bash
# ADD <url> as docker build does it: the file is named after the URL's
# path (or the destination), has mode 0600 unless --chmod sets another,
# takes the server's Last-Modified time, and is extracted only with
# --unpack. The cache key covers the downloaded content, and --checksum
# must match it. A file downloaded before is requested again with its
# validators, so an unchanged one costs a 304 response. The files come
# from a python3 http.server on 127.0.0.1.
source "$(dirname "$0")/lib/common.sh"

web="$TEST_TMP/web"
mkdir -p "$web/dl"
echo "remote tool v1" >"$web/dl/tool.sh"
touch -d '2020-01-02 03:04:05 UTC' "$web/dl/tool.sh"
echo "spaced" >"$web/dl/my file.txt"
echo "starred" >"$web/dl/star*name.txt"
echo "packed" >"$TEST_TMP/packed.txt"
tar czf "$web/dl/bundle.tar.gz" -C "$TEST_TMP" packed.txt

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$web" "$port" >"$TEST_TMP/http.log" 2>&1 &
http_pid=$!
trap 'kill "$http_pid" 2>/dev/null; e2e_cleanup' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/dl/tool.sh" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port/dl"
bundle_sum=$(sha256sum "$web/dl/bundle.tar.gz" | cut -d' ' -f1)

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ADD $base/tool.sh /opt/
ADD --chmod=755 $base/tool.sh?version=1 /usr/local/bin/tool
ADD --checksum=sha256:$bundle_sum $base/bundle.tar.gz /archives/
ADD $base/my%20file.txt /encoded/
ADD --unpack=true $base/bundle.tar.gz /unpacked/
ADD $base/star*name.txt /wild/
ADD http://127.0.0.1:$port?x=/y /noname/
DOCKERFILE

ref="$REGISTRY/e2e/add-url:1"
build() {
  cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" ||
    fail "$1: build failed: $(tail -n 30 "$TEST_TMP/$1.err")"
  RAN=$(steps_run "$TEST_TMP/$1.err")
}

build first
assert_eq "7" "$RAN" "first build: steps run"
unpack_pushed "$ref" "$TEST_TMP/bundle"
rootfs="$TEST_TMP/bundle/rootfs"
assert_eq "remote tool v1" "$(cat "$rootfs/opt/tool.sh")" "file named after the URL in a directory"
assert_eq "600" "$(stat -c '%a' "$rootfs/opt/tool.sh")" "mode of a downloaded file"
assert_eq "2020-01-02 03:04:05" "$(TZ=UTC stat -c '%y' "$rootfs/opt/tool.sh" | cut -c1-19)" \
  "mtime from Last-Modified"
assert_eq "755" "$(stat -c '%a' "$rootfs/usr/local/bin/tool")" "ADD --chmod of a URL"
assert_eq "remote tool v1" "$(cat "$rootfs/usr/local/bin/tool")" "URL with a query to a file destination"
assert_exists "$rootfs/archives/bundle.tar.gz" "archive from a URL kept as a file"
assert_missing "$rootfs/archives/packed.txt" "archive from a URL extracted"
assert_eq "spaced" "$(cat "$rootfs/encoded/my file.txt")" "file name percent-decoded from the URL"
assert_eq "packed" "$(cat "$rootfs/unpacked/packed.txt")" "ADD --unpack=true extracts a remote archive"
assert_missing "$rootfs/unpacked/bundle.tar.gz" "ADD --unpack=true leaves no archive behind"
assert_eq "starred" "$(cat "$rootfs/wild/star*name.txt")" "URL file name with a wildcard character"
assert_exists "$rootfs/noname/__unnamed__" "URL without a path, only a query"

build unchanged
assert_eq "0" "$RAN" "unchanged remote files: steps run"
# The second build asked with If-Modified-Since and got no body back.
not_modified=$(grep -c '"GET /dl/tool.sh HTTP/1.1" 304' "$TEST_TMP/http.log" || true)
[[ "$not_modified" -ge 1 ]] || fail "the unchanged download was fetched again: $(tail -n 20 "$TEST_TMP/http.log")"

echo "remote tool v2" >"$web/dl/tool.sh"
build changed
assert_eq "7" "$RAN" "changed remote file: steps run"
unpack_pushed "$ref" "$TEST_TMP/bundle"
assert_eq "remote tool v2" "$(cat "$TEST_TMP/bundle/rootfs/opt/tool.sh")" "new content after a change"

cat >"$ctx/Dockerfile.badsum" <<DOCKERFILE
FROM busybox
ADD --checksum=sha256:$(printf '0%.0s' $(seq 64)) $base/bundle.tar.gz /archives/
DOCKERFILE
expect_build_failure bad_checksum -f "$ctx/Dockerfile.badsum" "$ctx"
assert_contains "$CBUILD_ERROR" "checksum mismatch for '$base/bundle.tar.gz'" "wrong --checksum"
assert_contains "$CBUILD_ERROR" "Dockerfile.badsum:2" "location of the wrong --checksum"

# sha384 and sha512 checksums, as BuildKit takes them.
printf 'FROM busybox\nADD --checksum=sha512:%s %s/bundle.tar.gz /a/\n' \
  "$(sha512sum "$web/dl/bundle.tar.gz" | cut -d' ' -f1)" "$base" >"$ctx/Dockerfile.sha512"
cbuild_build -f "$ctx/Dockerfile.sha512" "$ctx" >/dev/null 2>"$TEST_TMP/sha512.err" ||
  fail "--checksum=sha512 failed: $(tail -n 5 "$TEST_TMP/sha512.err")"
printf 'FROM busybox\nADD --checksum=sha384:%s %s/bundle.tar.gz /a/\n' "$(printf '0%.0s' $(seq 96))" "$base" \
  >"$ctx/Dockerfile.sha384"
expect_build_failure bad_sha384 -f "$ctx/Dockerfile.sha384" "$ctx"
assert_contains "$CBUILD_ERROR" "downloaded sha384:$(sha384sum "$web/dl/bundle.tar.gz" | cut -d' ' -f1)" \
  "wrong sha384 --checksum"

printf 'FROM busybox\nADD %s/missing.txt /m/\n' "$base" >"$ctx/Dockerfile.missing"
expect_build_failure missing_url -f "$ctx/Dockerfile.missing" "$ctx"
assert_contains "$CBUILD_ERROR" "HTTP status 404" "URL that is not found"

printf 'FROM busybox\nCOPY %s/tool.sh /m/\n' "$base" >"$ctx/Dockerfile.copyurl"
expect_build_failure copy_url -f "$ctx/Dockerfile.copyurl" "$ctx"
assert_contains "$CBUILD_ERROR" "COPY does not take URLs, use ADD" "COPY of a URL"
log "ok"
