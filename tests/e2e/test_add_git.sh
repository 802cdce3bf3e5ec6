#!/usr/bin/env bash
# ADD of a git repository as BuildKit does it: "URL.git#ref:subdir" adds
# the tree of that commit with its submodules, without .git (unless
# --keep-git-dir=true, which keeps the origin remote too). The
# ref is resolved with git ls-remote before the cache key, so an unchanged
# ref hits and a moved one misses. The repository is served over dumb HTTP
# by a python3 http.server on 127.0.0.1.
source "$(dirname "$0")/lib/common.sh"

gitc() { git -c user.name=e2e -c user.email=e2e@example.invalid "$@"; }
src="$TEST_TMP/src"
web="$TEST_TMP/web"
git init -q "$src"
mkdir -p "$src/sub" "$web"
echo one >"$src/a.txt"
echo nested >"$src/sub/s.txt"
# A submodule with a relative URL, which resolves against the served URL.
lib="$TEST_TMP/lib"
git init -q "$lib"
echo inner >"$lib/inner.txt"
gitc -C "$lib" add inner.txt
gitc -C "$lib" commit -qm lib
gitc -C "$src" -c protocol.file.allow=always submodule add -q ../lib lib
gitc -C "$src" add .
gitc -C "$src" commit -qm one
gitc -C "$src" tag -a v1 -m v1
first=$(git -C "$src" rev-parse HEAD)
publish() {
  rm -rf "$web/repo.git" "$web/lib"
  git clone -q --bare "$src" "$web/repo.git"
  git -C "$web/repo.git" update-server-info
  git clone -q --bare "$lib" "$web/lib"
  git -C "$web/lib" update-server-info
}
publish

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$web" "$port" >"$TEST_TMP/http.log" 2>&1 &
http_pid=$!
trap 'kill "$http_pid" 2>/dev/null; e2e_cleanup' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/repo.git/HEAD" >/dev/null 2>&1 && break
  sleep 0.1
done
repo="http://127.0.0.1:$port/repo.git"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ADD $repo#v1 /tag/
ADD $repo#v1:sub /subdir/
ADD $repo#$first /commit/
ADD --keep-git-dir=true $repo#v1 /kept/
ADD $repo /head/
DOCKERFILE

ref="$REGISTRY/e2e/add-git:1"
build() {
  cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" ||
    fail "$1: build failed: $(tail -n 30 "$TEST_TMP/$1.err")"
  RAN=$(steps_run "$TEST_TMP/$1.err")
}

# GIT_DIR and GIT_WORK_TREE, set when cbuild runs from a git hook, must not
# send git to the caller's repository.
victim="$TEST_TMP/victim"
git init -q "$victim"
echo mine >"$victim/mine.txt"
gitc -C "$victim" add mine.txt
gitc -C "$victim" commit -qm mine
victim_head=$(git -C "$victim" rev-parse HEAD)
GIT_DIR="$victim/.git" GIT_WORK_TREE="$victim" build first
assert_eq "5" "$RAN" "first build: steps run"
assert_eq "$victim_head" "$(git -C "$victim" rev-parse HEAD)" "HEAD of the caller's repository"
assert_eq "" "$(git -C "$victim" status --porcelain)" "work tree of the caller's repository"
unpack_pushed "$ref" "$TEST_TMP/bundle"
rootfs="$TEST_TMP/bundle/rootfs"
assert_eq "one" "$(cat "$rootfs/tag/a.txt")" "annotated tag"
assert_eq "nested" "$(cat "$rootfs/tag/sub/s.txt")" "subdirectory of the repository"
assert_missing "$rootfs/tag/.git" ".git without --keep-git-dir"
assert_eq "inner" "$(cat "$rootfs/tag/lib/inner.txt")" "submodule checked out"
assert_eq "nested" "$(cat "$rootfs/subdir/s.txt")" "#ref:subdir"
assert_missing "$rootfs/subdir/a.txt" "files outside the subdir"
assert_eq "one" "$(cat "$rootfs/commit/a.txt")" "commit id as ref"
assert_exists "$rootfs/kept/.git" "--keep-git-dir=true"
assert_contains "$(cat "$rootfs/kept/.git/config")" "$repo" "origin remote kept with --keep-git-dir"
assert_eq "one" "$(cat "$rootfs/head/a.txt")" "default branch"

build unchanged
assert_eq "0" "$RAN" "unchanged repository: steps run"

echo two >"$src/a.txt"
gitc -C "$src" commit -qam two
publish
build moved
assert_eq "1" "$RAN" "new commit on the default branch: only its ADD runs"
unpack_pushed "$ref" "$TEST_TMP/bundle"
assert_eq "two" "$(cat "$TEST_TMP/bundle/rootfs/head/a.txt")" "default branch after a new commit"
assert_eq "one" "$(cat "$TEST_TMP/bundle/rootfs/tag/a.txt")" "tag after a new commit"

printf 'FROM busybox\nADD %s#no-such-ref /x/\n' "$repo" >"$ctx/Dockerfile.badref"
expect_build_failure bad_ref -f "$ctx/Dockerfile.badref" "$ctx"
assert_contains "$CBUILD_ERROR" "ref 'no-such-ref' not found in git repository" "missing ref"

printf 'FROM busybox\nADD %s Dockerfile /x/\n' "$repo" >"$ctx/Dockerfile.two"
expect_build_failure two_sources -f "$ctx/Dockerfile.two" "$ctx"
assert_contains "$CBUILD_ERROR" "takes it as its only source" "git repository with another source"
log "ok"
