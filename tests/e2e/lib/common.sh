# shellcheck shell=bash
# Shared set-up and assertions for tests/e2e/test_*.sh. Source it first:
#   source "$(dirname "$0")/lib/common.sh"
# It loads the environment that env_up.sh wrote (REGISTRY, E2E_RUNC_ROOT),
# gives the test a temporary directory TEST_TMP and a cbuild state directory
# TEST_ROOT, and removes both on exit after running the on_exit commands.

set -euo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
: "${CBUILD_SOURCE_DIR:=$(cd "$E2E_LIB_DIR/../../.." && pwd)}"
: "${CBUILD_BINARY_DIR:=$CBUILD_SOURCE_DIR/build}"
: "${CBUILD:=$CBUILD_BINARY_DIR/cbuild}"
# Builds that pull a base image and run apt-get get this long before the
# test gives up on them.
: "${CBUILD_TEST_TIMEOUT:=900}"

source "$E2E_LIB_DIR/registry.sh"

fail() {
  printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}

# End the test as skipped (ctest's SKIP_RETURN_CODE), saying why.
skip() {
  printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"
  exit 77
}

log() {
  printf '%s: %s\n' "$TEST_NAME" "$*" >&2
}

assert_eq() {
  local expected="$1" actual="$2" what="$3"
  [[ "$expected" == "$actual" ]] ||
    fail "$what: expected '$expected', got '$actual'"
}

assert_contains() {
  local haystack="$1" needle="$2" what="$3"
  [[ "$haystack" == *"$needle"* ]] ||
    fail "$what: '$needle' not found in: $haystack"
}

assert_not_contains() {
  local haystack="$1" needle="$2" what="$3"
  [[ "$haystack" != *"$needle"* ]] ||
    fail "$what: '$needle' unexpectedly found in: $haystack"
}

assert_exists() {
  [[ -e "$1" || -L "$1" ]] || fail "${2:-expected path}: '$1' does not exist"
}

assert_missing() {
  [[ ! -e "$1" && ! -L "$1" ]] || fail "${2:-unexpected path}: '$1' exists"
}

# Commands to run when the test exits, last registered first.
E2E_EXIT_COMMANDS=()

on_exit() {
  E2E_EXIT_COMMANDS+=("$1")
}

e2e_cleanup() {
  local status=$? i
  for ((i = ${#E2E_EXIT_COMMANDS[@]} - 1; i >= 0; i--)); do
    eval "${E2E_EXIT_COMMANDS[i]}" || true
  done
  if [[ -n "${TEST_TMP:-}" && -d "$TEST_TMP" ]]; then
    if ((status != 0)) && [[ -n "${CBUILD_TEST_KEEP:-}" ]]; then
      log "kept $TEST_TMP for inspection"
    else
      rm -rf "$TEST_TMP"
    fi
  fi
  exit "$status"
}

e2e_load_env() {
  local env_file="$CBUILD_BINARY_DIR/e2e-env.sh"
  [[ -f "$env_file" ]] ||
    fail "$env_file is missing: run the e2e_setup test first (ctest runs it as a fixture)"
  # shellcheck source=/dev/null
  source "$env_file"
  [[ -n "${REGISTRY:-}" ]] || fail "$env_file does not set REGISTRY"
  [[ -x "$CBUILD" ]] || fail "cbuild binary '$CBUILD' is missing or not executable"
}

e2e_load_env
TEST_TMP=$(mktemp -d "/var/tmp/cbuild-e2e-$TEST_NAME.XXXXXX")
TEST_ROOT="$TEST_TMP/cbuild-root"
# Credentials in the host's ~/.docker must not change a test's outcome.
export DOCKER_CONFIG="$TEST_TMP/docker-config"
mkdir -p "$DOCKER_CONFIG"
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run cbuild build with this test's state directory, the test registry as
# docker.io mirror and plain HTTP allowed to it.
cbuild_build() {
  timeout "$CBUILD_TEST_TIMEOUT" "$CBUILD" build --root "$TEST_ROOT" \
    --registry-mirror "$REGISTRY" --insecure-registry "$REGISTRY" "$@"
}

# Print how many steps the build whose stderr is in FILE ran, from the
# summary line "built in Ns: N steps run, M cached".
steps_run() {
  sed -n 's/^built in .*: \([0-9]*\) steps\{0,1\} run.*/\1/p' "$1"
}

# Copy the pushed image REF to an OCI layout with skopeo and unpack it with
# umoci into DIR (its root file system is DIR/rootfs), replacing DIR.
unpack_pushed() {
  local ref="$1" dir="$2"
  rm -rf "$dir" "$dir.layout"
  skopeo copy --src-tls-verify=false "docker://$ref" "oci:$dir.layout:img" >/dev/null ||
    fail "skopeo copy of $ref failed"
  umoci unpack --image "$dir.layout:img" "$dir" >/dev/null || fail "umoci unpack of $ref failed"
}

# Run "cbuild_build ARGS..." and expect it to fail the way every user error
# should: a non-zero exit status, nothing on stdout, and exactly one line
# starting with "cbuild: error:" on stderr. Set CBUILD_ERROR to that line.
# NAME labels the case in failure messages.
expect_build_failure() {
  local name="$1" status=0 errors
  shift
  cbuild_build "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || status=$?
  if ((status == 0)); then
    fail "$name: cbuild succeeded; stdout: $(cat "$TEST_TMP/$name.out")"
  fi
  if ((status == 124)); then
    fail "$name: cbuild did not finish within ${CBUILD_TEST_TIMEOUT}s"
  fi
  if ((status > 125)); then
    fail "$name: cbuild died with status $status; stderr: $(tail -n 20 "$TEST_TMP/$name.err")"
  fi
  if grep -qE 'Sanitizer|runtime error:' "$TEST_TMP/$name.err"; then
    fail "$name: sanitizer report: $(cat "$TEST_TMP/$name.err")"
  fi
  [[ ! -s "$TEST_TMP/$name.out" ]] ||
    fail "$name: stdout should be empty on failure, got: $(cat "$TEST_TMP/$name.out")"
  errors=$(grep -c '^cbuild: error: ' "$TEST_TMP/$name.err" || true)
  [[ "$errors" == 1 ]] ||
    fail "$name: expected one 'cbuild: error:' line, got $errors; stderr: $(cat "$TEST_TMP/$name.err")"
  CBUILD_ERROR=$(grep '^cbuild: error: ' "$TEST_TMP/$name.err")
  log "$name: $CBUILD_ERROR"
}

# Fail when an index.json of cbuild's local store under TEST_ROOT mentions
# REF, which may be a full reference or only a tag.
assert_not_stored() {
  local ref="$1" hits
  hits=$(grep -rlF --include=index.json "$ref" "$TEST_ROOT" 2>/dev/null || true)
  [[ -z "$hits" ]] || fail "'$ref' was tagged in the local store: $hits"
}

# Fail if REF (HOST:PORT/NAME:TAG) can be inspected in its registry. Extra
# arguments go to skopeo (--creds, for example).
assert_not_pushed() {
  local ref="$1"
  shift
  if skopeo inspect --tls-verify=false "$@" "docker://$ref" >/dev/null 2>&1; then
    fail "'$ref' was pushed although the build failed"
  fi
}
