#!/usr/bin/env bash
# The Dockerfile on standard input, as docker build takes it: `-f -` with a
# context directory, and the context `-` for a build with no context. A
# tar archive on standard input (a whole context to docker build) fails
# with one clear error.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
echo "from the context" >"$ctx/data.txt"
printf 'ignored.txt\n' >"$ctx/.dockerignore"
echo "ignored" >"$ctx/ignored.txt"

printf 'FROM busybox\nCOPY . /ctx/\nRUN cat /ctx/data.txt >/seen\n' |
  cbuild_build -f - --output "type=oci,dest=$TEST_TMP/one,tar=false" "$ctx" \
    >"$TEST_TMP/one.out" 2>"$TEST_TMP/one.err" ||
  fail "-f - failed: $(tail -n 20 "$TEST_TMP/one.err")"
skopeo copy "oci:$TEST_TMP/one" "oci:$TEST_TMP/layout:img" >/dev/null || fail "skopeo copy of the -f - image failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/one-bundle" >/dev/null ||
  fail "umoci unpack of the -f - image failed"
assert_eq "from the context" "$(cat "$TEST_TMP/one-bundle/rootfs/seen")" "-f - with a context directory"
assert_missing "$TEST_TMP/one-bundle/rootfs/ctx/ignored.txt" ".dockerignore with -f -"

printf 'FROM busybox\nRUN echo no-context >/seen\n' |
  cbuild_build -t stdin-context:1 - >"$TEST_TMP/two.out" 2>"$TEST_TMP/two.err" ||
  fail "context '-' failed: $(tail -n 20 "$TEST_TMP/two.err")"
assert_contains "$(cat "$TEST_TMP/two.out")" "stdin-context:1@sha256:" "build with the context '-'"

# Redirections, not pipes: expect_build_failure sets CBUILD_ERROR in this
# shell, and a pipe would run it in a subshell.
printf 'FROM busybox\nRUN nosuchcommand\n' >"$TEST_TMP/failing.Dockerfile"
expect_build_failure stdin_error -f - "$ctx" <"$TEST_TMP/failing.Dockerfile"
assert_contains "$CBUILD_ERROR" "Dockerfile:2:" "location of an error in a Dockerfile from standard input"

tar cf "$TEST_TMP/context.tar" -C "$ctx" .
expect_build_failure stdin_tar - <"$TEST_TMP/context.tar"
assert_contains "$CBUILD_ERROR" "tar archive on standard input is not supported" "tar context on standard input"

expect_build_failure stdin_twice -f - - <"$TEST_TMP/failing.Dockerfile"
assert_contains "$CBUILD_ERROR" "both read standard input" "-f - with the context '-'"
log "ok"
