# shellcheck shell=bash
# Build the base images that the end-to-end tests pull through
# --registry-mirror, and push them with cbuild itself:
#   library/debian:bookworm-slim  debootstrap --variant=minbase bookworm
#   library/busybox:latest        the host's busybox-static
# Root file systems are cached as tar files in $CBUILD_TEST_CACHE
# (default /var/cache/cbuild-tests), so only the first run pays for
# debootstrap. Needs root: debootstrap and tar --numeric-owner keep owners.

BASE_DEBIAN_SUITE=bookworm
BASE_DEBIAN_VARIANT=minbase
BASE_DEFAULT_MIRROR=http://deb.debian.org/debian

base_cache_dir() {
  echo "${CBUILD_TEST_CACHE:-/var/cache/cbuild-tests}"
}

# Print the first URI of a deb822 stanza (/etc/apt/sources.list.d/*.sources)
# that offers binary packages for SUITE.
base_mirror_from_deb822() {
  local file="$1" suite="$2"
  awk -v suite="$suite" '
    BEGIN { RS = ""; FS = "\n" }
    {
      types = ""; suites = ""; uris = ""
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^#/) continue
        if (sub(/^Types:[ \t]*/, "", line)) types = line
        else if (sub(/^Suites:[ \t]*/, "", line)) suites = line
        else if (sub(/^URIs:[ \t]*/, "", line)) uris = line
      }
      if ((" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
        split(uris, uri, /[ \t]+/)
        print uri[1]
        exit
      }
    }' "$file"
}

# Print the URI of a one-line "deb [options] URI SUITE ..." entry for SUITE.
base_mirror_from_list() {
  local file="$1" suite="$2"
  sed -e 's/\[[^]]*\]//' "$file" |
    awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }'
}

# Print the Debian mirror that apt on this host uses for the base suite, so
# that debootstrap and the image's own apt reach the same mirror as the host.
base_debian_mirror() {
  local file mirror=""
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] || continue
    mirror=$(base_mirror_from_deb822 "$file" "$BASE_DEBIAN_SUITE")
    [[ -n "$mirror" ]] && break
  done
  if [[ -z "$mirror" ]]; then
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$file" ]] || continue
      mirror=$(base_mirror_from_list "$file" "$BASE_DEBIAN_SUITE")
      [[ -n "$mirror" ]] && break
    done
  fi
  echo "${mirror:-$BASE_DEFAULT_MIRROR}"
}

# Make a debootstrapped tree look like the official debian:*-slim images:
# no device nodes, no package lists or caches, and dpkg set to skip docs.
base_debian_slim() {
  local rootfs="$1"
  find "$rootfs/dev" -mindepth 1 -delete
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/apt/* \
    "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/alternatives.log
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/groff/* \
    "$rootfs"/usr/share/lintian/*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
# Keep the image small, as the official debian:*-slim images do.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
EOF
}

# Copy the host's apt setting that lets apt accept a Release file past its
# Valid-Until date (needed when the mirror is a dated snapshot); without it,
# apt-get update inside the image would fail where the host's succeeds.
base_debian_apt_settings() {
  local rootfs="$1" valid_until=""
  eval "$(apt-config shell valid_until Acquire::Check-Valid-Until)"
  if [[ "$valid_until" == "false" ]]; then
    echo 'Acquire::Check-Valid-Until "false";' \
      >"$rootfs/etc/apt/apt.conf.d/99check-valid-until"
  fi
}

# Build the Debian root file system tar into CACHE_ENTRY/rootfs.tar.
base_debian_build_tar() {
  local entry="$1" mirror="$2" work
  work=$(mktemp -d /var/tmp/cbuild-debootstrap.XXXXXX)
  echo "base images: debootstrap --variant=$BASE_DEBIAN_VARIANT $BASE_DEBIAN_SUITE from $mirror" >&2
  if ! debootstrap --variant="$BASE_DEBIAN_VARIANT" "$BASE_DEBIAN_SUITE" \
    "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [[ -f "$work/rootfs/debootstrap/debootstrap.log" ]] &&
      tail -n 30 "$work/rootfs/debootstrap/debootstrap.log" >&2
    rm -rf "$work"
    echo "base images: debootstrap failed" >&2
    return 1
  fi
  base_debian_slim "$work/rootfs"
  base_debian_apt_settings "$work/rootfs"
  base_finish_tar "$work" "$entry" --numeric-owner
}

# Tar WORK/rootfs into ENTRY/rootfs.tar (renamed into place only when
# complete) and remove WORK. Extra arguments go to tar.
base_finish_tar() {
  local work="$1" entry="$2" status=0
  shift 2
  tar "$@" --sort=name -C "$work/rootfs" -cf "$entry/rootfs.tar.tmp" . &&
    mv "$entry/rootfs.tar.tmp" "$entry/rootfs.tar" || status=1
  rm -rf "$work" "$entry/rootfs.tar.tmp"
  ((status == 0)) || echo "base images: could not write $entry/rootfs.tar" >&2
  return "$status"
}

# Print the path of the cached Debian root file system tar, building it
# first when the cache has none for this suite, variant and mirror.
base_debian_rootfs_tar() {
  local cache entry mirror key
  cache=$(base_cache_dir)
  entry="$cache/debian-$BASE_DEBIAN_SUITE-$BASE_DEBIAN_VARIANT"
  mirror=$(base_debian_mirror)
  key="$BASE_DEBIAN_SUITE $BASE_DEBIAN_VARIANT $mirror"
  mkdir -p "$entry"
  (
    # Two test runs that share the cache must not debootstrap into it at once.
    flock 9
    if [[ ! -f "$entry/rootfs.tar" || "$(cat "$entry/key" 2>/dev/null)" != "$key" ]]; then
      rm -f "$entry/rootfs.tar" "$entry/key"
      base_debian_build_tar "$entry" "$mirror" || exit 1
      echo "$key" >"$entry/key"
    fi
  ) 9>"$entry/lock" || return 1
  echo "$entry/rootfs.tar"
}

# Build a busybox root file system tar into CACHE_ENTRY/rootfs.tar: the
# static binary, one symbolic link per applet, and the few files that
# shells and tools expect.
base_busybox_build_tar() {
  local entry="$1" work applet
  work=$(mktemp -d /var/tmp/cbuild-busybox.XXXXXX)
  mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/root" \
    "$work/rootfs/tmp" "$work/rootfs/var" "$work/rootfs/proc" \
    "$work/rootfs/sys" "$work/rootfs/dev"
  chmod 1777 "$work/rootfs/tmp"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  while read -r applet; do
    [[ "$applet" == bin/busybox ]] && continue
    mkdir -p "$work/rootfs/$(dirname "$applet")"
    ln -sf /bin/busybox "$work/rootfs/$applet"
  done < <(/bin/busybox --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
  base_finish_tar "$work" "$entry" --numeric-owner --owner=0 --group=0
}

# Print the path of the cached busybox root file system tar, rebuilding it
# when the host's busybox-static package changed.
base_busybox_rootfs_tar() {
  local cache entry key
  cache=$(base_cache_dir)
  entry="$cache/busybox"
  [[ -x /bin/busybox ]] || {
    echo "base images: /bin/busybox is missing; install busybox-static" >&2
    return 1
  }
  key="busybox-static $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"
  mkdir -p "$entry"
  (
    flock 9
    if [[ ! -f "$entry/rootfs.tar" || "$(cat "$entry/key" 2>/dev/null)" != "$key" ]]; then
      rm -f "$entry/rootfs.tar" "$entry/key"
      base_busybox_build_tar "$entry" || exit 1
      echo "$key" >"$entry/key"
    fi
  ) 9>"$entry/lock" || return 1
  echo "$entry/rootfs.tar"
}

# Write a build context in DIR with ROOTFS_TAR and a Dockerfile that adds it
# to an empty image with CMD SHELL, as the official images are built.
base_make_context() {
  local dir="$1" rootfs_tar="$2" shell="$3"
  mkdir -p "$dir"
  # A hard link costs nothing; fall back to a copy across file systems.
  ln -f "$rootfs_tar" "$dir/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$dir/rootfs.tar"
  printf 'FROM scratch\nADD rootfs.tar /\nCMD ["%s"]\n' "$shell" >"$dir/Dockerfile"
}

# Build and push one base image with cbuild, logging "REF@DIGEST".
# Usage: base_push_image REGISTRY STATE_ROOT CONTEXT NAME
base_push_image() {
  local registry="$1" state_root="$2" context="$3" name="$4" out
  echo "base images: pushing $registry/$name" >&2
  if ! out=$("${CBUILD:?CBUILD must name the cbuild binary}" build \
    --root "$state_root" --insecure-registry "$registry" --quiet \
    --push -t "$registry/$name" "$context"); then
    echo "base images: cbuild failed to build or push $registry/$name" >&2
    return 1
  fi
  echo "base images: pushed $out" >&2
}

# Build library/debian:bookworm-slim and library/busybox:latest and push them
# to REGISTRY (HOST:PORT). WORK is a scratch directory for contexts and
# cbuild's state; the caller removes it.
base_images_publish() {
  local registry="$1" work="$2" debian_tar busybox_tar
  debian_tar=$(base_debian_rootfs_tar) || return 1
  busybox_tar=$(base_busybox_rootfs_tar) || return 1
  base_make_context "$work/debian" "$debian_tar" bash
  base_make_context "$work/busybox" "$busybox_tar" sh
  base_push_image "$registry" "$work/root" "$work/debian" \
    "library/debian:$BASE_DEBIAN_SUITE-slim" || return 1
  base_push_image "$registry" "$work/root" "$work/busybox" \
    "library/busybox:latest" || return 1
}
