#!/usr/bin/env bash
# Show cbuild end to end, as root on Debian 12. The script installs the
# packages, builds cbuild and starts a local registry. It pushes Debian and
# busybox base images made on this machine into that registry, then builds
# fixtures/flask-app with the registry as the docker.io mirror and pushes
# the result. It prints the pushed reference and digest, then stops the
# registry.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/tests/e2e/lib/registry.sh"
source "$ROOT/tests/e2e/lib/base_images.sh"

WORK=""
cleanup() {
  if [[ -n "$WORK" ]]; then
    registry_stop "$WORK/registry"
    rm -rf "$WORK"
  fi
}

main() {
  local port registry image out
  bash "$ROOT/scripts/setup.sh"
  bash "$ROOT/scripts/build.sh" release
  export CBUILD="$ROOT/build/cbuild"

  WORK=$(mktemp -d /var/tmp/cbuild-demo.XXXXXX)
  trap cleanup EXIT
  port=$(registry_start "$WORK/registry")
  registry="127.0.0.1:$port"
  echo "demo: registry running at $registry"

  base_images_publish "$registry" "$WORK/base"

  image="$registry/apps/flask:demo"
  echo "demo: building $ROOT/fixtures/flask-app"
  out=$("$CBUILD" build --root "$WORK/root" --registry-mirror "$registry" \
    --insecure-registry "$registry" --push -t "$image" "$ROOT/fixtures/flask-app")

  echo
  echo "pushed: ${out%@*}"
  echo "digest: ${out##*@}"
  echo "(the registry is stopped now; run scripts/test.sh to also run the image)"
}

main "$@"
