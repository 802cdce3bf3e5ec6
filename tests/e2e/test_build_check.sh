#!/usr/bin/env bash
# cbuild build --check runs only the build checks: non-zero when one fires,
# zero and nothing built when none does; the check directive is honoured.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"

printf 'from busybox as Builder\nRUN echo hi\nCMD echo done\nMAINTAINER someone\n' >"$ctx/Dockerfile"
status=0
cbuild_build --check "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || status=$?
((status != 0)) || fail "--check succeeded although checks fire"
err=$(cat "$TEST_TMP/err")
assert_contains "$err" "ConsistentInstructionCasing" "casing rule"
assert_contains "$err" "StageNameCasing" "stage name rule"
assert_contains "$err" "JSONArgsRecommended" "JSON args rule"
assert_contains "$err" "MaintainerDeprecated" "maintainer rule"
assert_contains "$err" "Dockerfile:3:" "warning location"
assert_not_contains "$err" "RUN echo hi" "no step runs under --check"
[[ ! -s "$TEST_TMP/out" ]] || fail "--check printed a result: $(cat "$TEST_TMP/out")"

printf '# check=skip=all\nfrom busybox as Builder\nCMD echo done\n' >"$ctx/Dockerfile"
cbuild_build --check "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "--check failed with every check skipped: $(cat "$TEST_TMP/err")"

# error=true turns warnings into a failed build.
printf '# check=error=true\nFROM busybox\nCMD echo done\n' >"$ctx/Dockerfile"
status=0
cbuild_build "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || status=$?
((status != 0)) || fail "a build with check=error=true and a warning succeeded"
assert_contains "$(cat "$TEST_TMP/err")" "JSONArgsRecommended" "error=true names the rule"

# Without error=true the warnings are printed and the build goes on.
printf 'FROM busybox\nCMD echo done\n' >"$ctx/Dockerfile"
cbuild_build "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "build failed: $(cat "$TEST_TMP/err")"
assert_contains "$(cat "$TEST_TMP/err")" "warning: Dockerfile:2: JSONArgsRecommended" "warning before the build"
log "ok"
