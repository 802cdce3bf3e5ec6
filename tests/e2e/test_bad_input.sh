#!/usr/bin/env bash
# Feed cbuild broken contexts, Dockerfiles, images, registries and
# credentials. Each build must fail with one "cbuild: error:" line, print
# nothing on stdout, and leave no tag behind, neither in the local store
# nor in the registry.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Every case fails before or during a short build, so a stuck one is a bug.
# shellcheck disable=SC2034 # read by cbuild_build in lib/common.sh
CBUILD_TEST_TIMEOUT=180

# Each case pushes to its own tag. The tag alone is searched for in the
# store's index.json files, since a store may record either the full
# reference or only the tag in org.opencontainers.image.ref.name.
case_tag() {
  echo "bad-input-$1"
}

case_ref() {
  echo "$REGISTRY/e2e/bad-input:$(case_tag "$1")"
}

# Make a context directory for case NAME with the given Dockerfile text.
make_context() {
  local name="$1" dockerfile="$2" ctx="$TEST_TMP/ctx-$1"
  mkdir -p "$ctx"
  printf '%s' "$dockerfile" >"$ctx/Dockerfile"
  echo "$ctx"
}

# Run case NAME: cbuild_build --push -t <its ref> ARGS..., expect a clean
# failure and check that nothing was tagged or pushed.
run_failing_case() {
  local name="$1"
  shift
  expect_build_failure "$name" --push -t "$(case_ref "$name")" "$@"
  assert_not_stored "$(case_tag "$name")"
  assert_not_pushed "$(case_ref "$name")"
}

case_missing_dockerfile() {
  local ctx="$TEST_TMP/ctx-missing-dockerfile"
  mkdir -p "$ctx"
  echo "data" >"$ctx/data.txt"
  run_failing_case missing-dockerfile "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile" "missing Dockerfile message"
}

case_missing_context() {
  run_failing_case missing-context "$TEST_TMP/no-such-context"
  assert_contains "$CBUILD_ERROR" "no-such-context" "missing context message"
}

case_unknown_instruction() {
  local ctx
  ctx=$(make_context unknown-instruction $'FROM busybox\nRUNN echo hello\n')
  run_failing_case unknown-instruction "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:2" "unknown instruction location"
  assert_contains "$CBUILD_ERROR" "RUNN" "unknown instruction name"
}

case_missing_image() {
  local ctx
  ctx=$(make_context missing-image "FROM $REGISTRY/nope/nope:1"$'\n')
  run_failing_case missing-image "$ctx"
  assert_contains "$CBUILD_ERROR" "nope/nope" "missing image message"
}

case_registry_down() {
  local port ctx
  # Nothing listens on a port that was just free.
  port=$(registry_free_port)
  ctx=$(make_context registry-down "FROM 127.0.0.1:$port/library/busybox:latest"$'\n')
  run_failing_case registry-down --insecure-registry "127.0.0.1:$port" "$ctx"
  assert_contains "$CBUILD_ERROR" "$port" "unreachable registry message"
}

case_failing_run() {
  local command="echo failing-step && exit 3" ctx rest
  ctx=$(make_context failing-run "FROM busybox"$'\n'"RUN $command"$'\n')
  run_failing_case failing-run "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:2" "failing RUN location"
  assert_contains "$CBUILD_ERROR" "RUN" "failing RUN step"
  assert_contains "$CBUILD_ERROR" "$command" "failing RUN command"
  # The command itself contains "exit 3", so look for the code elsewhere.
  rest=${CBUILD_ERROR//"$command"/}
  [[ "$rest" =~ (exit|status|code)[^0-9]*3([^0-9]|$) ]] ||
    fail "failing RUN message should give exit code 3: $CBUILD_ERROR"
}

case_copy_missing_file() {
  local ctx
  ctx=$(make_context copy-missing $'FROM busybox\nCOPY nothere.txt /nothere.txt\n')
  run_failing_case copy-missing "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:2" "COPY of a missing file: location"
  assert_contains "$CBUILD_ERROR" "nothere.txt" "COPY of a missing file: source"
}

case_copy_from_stage_missing() {
  local ctx
  ctx=$(make_context copy-from-missing $'FROM busybox AS tools\nFROM busybox\nCOPY --from=tools /nope /a\n')
  run_failing_case copy-from-missing "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:3" "COPY --from of a missing path: location"
  assert_contains "$CBUILD_ERROR" "'nope' not found in 'tools'" "COPY --from of a missing path: names the stage"
  assert_not_contains "$CBUILD_ERROR" "build context" "COPY --from of a missing path: not the context"
}

case_copy_ignored_file() {
  local ctx
  ctx=$(make_context copy-ignored $'FROM busybox\nCOPY secret.env /secret.env\n')
  echo "TOKEN=fake" >"$ctx/secret.env"
  echo "secret.env" >"$ctx/.dockerignore"
  run_failing_case copy-ignored "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:2" "COPY of an excluded file: location"
  assert_contains "$CBUILD_ERROR" "secret.env" "COPY of an excluded file: source"
}

# Write DIR/config.json with Docker-style credentials for HOST.
write_docker_config() {
  local dir="$1" host="$2" user="$3" password="$4" auth
  mkdir -p "$dir"
  auth=$(printf '%s:%s' "$user" "$password" | base64 -w0)
  jq -n --arg host "$host" --arg auth "$auth" '{auths: {($host): {auth: $auth}}}' \
    >"$dir/config.json"
}

# A second registry that requires basic authentication (docker-registry
# accepts htpasswd over plain HTTP). A push with the right password must
# work, so that the failures below are about the credentials alone.
case_credentials() {
  local auth_dir="$TEST_TMP/auth-registry" port auth_registry ctx ref
  mkdir -p "$auth_dir"
  htpasswd -Bbn e2e-user right-password >"$auth_dir/htpasswd"
  port=$(registry_start "$auth_dir" "$auth_dir/htpasswd") ||
    skip "docker-registry with htpasswd authentication did not start: $(tail -n 5 "$auth_dir/registry.log")"
  on_exit "registry_stop '$auth_dir'"
  auth_registry="127.0.0.1:$port"
  ctx=$(make_context credentials $'FROM busybox\nENV GREETING=hello\n')

  write_docker_config "$TEST_TMP/docker-right" "$auth_registry" e2e-user right-password
  ref="$auth_registry/e2e/auth:right-credentials"
  DOCKER_CONFIG="$TEST_TMP/docker-right" cbuild_build --insecure-registry "$auth_registry" \
    --push -t "$ref" "$ctx" >"$TEST_TMP/right-credentials.out" ||
    fail "push with the right credentials failed"
  skopeo inspect --tls-verify=false --creds e2e-user:right-password "docker://$ref" >/dev/null ||
    fail "push with the right credentials reported success but '$ref' is not in the registry"
  # Shows that assert_not_stored can see a tag at all.
  grep -rqF --include=index.json right-credentials "$TEST_ROOT" ||
    fail "the local store under $TEST_ROOT has no index.json entry for '$ref' after a successful build"

  write_docker_config "$TEST_TMP/docker-wrong" "$auth_registry" e2e-user wrong-password
  ref="$auth_registry/e2e/auth:$(case_tag wrong-credentials)"
  DOCKER_CONFIG="$TEST_TMP/docker-wrong" expect_build_failure wrong-credentials \
    --insecure-registry "$auth_registry" --push -t "$ref" "$ctx"
  check_credentials_failure "$ref" wrong-credentials

  mkdir -p "$TEST_TMP/docker-none"
  ref="$auth_registry/e2e/auth:$(case_tag no-credentials)"
  DOCKER_CONFIG="$TEST_TMP/docker-none" expect_build_failure no-credentials \
    --insecure-registry "$auth_registry" --push -t "$ref" "$ctx"
  check_credentials_failure "$ref" no-credentials
}

check_credentials_failure() {
  local ref="$1" name="$2"
  [[ "${CBUILD_ERROR,,}" =~ auth|credential|denied|401|unauthorized ]] ||
    fail "$name: message should say that authentication failed: $CBUILD_ERROR"
  assert_not_stored "$(case_tag "$name")"
  assert_not_pushed "$ref" --creds e2e-user:right-password
}

main() {
  case_missing_dockerfile
  case_missing_context
  case_unknown_instruction
  case_missing_image
  case_registry_down
  case_failing_run
  case_copy_missing_file
  case_copy_ignored_file
  case_copy_from_stage_missing
  case_credentials
  log "PASS"
}

main "$@"
