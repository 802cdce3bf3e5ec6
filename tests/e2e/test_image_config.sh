#!/usr/bin/env bash
# The image config that metadata instructions produce, checked with skopeo
# against what docker build writes for the same Dockerfile.
source "$(dirname "$0")/lib/common.sh"

ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG VERSION=1.0
ENV APP_HOME=/srv/app \
    GREETING="hello world"
LABEL org.example.version=$VERSION maintainer="team"
WORKDIR $APP_HOME
WORKDIR sub
USER 1000:1000
EXPOSE 9000-9001/udp 8080
VOLUME ["/data"]
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo $GREETING
HEALTHCHECK --interval=30s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1
DOCKERFILE

ref="$REGISTRY/e2e/config:1"
cbuild_build --push -t "$ref" --build-arg VERSION=2.0 "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 20 "$TEST_TMP/err")"
skopeo inspect --tls-verify=false --raw --config "docker://$ref" >"$TEST_TMP/config.json" ||
  fail "skopeo inspect --config failed"

# Every field is compared on its own, so a failure names the field.
check() {
  local expr="$1" want="$2" got
  got=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print(json.dumps($expr, sort_keys=True))" "$TEST_TMP/config.json") ||
    fail "cannot evaluate $expr"
  assert_eq "$want" "$got" "$expr"
}

check 'c["config"]["Env"]' '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/srv/app", "GREETING=hello world"]'
check 'c["config"]["Labels"]' '{"maintainer": "team", "org.example.version": "2.0"}'
check 'c["config"]["WorkingDir"]' '"/srv/app/sub"'
check 'c["config"]["User"]' '"1000:1000"'
check 'c["config"]["ExposedPorts"]' '{"8080/tcp": {}, "9000/udp": {}, "9001/udp": {}}'
check 'c["config"]["Volumes"]' '{"/data": {}}'
check 'c["config"]["StopSignal"]' '"SIGINT"'
check 'c["config"]["Entrypoint"]' '["/bin/sh", "-c"]'
check 'c["config"]["Cmd"]' '["/bin/sh", "-c", "echo $GREETING"]'
check 'c["config"]["Healthcheck"]["Test"]' '["CMD-SHELL", "wget -q -O- http://localhost:8080/ || exit 1"]'
check 'c["config"]["Healthcheck"]["Interval"]' '30000000000'
check 'c["config"]["Healthcheck"]["Retries"]' '3'
check 'c["architecture"]' "\"$(dpkg --print-architecture)\""
check 'c["os"]' '"linux"'
# The WORKDIR steps create directories, so they carry layers; every other
# instruction is metadata only.
check '[h.get("empty_layer", False) for h in c["history"][-12:]]' \
  '[true, true, true, false, false, true, true, true, true, true, true, true]'
check 'len(c["rootfs"]["diff_ids"]) - len([h for h in c["history"] if not h.get("empty_layer")])' '0'
check 'c["history"][-1]["created_by"].startswith("HEALTHCHECK")' 'true'
check 'c["history"][-7]["created_by"]' '"USER 1000:1000"'
check 'c["history"][-6]["created_by"]' '"EXPOSE map[8080/tcp:{} 9000/udp:{} 9001/udp:{}]"'

# ENTRYPOINT drops the CMD inherited from the base image (busybox: sh).
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ENTRYPOINT ["echo"]
DOCKERFILE
ref="$REGISTRY/e2e/config:2"
cbuild_build --push -t "$ref" "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 20 "$TEST_TMP/err")"
skopeo inspect --tls-verify=false --raw --config "docker://$ref" >"$TEST_TMP/config.json" ||
  fail "skopeo inspect --config failed"
check 'c["config"].get("Cmd")' 'null'
check 'c["config"]["Entrypoint"]' '["echo"]'

# SOURCE_DATE_EPOCH pins the time of new history entries and of the image.
ref="$REGISTRY/e2e/config:3"
cbuild_build --push -t "$ref" --build-arg SOURCE_DATE_EPOCH=1700000000 "$ctx" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
  fail "build failed: $(tail -n 20 "$TEST_TMP/err")"
skopeo inspect --tls-verify=false --raw --config "docker://$ref" >"$TEST_TMP/config.json" ||
  fail "skopeo inspect --config failed"
check 'c["created"]' '"2023-11-14T22:13:20Z"'
check 'c["history"][-1]["created"]' '"2023-11-14T22:13:20Z"'
assert_not_contains "$(cat "$TEST_TMP/err")" "SOURCE_DATE_EPOCH" "unused build argument warning"
log "ok"
