# shellcheck shell=bash
# Set up the peer builders that bench/run.sh compares cbuild with: Docker's
# BuildKit (docker.io 20.10 from Debian 12) and buildah 1.28. Everything
# lives under one work directory: dockerd listens on a unix socket there
# and keeps its data there, and buildah keeps its storage there.

# Install docker.io and buildah unless they are installed already.
peers_install() {
  local missing=() package status
  for package in docker.io buildah; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)
    [[ "$status" == ii* ]] || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "bench: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" >"$WORK/apt-peers.log" 2>&1 || {
    tail -n 20 "$WORK/apt-peers.log" >&2
    return 1
  }
}

# Start dockerd with the daemon flags the peers guide gives: no bridge, no
# iptables, no userland proxy, and plain HTTP to the local registry, which
# is also its docker.io mirror. The socket, the exec root (which contains the
# containerd socket) and the data root are private to this run, so that a
# dockerd that someone else runs on /var/run/docker.sock is left alone.
# Sets DOCKER_SOCK and DOCKERD_PID.
docker_start() {
  local registry="$1" deadline
  DOCKER_SOCK="$WORK/docker.sock"
  setsid dockerd --host "unix://$DOCKER_SOCK" \
    --data-root "$WORK/docker-data" --exec-root "$WORK/docker-exec" \
    --pidfile "$WORK/docker.pid" \
    --storage-driver overlay2 --iptables=false --ip-masq=false --bridge=none \
    --userland-proxy=false --insecure-registry "$registry" \
    --registry-mirror "http://$registry" \
    </dev/null >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  deadline=$((SECONDS + 60))
  until /usr/bin/docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "bench: dockerd did not start; its log ends with:" >&2
      tail -n 20 "$WORK/dockerd.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Stop the dockerd that docker_start started, by its process id.
docker_stop() {
  [[ -n "${DOCKERD_PID:-}" ]] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$DOCKERD_PID" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=""
}

# Copy REGISTRY/library/NAME into dockerd's image store as NAME, so that
# BuildKit finds the base image without Docker Hub.
docker_load_image() {
  local registry="$1" name="$2"
  skopeo copy --quiet --src-tls-verify=false \
    --dest-daemon-host "unix://$DOCKER_SOCK" \
    "docker://$registry/library/$name" "docker-daemon:$name"
}

# Write a registries.conf that resolves short names on docker.io and pulls
# docker.io images from the local registry, and set BUILDAH_REGISTRIES_CONF.
buildah_configure() {
  local registry="$1"
  BUILDAH_REGISTRIES_CONF="$WORK/registries.conf"
  cat >"$BUILDAH_REGISTRIES_CONF" <<EOF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "$registry"
insecure = true
EOF
}

# Print the docker and buildah command lines that build CONTEXT as TAG.
docker_command() {
  local context="$1" tag="$2"
  printf 'DOCKER_BUILDKIT=1 /usr/bin/docker -H unix://%s build --network=host -t %s %s' \
    "$DOCKER_SOCK" "$tag" "$context"
}

buildah_command() {
  local context="$1" tag="$2"
  printf 'CONTAINERS_REGISTRIES_CONF=%s buildah --root %s --runroot %s --storage-driver overlay build --layers --isolation chroot --network host --tls-verify=false -t %s %s' \
    "$BUILDAH_REGISTRIES_CONF" "$WORK/buildah-storage" "$WORK/buildah-run" "$tag" "$context"
}

# Unmount whatever dockerd or buildah left mounted under the work
# directory, deepest first, so that removing the directory cannot reach
# into a mounted file system.
peers_unmount_leftovers() {
  local target
  findmnt -rn -o TARGET | { grep -F "$WORK/" || true; } | sort -r |
    while read -r target; do
      umount -l "$target" 2>/dev/null || true
    done
}
