#!/usr/bin/env bash
# Multi-stage builds as a graph. Independent stages run at the same time,
# and --target runs only the stages it needs. COPY --from takes a stage or
# an image from the registry, so a compiled binary goes into a FROM scratch
# image that runc runs. One failing stage stops the build. Global,
# platform and stage ARGs reach FROM and RUN as in docker build, and
# ONBUILD triggers fire once per child stage.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

IMAGE="$REGISTRY/e2e/multistage"
ARCH=$(dpkg --print-architecture)

# Write DIR/Dockerfile from stdin and print DIR.
make_context() {
  local ctx="$TEST_TMP/ctx-$1"
  mkdir -p "$ctx"
  cat >"$ctx/Dockerfile"
  echo "$ctx"
}

# Copy REF from the registry and unpack it with umoci into DIR/bundle.
unpack_image() {
  local ref="$1" dir="$2"
  skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$dir/layout:e2e" >&2 ||
    fail "skopeo copy $ref failed"
  umoci unpack --image "$dir/layout:e2e" "$dir/bundle" >&2 || fail "umoci unpack $ref failed"
}

# Two stages that each sleep 3 s between two readings of /proc/uptime,
# which is the same clock in every container. They share a base stage, and
# a final stage copies their readings, a file of an image and a file of
# stage 0.
write_parallel_context() {
  make_context parallel <<'EOF'
FROM busybox AS base
RUN echo base > /base.txt

FROM base AS left
RUN cut -d' ' -f1 /proc/uptime > /left.start && sleep 3 && cut -d' ' -f1 /proc/uptime > /left.end

FROM base AS right
RUN cut -d' ' -f1 /proc/uptime > /right.start && sleep 3 && cut -d' ' -f1 /proc/uptime > /right.end

FROM busybox AS final
COPY --from=left /left.start /left.end /times/
COPY --from=right /right.start /right.end /times/
COPY --from=busybox /bin/busybox /bb
COPY --from=0 /base.txt /base.txt
EOF
}

# Build the parallel context with JOBS, check the copied files, and set
# SPAN to the seconds from the first sleep's start to the last one's end
# and OVERLAP to 1 when the two sleeps overlapped, else 0.
build_parallel() {
  local jobs="$1" ctx="$2" dir="$TEST_TMP/parallel-$1" times result
  mkdir -p "$dir"
  cbuild_build --root "$dir/root" --jobs "$jobs" --push -t "$IMAGE:parallel-$jobs" "$ctx" \
    >"$dir/out" 2>"$dir/err" || fail "parallel build (--jobs $jobs) failed: $(tail -n 20 "$dir/err")"
  unpack_image "$IMAGE:parallel-$jobs" "$dir"
  times="$dir/bundle/rootfs/times"
  cmp -s /bin/busybox "$dir/bundle/rootfs/bb" || fail "COPY --from=busybox did not copy /bin/busybox of the image"
  assert_eq base "$(cat "$dir/bundle/rootfs/base.txt")" "COPY --from=0"
  assert_contains "$(cat "$dir/err")" "[left 2/2] RUN" "step header of stage left"
  result=$(awk -v ls="$(cat "$times/left.start")" -v le="$(cat "$times/left.end")" \
    -v rs="$(cat "$times/right.start")" -v re="$(cat "$times/right.end")" \
    'BEGIN { s = ls < rs ? ls : rs; e = le > re ? le : re; printf "%.2f %d\n", e - s, (rs < le && ls < re) }')
  read -r SPAN OVERLAP <<<"$result"
}

case_parallel_stages() {
  local ctx
  ctx=$(write_parallel_context)
  build_parallel 4 "$ctx"
  log "--jobs 4: both sleeps took ${SPAN}s from first start to last end"
  assert_eq 1 "$OVERLAP" "the two sleeping stages overlap with --jobs 4"
  awk -v s="$SPAN" 'BEGIN { exit !(s < 5.5) }' ||
    fail "two independent 3 s stages took ${SPAN}s with --jobs 4, expected < 5.5 s"

  build_parallel 1 "$ctx"
  log "--jobs 1: both sleeps took ${SPAN}s from first start to last end"
  assert_eq 0 "$OVERLAP" "the two sleeping stages overlap with --jobs 1"
}

# Start a server on 127.0.0.1 that appends the path of each GET to
# LOG_FILE, so that a RUN step (which shares the host's network) leaves a
# trace, and set MARKER_PORT to its port.
start_marker_server() {
  local log_file="$1" port_file="$TEST_TMP/marker.port"
  /usr/bin/python3 -c '
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()' "$log_file" "$port_file" </dev/null >/dev/null 2>&1 &
  on_exit "kill $!"
  for _ in $(seq 50); do
    [[ -s "$port_file" ]] && break
    sleep 0.1
  done
  [[ -s "$port_file" ]] || fail "the marker server did not start"
  MARKER_PORT=$(cat "$port_file")
}

case_target_skips_stages() {
  local markers="$TEST_TMP/markers" port ctx err
  touch "$markers"
  start_marker_server "$markers"
  port=$MARKER_PORT
  ctx=$(make_context target <<EOF
FROM busybox AS needed
RUN wget -q -O /dev/null http://127.0.0.1:$port/needed-ran && echo needed > /needed.txt

FROM busybox AS unneeded
RUN wget -q -O /dev/null http://127.0.0.1:$port/unneeded-ran; echo UNNEEDED-STAGE-RAN

FROM needed AS app
RUN cat /needed.txt

FROM app AS after
RUN wget -q -O /dev/null http://127.0.0.1:$port/after-ran; echo AFTER-TARGET-RAN
EOF
  )
  cbuild_build --target app "$ctx" >"$TEST_TMP/target.out" 2>"$TEST_TMP/target.err" ||
    fail "--target app failed: $(tail -n 20 "$TEST_TMP/target.err")"
  err=$(cat "$TEST_TMP/target.err")
  assert_contains "$(cat "$markers")" "/needed-ran" "marker of the needed stage"
  assert_not_contains "$(cat "$markers")" "/unneeded-ran" "marker of the skipped stage"
  assert_not_contains "$(cat "$markers")" "/after-ran" "marker of the stage after the target"
  assert_contains "$err" "skipping stage 'unneeded': the target stage 'app' does not depend on it" "skip line"
  assert_contains "$err" "skipping stage 'after'" "skip line of the stage after the target"
  assert_eq 2 "$(grep -c '^skipping stage' <<<"$err")" "number of skip lines"
  assert_contains "$err" "[app 2/2] needed" "RUN output line of the target stage"
  assert_not_contains "$err" "UNNEEDED-STAGE-RAN" "output of the skipped stage"
}

case_compile_then_copy() {
  local ctx dir="$TEST_TMP/compile" config output
  ctx=$(make_context compile <<'EOF'
FROM debian:bookworm-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY hello.c /src/hello.c
RUN gcc -static -O2 -o /hello /src/hello.c

FROM scratch
COPY --from=builder /hello /hello
CMD ["/hello"]
EOF
  )
  cat >"$ctx/hello.c" <<'EOF'
#include <stdio.h>

int
main (void)
{
  puts ("hello from a static binary built by cbuild");
  return 0;
}
EOF
  mkdir -p "$dir"
  log "building the compile-then-copy image (apt-get installs gcc)"
  cbuild_build --push -t "$IMAGE:compiled" "$ctx" >"$dir/out" 2>"$dir/err" ||
    fail "compile-then-copy build failed: $(tail -n 20 "$dir/err")"

  config=$(skopeo inspect --tls-verify=false --config "docker://$IMAGE:compiled") ||
    fail "skopeo inspect --config failed"
  assert_eq 2 "$(jq '.history | length' <<<"$config")" "history entries of the final stage only"
  assert_eq 1 "$(jq '.rootfs.diff_ids | length' <<<"$config")" "layers of the final image"
  assert_not_contains "$(jq -c .history <<<"$config")" "apt-get" "history of the final image"

  unpack_image "$IMAGE:compiled" "$dir"
  assert_eq "hello" "$(ls "$dir/bundle/rootfs")" "files of the FROM scratch image"
  jq '.process.terminal = false' "$dir/bundle/config.json" >"$dir/config.json.new" &&
    mv "$dir/config.json.new" "$dir/bundle/config.json"
  mkdir -p "$E2E_RUNC_ROOT"
  on_exit "runc --root '$E2E_RUNC_ROOT' delete --force 'cbuild-e2e-hello-$$' >/dev/null 2>&1"
  output=$(runc --root "$E2E_RUNC_ROOT" run --bundle "$dir/bundle" "cbuild-e2e-hello-$$" </dev/null 2>&1) ||
    fail "runc run of the compiled image failed: $output"
  assert_eq "hello from a static binary built by cbuild" "$output" "output of the compiled program"
}

case_failure_stops_build() {
  local ctx started elapsed err
  ctx=$(make_context failure <<'EOF'
FROM busybox AS slow
RUN sleep 3
RUN echo SLOW-STAGE-CONTINUED

FROM busybox AS broken
RUN echo about to fail && exit 7

FROM busybox
COPY --from=slow /etc/passwd /slow
COPY --from=broken /etc/passwd /broken
EOF
  )
  started=$SECONDS
  expect_build_failure failure --jobs 4 --push -t "$IMAGE:failed" "$ctx"
  elapsed=$((SECONDS - started))
  assert_contains "$CBUILD_ERROR" "stage 'broken'" "failing stage in the error"
  assert_contains "$CBUILD_ERROR" "Dockerfile:6" "failing line in the error"
  assert_contains "$CBUILD_ERROR" "step 2/2" "failing step in the error"
  assert_contains "$CBUILD_ERROR" "exit code: 7" "exit code in the error"
  err=$(cat "$TEST_TMP/failure.err")
  assert_not_contains "$err" "SLOW-STAGE-CONTINUED" "a step after the failure"
  assert_not_contains "$err" "[slow 3/3]" "the header of a step after the failure"
  assert_not_contains "$err" "[stage-2" "a step of the final stage"
  ((elapsed < 20)) || fail "the failed build took ${elapsed}s"
  assert_not_stored "multistage:failed"
  assert_not_pushed "$IMAGE:failed"
}

# Global ARGs reach every FROM, and a stage gets one only after declaring
# it again. The platform ARGs are global ARGs that need no declaration.
case_args_and_platform() {
  local ctx err expected
  ctx=$(make_context platform <<'EOF'
ARG BASE=busybox
ARG GREETING=hello
FROM --platform=$BUILDPLATFORM ${BASE} AS plat
ARG TARGETARCH
ARG TARGETPLATFORM
ARG BUILDPLATFORM
ARG BUILDOS
ARG GREETING
RUN echo "target=$TARGETPLATFORM arch=$TARGETARCH build=$BUILDPLATFORM os=$BUILDOS undeclared=${TARGETOS:-unset}"
RUN echo "greeting=$GREETING"

FROM plat AS child
RUN echo "child-greeting=${GREETING:-unset} child-arch=${TARGETARCH:-unset}"
EOF
  )
  cbuild_build --build-arg GREETING=hi "$ctx" >"$TEST_TMP/platform.out" 2>"$TEST_TMP/platform.err" ||
    fail "platform ARG build failed: $(tail -n 20 "$TEST_TMP/platform.err")"
  err=$(cat "$TEST_TMP/platform.err")
  expected="target=linux/$ARCH arch=$ARCH build=linux/$ARCH os=linux undeclared=unset"
  assert_contains "$err" "[plat 7/8] $expected" "platform ARGs in RUN"
  assert_contains "$err" "[plat 8/8] greeting=hi" "a global ARG declared again in the stage"
  assert_contains "$err" "[child 2/2] child-greeting=unset child-arch=unset" "ARGs in a stage built on a stage"
}

# ONBUILD triggers of a stage run once in each stage built on it, and
# neither in the stage that declares them nor in later descendants.
case_onbuild_triggers() {
  local ctx err
  ctx=$(make_context onbuild <<'EOF'
FROM busybox AS parent
ONBUILD RUN echo trigger-ran > /trigger.txt
ONBUILD ENV FROM_TRIGGER=1
RUN test ! -e /trigger.txt && echo parent-has-no-trigger

FROM parent AS one
RUN cat /trigger.txt

FROM parent AS two
RUN cat /trigger.txt

FROM one
COPY --from=two /trigger.txt /two.txt
RUN cat /two.txt; echo "env=$FROM_TRIGGER"
EOF
  )
  cbuild_build "$ctx" >"$TEST_TMP/onbuild.out" 2>"$TEST_TMP/onbuild.err" ||
    fail "ONBUILD build failed: $(tail -n 20 "$TEST_TMP/onbuild.err")"
  err=$(cat "$TEST_TMP/onbuild.err")
  assert_contains "$err" "[parent 4/4] parent-has-no-trigger" "the stage that declares the triggers"
  assert_contains "$err" "[one 4/4] trigger-ran" "trigger in stage one"
  assert_contains "$err" "[two 4/4] trigger-ran" "trigger in stage two"
  assert_contains "$err" "[stage-3 3/3] env=1" "trigger ENV in a later descendant"
  assert_eq 2 "$(grep -c '^\[[a-z0-9-]* [0-9]*/[0-9]*\] RUN echo trigger-ran' <<<"$err")" "trigger runs"
}

case_foreign_platform() {
  local foreign=s390x qemu=s390x ctx
  if [[ "$ARCH" == s390x ]]; then
    foreign=amd64
    qemu=x86_64
  fi
  if grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-$qemu"; then
    log "foreign-platform: skipped, qemu-$qemu is registered here"
    return
  fi
  ctx=$(make_context foreign <<EOF
FROM --platform=linux/$foreign busybox
RUN echo never
EOF
  )
  expect_build_failure foreign "$ctx"
  assert_contains "$CBUILD_ERROR" "Dockerfile:1" "foreign platform location"
  assert_contains "$CBUILD_ERROR" "linux/$foreign" "foreign platform name"
  assert_contains "$CBUILD_ERROR" "qemu-user-static" "how to enable emulation"
}

main() {
  case_parallel_stages
  case_target_skips_stages
  case_failure_stops_build
  case_args_and_platform
  case_onbuild_triggers
  case_foreign_platform
  case_compile_then_copy
  log "PASS"
}

main "$@"
