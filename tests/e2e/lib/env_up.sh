#!/usr/bin/env bash
# ctest fixture set-up for the end-to-end tests: start a registry on
# 127.0.0.1, push the base images into it with cbuild, and write
# $CBUILD_BINARY_DIR/e2e-env.sh for the tests to source. env_down.sh undoes it.
set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$LIB_DIR/registry.sh"
source "$LIB_DIR/base_images.sh"

: "${CBUILD:?CBUILD must name the cbuild binary}"
: "${CBUILD_BINARY_DIR:?CBUILD_BINARY_DIR must name the build directory}"
ENV_FILE="$CBUILD_BINARY_DIR/e2e-env.sh"

[[ -x "$CBUILD" ]] || {
  echo "env_up: cbuild binary '$CBUILD' is missing or not executable" >&2
  exit 1
}

# A run that was killed before its clean-up left its registry running.
if [[ -f "$ENV_FILE" ]]; then
  bash "$LIB_DIR/env_down.sh" || true
fi

STATE_DIR=$(mktemp -d /var/tmp/cbuild-e2e-env.XXXXXX)
SETUP_DONE=0
abort_setup() {
  if ((SETUP_DONE == 0)); then
    echo "env_up: set-up failed; stopping the registry" >&2
    registry_stop "$STATE_DIR/registry"
    rm -rf "$STATE_DIR" "$ENV_FILE.tmp"
  fi
}
trap abort_setup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(registry_start "$STATE_DIR/registry")
REGISTRY="127.0.0.1:$port"
echo "env_up: registry at $REGISTRY (state in $STATE_DIR)"

started=$SECONDS
base_images_publish "$REGISTRY" "$STATE_DIR/base"
rm -rf "$STATE_DIR/base"
echo "env_up: base images pushed in $((SECONDS - started))s"

{
  echo "# Written by tests/e2e/lib/env_up.sh; removed by env_down.sh."
  printf 'export REGISTRY=%q\n' "$REGISTRY"
  printf 'export E2E_STATE_DIR=%q\n' "$STATE_DIR"
  printf 'export E2E_REGISTRY_DIR=%q\n' "$STATE_DIR/registry"
  printf 'export E2E_REGISTRY_PID=%q\n' "$(cat "$STATE_DIR/registry/registry.pid")"
  # runc state of the containers that tests start, so that env_down.sh can
  # remove those a killed test left behind.
  printf 'export E2E_RUNC_ROOT=%q\n' "$STATE_DIR/runc"
  printf 'export CBUILD_TEST_CACHE=%q\n' "$(base_cache_dir)"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
SETUP_DONE=1
echo "env_up: wrote $ENV_FILE"
