#!/usr/bin/env bash
# COPY and ADD --exclude as BuildKit applies them: the patterns use the
# .dockerignore syntax and match paths relative to each source directory,
# so a source named on the command line is never excluded itself. A change
# to an excluded file keeps the step cached.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx/app/sub" "$ctx/app/node_modules/pkg"
echo a >"$ctx/app/a.txt"
echo b >"$ctx/app/b.md"
echo c >"$ctx/app/sub/c.txt"
echo d >"$ctx/app/sub/d.go"
echo m >"$ctx/app/node_modules/pkg/index.js"
echo n >"$ctx/app/#notes"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
RUN mkdir -p /out/keep /out/drop && echo k >/out/keep/k && echo d >/out/drop/d

FROM busybox
ARG SKIP=*.md
COPY --exclude=*.txt --exclude=#notes app /top/
COPY --exclude=**/*.txt --exclude=node_modules app /deep/
COPY --exclude=*.txt app/a.txt /named/
COPY --exclude=$SKIP app /arg/
ADD --exclude=sub app /added/
COPY --from=tools --exclude=drop /out /staged/
DOCKERFILE

ref="$REGISTRY/e2e/copy-exclude:1"
build() {
  cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" ||
    fail "$1: build failed: $(tail -n 30 "$TEST_TMP/$1.err")"
}
build first

skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null ||
  fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

# "*.txt" matches at the top of the source directory only.
assert_missing "$rootfs/top/a.txt" "top-level file matching --exclude=*.txt"
assert_exists "$rootfs/top/b.md" "file not matching --exclude"
assert_exists "$rootfs/top/sub/c.txt" "nested file that *.txt does not match"
assert_missing "$rootfs/top/#notes" "pattern starting with '#' (not a comment)"
assert_exists "$rootfs/deep/#notes" "file that no pattern of that step matches"

assert_missing "$rootfs/deep/a.txt" "top-level file matching **/*.txt"
assert_missing "$rootfs/deep/sub/c.txt" "nested file matching **/*.txt"
assert_exists "$rootfs/deep/sub/d.go" "nested file not matching"
assert_missing "$rootfs/deep/node_modules" "directory excluded with all it contains"

assert_exists "$rootfs/named/a.txt" "source named in the instruction"
assert_missing "$rootfs/arg/b.md" "pattern from a build argument"
assert_exists "$rootfs/arg/a.txt" "file the argument's pattern does not match"
assert_missing "$rootfs/added/sub" "ADD --exclude"
assert_exists "$rootfs/added/a.txt" "ADD without the excluded directory"
assert_exists "$rootfs/staged/keep/k" "COPY --from with --exclude"
assert_missing "$rootfs/staged/drop" "COPY --from: excluded directory"

# Only the steps whose selection changed run again.
echo "changed" >"$ctx/app/a.txt"
build second
ran=$(steps_run "$TEST_TMP/second.err")
# /named/ and /arg/ select a.txt, /added/ follows them in the chain.
assert_eq "4" "$ran" "steps run after changing a file that two COPYs exclude"
# The next line of the same stage after the step's header says CACHED.
# Lines of the tools stage may come in between.
after_top=$(awk '/\] COPY --exclude=\*\.txt --exclude=#notes app \/top\/$/ { seen = 1; next }
  seen && /^\[stage-1[] ]/ { print; exit }' "$TEST_TMP/second.err")
assert_eq "[stage-1] CACHED" "$after_top" "COPY that excludes the changed file"
log "ok"
