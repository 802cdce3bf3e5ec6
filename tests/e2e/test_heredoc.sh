#!/usr/bin/env bash
# Heredocs in RUN, COPY and ADD with BuildKit's results. A RUN that is only
# a heredoc runs it as a script (from /dev/pipes with a shebang), and other
# RUNs leave the heredocs to the shell. COPY writes each heredoc to a file,
# substituting variables unless the delimiter is quoted.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG NAME=world
ENV GREETING=hello
RUN <<EOF
echo "$GREETING $NAME" >/run-plain
echo "second line" >>/run-plain
EOF
RUN <<EOF
#!/bin/sh
echo "script $0" >/run-shebang
EOF
RUN <<-EOF sh >/run-indented
	echo "	tab"
	EOF
RUN cat <<ONE >/run-two-a && cat <<'TWO' >/run-two-b
one $NAME
ONE
two $NAME
TWO
COPY <<EOF /copied/expanded.txt
Hello ${NAME}! "quoted" '$GREETING' \$literal
EOF
COPY <<'EOF' /copied/raw.txt
Hello ${NAME}!
EOF
COPY <<A <<B /copied/dir/
a
A
b
B
COPY --chmod=0600 --chown=1000:1000 <<EOF /copied/owned
owned
EOF
WORKDIR /app
ADD <<EOF relative.txt
relative to $NAME
EOF
DOCKERFILE

ref="$REGISTRY/e2e/heredoc:1"
cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 30 "$TEST_TMP/err")"

skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null ||
  fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

assert_eq "hello world
second line" "$(cat "$rootfs/run-plain")" "RUN heredoc run by the shell"
assert_eq "script /dev/pipes/EOF" "$(cat "$rootfs/run-shebang")" "RUN heredoc with a shebang"
assert_missing "$rootfs/dev/pipes" "mount point of the heredoc script"
assert_eq "$(printf '\ttab')" "$(cat "$rootfs/run-indented")" "RUN <<- heredoc read by a command"
assert_eq "one world" "$(cat "$rootfs/run-two-a")" "unquoted heredoc expanded by the shell"
assert_eq 'two $NAME' "$(cat "$rootfs/run-two-b")" "quoted heredoc left to the shell as written"

assert_eq "Hello world! \"quoted\" 'hello' \$literal" "$(cat "$rootfs/copied/expanded.txt")" \
  "COPY heredoc with variables"
assert_eq 'Hello ${NAME}!' "$(cat "$rootfs/copied/raw.txt")" "COPY heredoc with a quoted delimiter"
assert_eq "644" "$(stat -c '%a' "$rootfs/copied/expanded.txt")" "COPY heredoc file mode"
assert_eq "a" "$(cat "$rootfs/copied/dir/A")" "first of two heredocs"
assert_eq "b" "$(cat "$rootfs/copied/dir/B")" "second of two heredocs"
assert_eq "600 1000:1000" "$(stat -c '%a %u:%g' "$rootfs/copied/owned")" "COPY heredoc with --chmod and --chown"
assert_eq "relative to world" "$(cat "$rootfs/app/relative.txt")" "ADD heredoc to a path below WORKDIR"

config=$(skopeo inspect --tls-verify=false --raw --config "docker://$ref") ||
  fail "skopeo inspect --config failed"
assert_contains "$config" "COPY <<EOF /copied/expanded.txt # buildkit" "history of a COPY heredoc"
assert_contains "$config" "COPY <<A <<B /copied/dir/ # buildkit" "history of a COPY with two heredocs"
assert_contains "$config" "/bin/sh -c /dev/pipes/EOF # buildkit" "history of a RUN heredoc script"

cat >"$ctx/Dockerfile.several" <<'DOCKERFILE'
FROM busybox
COPY <<EOF <<EOF2 /not-a-dir
one
EOF
two
EOF2
DOCKERFILE
expect_build_failure several_heredocs -f "$ctx/Dockerfile.several" "$ctx"
assert_contains "$CBUILD_ERROR" "needs a directory destination ending in '/'" "two heredocs to a file"
log "ok"
