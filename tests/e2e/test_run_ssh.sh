#!/usr/bin/env bash
# RUN --mount=type=ssh with --ssh, as BuildKit forwards an agent: the
# socket appears at /run/buildkit/ssh_agent.N (or target=), SSH_AUTH_SOCK
# names the first one, an agent that is not required and not forwarded is
# left out, and nothing of the mount reaches the image. A listening python3
# unix socket replaces ssh-agent, because the test checks only that the
# socket is there (busybox has no client for the agent protocol).
source "$(dirname "$0")/lib/common.sh"

agent="$TEST_TMP/agent.sock"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
time.sleep(600)' "$agent" &
agent_pid=$!
trap 'kill "$agent_pid" 2>/dev/null; e2e_cleanup' EXIT
for _ in $(seq 50); do
  [[ -S "$agent" ]] && break
  sleep 0.1
done

agent_mode=$(stat -c '%a' "$agent")
ctx="$TEST_TMP/ctx"
mkdir -p "$ctx"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" >/sock-default
RUN --mount=type=ssh,id=deploy,target=/tmp/agent --mount=type=ssh \
    test -S /tmp/agent && test -S /run/buildkit/ssh_agent.1 && echo "$SSH_AUTH_SOCK" >/sock-first
RUN --mount=type=ssh,id=absent test -z "$SSH_AUTH_SOCK" && echo skipped >/optional
RUN --mount=type=ssh chmod 777 "$SSH_AUTH_SOCK" || echo refused >/chmod
DOCKERFILE

ref="$REGISTRY/e2e/run-ssh:1"
cbuild_build --push -t "$ref" --ssh "default=$agent" --ssh "deploy=$agent" "$ctx" \
  >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "build failed: $(tail -n 30 "$TEST_TMP/err")"
skopeo copy --src-tls-verify=false "docker://$ref" "oci:$TEST_TMP/layout:img" >/dev/null ||
  fail "skopeo copy failed"
umoci unpack --image "$TEST_TMP/layout:img" "$TEST_TMP/bundle" >/dev/null || fail "umoci unpack failed"
rootfs="$TEST_TMP/bundle/rootfs"

assert_eq "/run/buildkit/ssh_agent.0" "$(cat "$rootfs/sock-default")" "SSH_AUTH_SOCK of the default agent"
assert_eq "/tmp/agent" "$(cat "$rootfs/sock-first")" "SSH_AUTH_SOCK names the first ssh mount"
assert_eq "skipped" "$(cat "$rootfs/optional")" "agent neither forwarded nor required"
assert_eq "refused" "$(cat "$rootfs/chmod")" "chmod of the agent socket inside RUN"
assert_eq "$agent_mode" "$(stat -c '%a' "$agent")" "mode of the host's agent socket after the build"
assert_missing "$rootfs/run/buildkit" "agent socket directory"
assert_missing "$rootfs/tmp/agent" "agent socket at an explicit target"

printf 'FROM busybox\nRUN --mount=type=ssh,required=true true\n' >"$ctx/Dockerfile.required"
expect_build_failure required_agent -f "$ctx/Dockerfile.required" "$ctx"
assert_contains "$CBUILD_ERROR" "SSH agent 'default' is required but was not forwarded" "required agent"
assert_contains "$CBUILD_ERROR" "Dockerfile.required:2" "location of the missing agent"

echo "not a socket" >"$TEST_TMP/id_rsa"
expect_build_failure key_file --ssh "default=$TEST_TMP/id_rsa" "$ctx"
assert_contains "$CBUILD_ERROR" "is not a socket" "--ssh with a key file"
log "ok"
