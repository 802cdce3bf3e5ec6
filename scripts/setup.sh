#!/usr/bin/env bash
# Install every package that cbuild's build and tests need on Debian 12.
# Idempotent: when all packages are already installed it only checks them,
# so repeated runs take about a second. Installing needs root.
set -euo pipefail

PACKAGES=(
  # Build
  build-essential gcc make cmake pkg-config
  libarchive-dev zlib1g-dev libssl-dev libjansson-dev libcurl4-openssl-dev
  # Sanitizer and libFuzzer builds
  clang libclang-rt-14-dev
  # End-to-end tests: registry, runtime, image tools, base images
  docker-registry runc skopeo umoci
  debootstrap debian-archive-keyring gpgv busybox-static
  curl ca-certificates jq apache2-utils tar util-linux
  # ADD of a git repository runs git
  git
  # The example app's own tests run on the host with Debian's Python
  python3 python3-flask python3-flask-session python3-redis gunicorn
  redis-server
)

missing_packages() {
  local package status
  for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)
    [[ "$status" == ii* ]] || echo "$package"
  done
}

main() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    echo "setup: all ${#PACKAGES[@]} packages are installed"
    return 0
  fi
  if ((EUID != 0)); then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this script as root to install them" >&2
    return 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
}

main "$@"
