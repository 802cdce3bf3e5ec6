#!/usr/bin/env bash
# RUN --mount as BuildKit runs it: a cache that outlives the build, binds of
# the build context and of a stage, tmpfs and secrets. Nothing mounted may
# reach a layer, and no secret value may reach the image, its config or
# cbuild's log.
source "$(dirname "$0")/lib/common.sh"

secret_value="e2e-secret-$RANDOM-$RANDOM-value"
env_secret_value="e2e-env-secret-$RANDOM-$RANDOM"
printf '%s' "$secret_value" >"$TEST_TMP/api_token"
export E2E_ENV_SECRET="$env_secret_value"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx/data"
echo "bound, not copied" >"$ctx/data/notcopied.txt"
echo "excluded" >"$ctx/data/ignored.txt"
printf 'data/ignored.txt\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
RUN echo "from the tools stage" >/tool.txt

FROM busybox
RUN --mount=type=cache,id=appcache,target=/var/cache/app \
    echo first >/var/cache/app/seen && mkdir -p /var/cache/app/sub
RUN --mount=type=cache,id=appcache,target=/sub,source=sub,sharing=private touch /sub/private-was-here
RUN --mount=type=cache,target=/c2,uid=1000,gid=1000,mode=0750 stat -c '%u %g %a' /c2 >/cache-owner
RUN --mount=type=bind,source=data,target=/src \
    cat /src/notcopied.txt >/from-bind && if test -e /src/ignored.txt; then echo leaked >/from-bind; fi
RUN --mount=type=bind,target=/rw,rw echo scribble >/rw/data/scribble && cat /rw/data/scribble >/rw-read
RUN --mount=type=bind,from=tools,source=/tool.txt,target=/opt/tool.txt cat /opt/tool.txt >/from-stage
RUN --mount=from=debian:bookworm-slim,source=/etc/debian_version,target=/dv cat /dv >/from-image
RUN --mount=type=tmpfs,target=/scratch,size=1m echo t >/scratch/t && df /scratch | grep -q tmpfs && echo yes >/tmpfs-seen
RUN --mount=type=secret,id=api_token \
    wc -c </run/secrets/api_token >/secret-len && stat -c '%a %u' /run/secrets/api_token >/secret-mode
RUN --mount=type=secret,id=api_token,env=API_TOKEN,target=/tmp/tok \
    if test "$API_TOKEN" = "$(cat /tmp/tok)"; then echo same >/secret-env; fi
RUN --mount=type=secret,id=from_env,env=TOKEN printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1 >/env-secret-sha
RUN --mount=type=secret,id=not_given test ! -e /run/secrets/not_given && echo skipped >/optional-secret
WORKDIR /w
RUN --mount=type=bind,source=data,target=rel cat rel/notcopied.txt >/relative-target
DOCKERFILE

ref="$REGISTRY/e2e/run-mounts:1"
cbuild_build --push -t "$ref" --secret "id=api_token,src=$TEST_TMP/api_token" \
  --secret id=from_env,env=E2E_ENV_SECRET "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 30 "$TEST_TMP/err")"

skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null ||
  fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

# Cache mounts: the content stays in the cache, not in the layer, and the
# mount point the runtime created is gone.
assert_missing "$rootfs/var/cache" "cache mount target /var/cache/app and its parent"
assert_missing "$rootfs/c2" "cache mount target /c2"
assert_eq "1000 1000 750" "$(cat "$rootfs/cache-owner")" "owner and mode of a new cache"
cache_dirs=$(find "$TEST_ROOT/cache-mounts" -maxdepth 2 -name seen | wc -l)
assert_eq "1" "$cache_dirs" "cache file under the state directory"

# Bind mounts of the build context: read without COPY, .dockerignore
# applies, writes to a rw bind reach neither the context nor the layer.
assert_eq "bound, not copied" "$(cat "$rootfs/from-bind")" "file read through a bind mount"
assert_missing "$rootfs/src" "bind mount target /src"
assert_missing "$rootfs/rw" "rw bind mount target /rw"
assert_eq "scribble" "$(cat "$rootfs/rw-read")" "write seen inside a rw bind mount"
assert_missing "$ctx/data/scribble" "write to a rw bind mount in the build context"
assert_eq "from the tools stage" "$(cat "$rootfs/from-stage")" "bind mount from a stage"
assert_contains "$(cat "$rootfs/from-image")" "12." "bind mount from an image (Debian 12's debian_version)"
assert_missing "$rootfs/dv" "bind mount target of an image mount"
assert_missing "$rootfs/opt/tool.txt" "bind mount target /opt/tool.txt"
assert_missing "$rootfs/opt" "parent the runtime created for a mount target"

assert_eq "bound, not copied" "$(cat "$rootfs/relative-target")" "bind mount at a target below WORKDIR"
assert_exists "$rootfs/w" "WORKDIR"
assert_missing "$rootfs/w/rel" "bind mount target below WORKDIR"

assert_eq "yes" "$(cat "$rootfs/tmpfs-seen")" "tmpfs mount"
assert_missing "$rootfs/scratch" "tmpfs mount target"

# Secrets: readable while the step runs, gone afterwards.
assert_eq "${#secret_value}" "$(tr -d ' ' <"$rootfs/secret-len")" "secret file length"
assert_eq "400 0" "$(cat "$rootfs/secret-mode")" "secret file mode and owner"
assert_eq "same" "$(cat "$rootfs/secret-env")" "secret as an environment variable"
want_sha=$(printf '%s' "$env_secret_value" | sha256sum | cut -d' ' -f1)
assert_eq "$want_sha" "$(cat "$rootfs/env-secret-sha")" "secret read from --secret env="
assert_eq "skipped" "$(cat "$rootfs/optional-secret")" "secret that is neither given nor required"
assert_missing "$rootfs/run" "secret mount target /run/secrets/api_token"
assert_missing "$rootfs/tmp/tok" "secret mount target /tmp/tok"
if grep -rqF -e "$secret_value" -e "$env_secret_value" "$rootfs"; then
  fail "a secret value is in the image's files"
fi

config=$(skopeo inspect --tls-verify=false --raw --config "docker://$ref") ||
  fail "skopeo inspect --config failed"
assert_not_contains "$config" "$secret_value" "image config"
assert_not_contains "$config" "$env_secret_value" "image config"
assert_not_contains "$config" "API_TOKEN=" "image config Env"
assert_contains "$config" '/bin/sh -c wc -c' "history of a RUN with a secret"
assert_not_contains "$(cat "$TEST_TMP/err" "$TEST_TMP/out")" "$secret_value" "cbuild's output"
assert_not_contains "$(cat "$TEST_TMP/err" "$TEST_TMP/out")" "$env_secret_value" "cbuild's output"
if grep -rqF "$secret_value" "$TEST_ROOT/blobs"; then
  fail "a secret value is in a blob of the store"
fi

# A second build reads what the first wrote to the cache.
cat >"$ctx/Dockerfile.second" <<'DOCKERFILE'
FROM busybox
RUN --mount=type=cache,id=appcache,target=/mnt/app,sharing=locked \
    cat /mnt/app/seen >/seen-by-second && ls /mnt/app/sub >/sub-by-second
DOCKERFILE
ref2="$REGISTRY/e2e/run-mounts:2"
cbuild_build --push -t "$ref2" -f "$ctx/Dockerfile.second" "$ctx" >"$TEST_TMP/out2" 2>"$TEST_TMP/err2" ||
  fail "second build failed: $(tail -n 30 "$TEST_TMP/err2")"
skopeo copy --src-tls-verify=false "docker://$ref2" "oci:$TEST_TMP/layout:img2" >/dev/null ||
  fail "skopeo copy of the second image failed"
umoci unpack --image "$TEST_TMP/layout:img2" "$TEST_TMP/bundle2" >/dev/null ||
  fail "umoci unpack of the second image failed"
assert_eq "first" "$(cat "$TEST_TMP/bundle2/rootfs/seen-by-second")" "cache content in a later build"
assert_eq "private-was-here" "$(cat "$TEST_TMP/bundle2/rootfs/sub-by-second")" "cache subdirectory mounted with source="
assert_missing "$TEST_TMP/bundle2/rootfs/mnt/app" "cache mount target of the second build"

# What a bind mount shows is part of the step's cache key, as in BuildKit.
# A changed file under a context source or a changed stage reruns the
# step. A change to a file that .dockerignore excludes does not.
keyed="$TEST_TMP/keyed"
mkdir -p "$keyed/data"
echo one >"$keyed/data/input.txt"
echo excluded >"$keyed/data/ignored.txt"
echo tool-1 >"$keyed/tool.txt"
printf 'data/ignored.txt\n' >"$keyed/.dockerignore"
cat >"$keyed/Dockerfile" <<'DOCKERFILE'
FROM busybox AS tools
COPY tool.txt /tool.txt

FROM busybox
RUN --mount=type=bind,source=data,target=/src cat /src/input.txt >/bound
RUN --mount=type=bind,from=tools,source=/tool.txt,target=/t cat /t >/staged
DOCKERFILE

# bind_key_build NAME: builds the keyed context and sets RAN to the number
# of steps that ran (the summary line's "N steps run").
bind_key_build() {
  cbuild_build -t "bind-key:$1" "$keyed" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" ||
    fail "$1: build failed: $(tail -n 30 "$TEST_TMP/$1.err")"
  RAN=$(steps_run "$TEST_TMP/$1.err")
  [[ -n "$RAN" ]] || fail "$1: no summary line: $(tail -n 5 "$TEST_TMP/$1.err")"
}

bind_key_build first
assert_eq "3" "$RAN" "first build of the bind key context: steps run"
bind_key_build unchanged
assert_eq "0" "$RAN" "unchanged bind sources: steps run"
echo changed >"$keyed/data/ignored.txt"
bind_key_build ignored-changed
assert_eq "0" "$RAN" "changed file that .dockerignore excludes: steps run"
echo two >"$keyed/data/input.txt"
bind_key_build source-changed
assert_eq "2" "$RAN" "changed context bind source: steps run (both RUNs)"
echo tool-2 >"$keyed/tool.txt"
bind_key_build stage-changed
assert_eq "2" "$RAN" "changed stage behind a bind mount: steps run (its COPY and the RUN)"
grep -qE '^(\[[a-z0-9_.-]+\] )?CACHED$' "$TEST_TMP/stage-changed.err" ||
  fail "stage-changed: the RUN with the unchanged context bind should be CACHED"

# A required secret that is not given fails and names its id.
cat >"$ctx/Dockerfile.required" <<'DOCKERFILE'
FROM busybox
RUN --mount=type=secret,id=deploy_key,required true
DOCKERFILE
expect_build_failure required_secret -f "$ctx/Dockerfile.required" "$ctx"
assert_contains "$CBUILD_ERROR" "secret 'deploy_key' is required" "missing required secret"
assert_contains "$CBUILD_ERROR" "Dockerfile.required:2" "location of the missing secret"

expect_build_failure bad_secret_flag --secret "src=/nonexistent" "$ctx"
assert_contains "$CBUILD_ERROR" "missing id=ID" "--secret without an id"
log "ok"
