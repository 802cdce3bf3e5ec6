#!/usr/bin/env bash
# Build fixtures/flask-app with cbuild, push it, check the pushed image with
# skopeo and umoci, then run it with runc and use the app over HTTP.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The port that the image's CMD binds. The container keeps its own network
# namespace, so the port never clashes with the host's and curl reaches it
# through nsenter.
APP_PORT=8080
IMAGE="$REGISTRY/apps/flask:e2e"
EXPECTED_CMD='["gunicorn","--bind","0.0.0.0:8080","--workers","2","app:app"]'

# Copy the fixture and add the clutter that a developer's checkout has, all
# of which .dockerignore must keep out of the image.
prepare_context() {
  local ctx="$TEST_TMP/context"
  cp -a "$CBUILD_SOURCE_DIR/fixtures/flask-app" "$ctx"
  mkdir -p "$ctx/__pycache__" "$ctx/tests/__pycache__" "$ctx/.git"
  echo "stale bytecode" >"$ctx/__pycache__/app.cpython-311.pyc"
  echo "stale bytecode" >"$ctx/tests/__pycache__/test_app.cpython-311.pyc"
  echo "ref: refs/heads/main" >"$ctx/.git/HEAD"
  echo "stale database" >"$ctx/data.sqlite"
  assert_exists "$ctx/.env" "fixture .env"
  echo "$ctx"
}

# Build and push the image, then print the digest from cbuild's
# "REF@sha256:..." line.
build_and_push() {
  local ctx="$1" out digest
  log "building $ctx"
  out=$(cbuild_build --push -t "$IMAGE" "$ctx") || fail "cbuild build failed"
  [[ "$out" =~ ^"$IMAGE"@(sha256:[0-9a-f]{64})$ ]] ||
    fail "cbuild stdout should be '$IMAGE@sha256:<64 hex>', got: $out"
  digest="${BASH_REMATCH[1]}"
  log "pushed $IMAGE@$digest"
  echo "$digest"
}

check_manifest() {
  local digest="$1" inspect
  inspect=$(skopeo inspect --tls-verify=false "docker://$IMAGE") ||
    fail "skopeo inspect $IMAGE failed"
  assert_eq "$digest" "$(jq -r .Digest <<<"$inspect")" "manifest digest in the registry"
  assert_eq "$(dpkg --print-architecture)" "$(jq -r .Architecture <<<"$inspect")" "architecture"
  assert_eq "linux" "$(jq -r .Os <<<"$inspect")" "os"
  MANIFEST_LAYERS=$(jq '.Layers | length' <<<"$inspect")
}

check_config() {
  local config env
  config=$(skopeo inspect --tls-verify=false --config "docker://$IMAGE") ||
    fail "skopeo inspect --config $IMAGE failed"
  env=$(jq -r '.config.Env[]' <<<"$config")
  assert_contains "$env" "DATABASE_PATH=/databases/app.sqlite" "config Env"
  grep -q '^PATH=/' <<<"$env" || fail "config Env has no PATH: $env"
  assert_eq "$EXPECTED_CMD" "$(jq -c .config.Cmd <<<"$config")" "config Cmd"
  assert_eq "/app" "$(jq -r .config.WorkingDir <<<"$config")" "config WorkingDir"
  assert_eq '["8080/tcp"]' "$(jq -c '.config.ExposedPorts | keys' <<<"$config")" \
    "config ExposedPorts"
  assert_eq "layers" "$(jq -r .rootfs.type <<<"$config")" "rootfs type"
  check_history "$config"
}

# Expected history, one "INSTRUCTION layer|empty|any" per entry: the base
# image's two (ADD, CMD), then one per instruction of the app's Dockerfile.
# WORKDIR may or may not produce a layer (BuildKit adds one only when it
# creates the directory).
EXPECTED_HISTORY=(
  "ADD layer" "CMD empty"
  "apt-get layer" "WORKDIR any" "COPY layer" "COPY layer"
  "ENV empty" "EXPOSE empty" "CMD empty"
)

check_history() {
  local config="$1" i word kind created_by empty diff_ids layered
  assert_eq "${#EXPECTED_HISTORY[@]}" "$(jq '.history | length' <<<"$config")" \
    "number of history entries"
  for i in "${!EXPECTED_HISTORY[@]}"; do
    read -r word kind <<<"${EXPECTED_HISTORY[i]}"
    created_by=$(jq -r --argjson i "$i" '.history[$i].created_by // ""' <<<"$config")
    empty=$(jq -r --argjson i "$i" '.history[$i].empty_layer // false' <<<"$config")
    assert_contains "$created_by" "$word" "history[$i].created_by"
    case "$kind" in
      layer) assert_eq false "$empty" "history[$i] ($word) empty_layer" ;;
      empty) assert_eq true "$empty" "history[$i] ($word) empty_layer" ;;
    esac
  done
  diff_ids=$(jq '.rootfs.diff_ids | length' <<<"$config")
  layered=$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$config")
  assert_eq "$diff_ids" "$layered" "history entries with a layer vs rootfs.diff_ids"
  assert_eq "$MANIFEST_LAYERS" "$diff_ids" "manifest layers vs rootfs.diff_ids"
}

unpack_image() {
  local layout="$TEST_TMP/layout" bundle="$TEST_TMP/bundle"
  skopeo copy --quiet --src-tls-verify=false "docker://$IMAGE" "oci:$layout:e2e" >&2 ||
    fail "skopeo copy $IMAGE to an OCI layout failed"
  umoci unpack --image "$layout:e2e" "$bundle" >&2 || fail "umoci unpack failed"
  echo "$bundle"
}

check_app_files() {
  local app="$1/rootfs/app" path
  for path in app.py requirements.txt Dockerfile docker-compose.yml fly.toml \
    nginx/default.conf; do
    assert_exists "$app/$path" "file copied into the image"
  done
  for path in .env .gitignore tests data.sqlite __pycache__ .git; do
    assert_missing "$app/$path" "file excluded by .dockerignore"
  done
  [[ -z "$(find "$app" -name '*.pyc' -o -name __pycache__)" ]] ||
    fail "Python caches in the image: $(find "$app" -name '*.pyc' -o -name __pycache__)"
  assert_exists "$1/rootfs/usr/bin/gunicorn" "gunicorn installed by RUN"
  assert_missing "$1/rootfs/var/lib/apt/lists/lock" "apt lists removed by RUN"
}

# Run the image's own command with a host directory mounted at /databases.
prepare_bundle() {
  local bundle="$1" databases="$2" args
  args=$(jq -c .process.args "$bundle/config.json")
  assert_eq "$EXPECTED_CMD" "$args" "umoci process.args"
  assert_eq "/app" "$(jq -r .process.cwd "$bundle/config.json")" "umoci process.cwd"
  jq --arg db "$databases" '
    .process.terminal = false
    | .mounts += [{destination: "/databases", type: "bind", source: $db,
                   options: ["rbind", "rw"]}]' \
    "$bundle/config.json" >"$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"
}

# Run curl ARGS... inside the container's network namespace.
container_curl() {
  nsenter --net="/proc/$CONTAINER_PID/ns/net" curl -fsS --max-time 5 "$@"
}

wait_for_app() {
  local url="http://127.0.0.1:$APP_PORT/healthz" deadline=$((SECONDS + 60))
  until container_curl -o /dev/null "$url" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      fail "the app did not respond on $url within 60s; container output: $(cat "$TEST_TMP/container.log")"
    fi
    if [[ "$(runc --root "$E2E_RUNC_ROOT" state "$CONTAINER_ID" | jq -r .status)" != running ]]; then
      fail "the container stopped; its output: $(cat "$TEST_TMP/container.log")"
    fi
    sleep 0.2
  done
}

run_container() {
  local bundle="$1"
  CONTAINER_ID="cbuild-e2e-flask-$$"
  mkdir -p "$E2E_RUNC_ROOT"
  on_exit "runc --root '$E2E_RUNC_ROOT' delete --force '$CONTAINER_ID' >/dev/null 2>&1"
  runc --root "$E2E_RUNC_ROOT" run --detach --bundle "$bundle" \
    --pid-file "$TEST_TMP/container.pid" "$CONTAINER_ID" \
    </dev/null >"$TEST_TMP/container.log" 2>&1 ||
    fail "runc run failed: $(cat "$TEST_TMP/container.log")"
  CONTAINER_PID=$(cat "$TEST_TMP/container.pid")
  wait_for_app
}

check_app_over_http() {
  local databases="$1" base="http://127.0.0.1:$APP_PORT" jar="$TEST_TMP/cookies"
  assert_eq "ok" "$(container_curl "$base/healthz")" "GET /healthz"
  assert_eq "1" "$(container_curl -c "$jar" "$base/")" "first GET /"
  assert_eq "2" "$(container_curl -b "$jar" -c "$jar" "$base/")" "second GET /"
  assert_contains "$(container_curl -D - -o /dev/null -b "$jar" "$base/")" \
    "X-Session-Visits: 3" "session cookie count on the third GET /"
  [[ -s "$databases/app.sqlite" ]] ||
    fail "the app did not write its database to the mounted /databases"
  assert_eq 3 "$(/usr/bin/python3 -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count FROM visits").fetchone()[0])' \
    "$databases/app.sqlite")" "visit count in the mounted database"
}

main() {
  local ctx digest bundle databases
  ctx=$(prepare_context)
  digest=$(build_and_push "$ctx")
  check_manifest "$digest"
  check_config
  bundle=$(unpack_image)
  check_app_files "$bundle"

  databases="$TEST_TMP/databases"
  mkdir -p "$databases"
  prepare_bundle "$bundle" "$databases"
  run_container "$bundle"
  check_app_over_http "$databases"
  log "PASS"
}

main "$@"
