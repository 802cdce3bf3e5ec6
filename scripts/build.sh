#!/usr/bin/env bash
# Configure and build cbuild. Each KIND has its own build directory:
#   release  build/       Release, warnings are errors (the default)
#   asan     build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     build-fuzz/  clang, only the libFuzzer targets, both sanitizers
# Usage: scripts/build.sh [KIND...]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=$(nproc)

configure_and_build() {
  local dir="$1"
  shift
  echo "build: configuring $dir"
  cmake -S "$ROOT" -B "$dir" "$@"
  echo "build: building $dir"
  cmake --build "$dir" --parallel "$JOBS"
}

# Build only the libFuzzer targets, one per tests/fuzz/fuzz_<name>.c.
# Warnings stay warnings here: the gcc -Werror builds are the lint gate, and
# a clang-only warning should not stop the fuzzers.
build_fuzzers() {
  local dir="$ROOT/build-fuzz" targets=() source
  for source in "$ROOT"/tests/fuzz/fuzz_*.c; do
    [[ -f "$source" ]] && targets+=("$(basename "$source" .c)")
  done
  if ((${#targets[@]} == 0)); then
    echo "build: no fuzz targets in tests/fuzz" >&2
    return 1
  fi
  echo "build: configuring $dir"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCBUILD_FUZZ=ON -DCBUILD_SANITIZE=ON
  echo "build: building ${targets[*]} in $dir"
  cmake --build "$dir" --parallel "$JOBS" --target "${targets[@]}"
}

build_kind() {
  case "$1" in
    release)
      configure_and_build "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DCBUILD_WERROR=ON
      ;;
    asan)
      configure_and_build "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCBUILD_WERROR=ON -DCBUILD_SANITIZE=ON
      ;;
    fuzz)
      build_fuzzers
      ;;
    *)
      echo "build: unknown kind '$1' (expected release, asan or fuzz)" >&2
      return 1
      ;;
  esac
}

main() {
  local kind
  (($# > 0)) || set -- release
  for kind in "$@"; do
    build_kind "$kind"
  done
}

main "$@"
