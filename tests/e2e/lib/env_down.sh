#!/usr/bin/env bash
# ctest fixture clean-up for the end-to-end tests: remove containers that
# tests left behind, stop the registry that env_up.sh started and delete its
# state. Does nothing when env_up.sh has not run.
set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$LIB_DIR/registry.sh"

: "${CBUILD_BINARY_DIR:?CBUILD_BINARY_DIR must name the build directory}"
ENV_FILE="$CBUILD_BINARY_DIR/e2e-env.sh"

if [[ ! -f "$ENV_FILE" ]]; then
  echo "env_down: $ENV_FILE does not exist; nothing to stop"
  exit 0
fi
# shellcheck source=/dev/null
source "$ENV_FILE"

remove_containers() {
  local root="$1" id
  [[ -d "$root" ]] || return 0
  for id in $(runc --root "$root" list -q 2>/dev/null); do
    echo "env_down: removing leftover container $id"
    runc --root "$root" delete --force "$id" || true
  done
}

remove_containers "${E2E_RUNC_ROOT:-}"
registry_stop "$E2E_REGISTRY_DIR"
# Remove only a directory that env_up.sh could have created, even if the
# environment file was edited.
case "$E2E_STATE_DIR" in
  /var/tmp/cbuild-e2e-env.*) rm -rf "$E2E_STATE_DIR" ;;
  *) echo "env_down: not removing unexpected state directory '$E2E_STATE_DIR'" >&2 ;;
esac
rm -f "$ENV_FILE"
echo "env_down: stopped registry $REGISTRY"
