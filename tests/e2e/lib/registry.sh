# shellcheck shell=bash
# Start and stop a throwaway docker-registry (distribution 2.x) on 127.0.0.1.
#
# Each registry has one state directory that contains its config.yml,
# storage/, registry.log, registry.pid and registry.port, so that a later
# process (the ctest cleanup fixture, for example) can stop it from the
# directory alone.

# Print a TCP port on 127.0.0.1 that was free a moment ago. Another process
# can take it before the caller binds it, so registry_start retries.
registry_free_port() {
  /usr/bin/python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Poll URL until it returns one of the HTTP statuses in EXPECTED (a
# space-separated list) or TIMEOUT seconds pass.
registry_wait_url() {
  local url="$1" expected="$2" timeout="$3"
  local deadline=$((SECONDS + timeout)) status
  while ((SECONDS < deadline)); do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    if [[ " $expected " == *" $status "* ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "registry: $url did not return HTTP $expected within ${timeout}s (last status: ${status:-none})" >&2
  return 1
}

# Write DIR/config.yml for a registry on 127.0.0.1:PORT. With HTPASSWD (a
# bcrypt htpasswd file) the registry requires basic authentication.
registry_write_config() {
  local dir="$1" port="$2" htpasswd="${3:-}"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $dir/storage"
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: cbuild-e2e-not-a-secret"
    if [[ -n "$htpasswd" ]]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: cbuild-e2e"
      echo "    path: $htpasswd"
    fi
  } >"$dir/config.yml"
}

# Start one registry attempt on PORT. The registry gets no descriptor of
# ours: a child that keeps ctest's output pipe open makes ctest wait for it.
registry_spawn() {
  local dir="$1" port="$2" htpasswd="$3"
  registry_write_config "$dir" "$port" "$htpasswd"
  setsid docker-registry serve "$dir/config.yml" \
    </dev/null >>"$dir/registry.log" 2>&1 &
  echo "$!" >"$dir/registry.pid"
  echo "$port" >"$dir/registry.port"
}

# Start a registry whose state lives in DIR (created if missing) and wait
# until its /v2/ endpoint responds. Print the port on stdout.
# Usage: registry_start DIR [HTPASSWD_FILE]
registry_start() {
  local dir="$1" htpasswd="${2:-}"
  local attempt port pid ready_status=200
  [[ -n "$htpasswd" ]] && ready_status=401
  mkdir -p "$dir/storage"
  for attempt in 1 2 3; do
    port=$(registry_free_port)
    registry_spawn "$dir" "$port" "$htpasswd"
    pid=$(cat "$dir/registry.pid")
    if registry_wait_url "http://127.0.0.1:$port/v2/" "$ready_status" 30; then
      echo "$port"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    registry_wait_exit "$pid" 10 || true
    echo "registry: attempt $attempt on port $port failed; log:" >&2
    tail -n 20 "$dir/registry.log" >&2 || true
  done
  echo "registry: could not start docker-registry in $dir" >&2
  return 1
}

# Succeed while process PID runs. A zombie counts as exited: the registry
# is not our child once its starting subshell is gone, and the process that
# inherits it may take seconds to reap it.
registry_process_alive() {
  local state
  state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# Wait up to TIMEOUT seconds for process PID to exit.
registry_wait_exit() {
  local pid="$1" timeout="$2"
  local deadline=$((SECONDS + timeout))
  while registry_process_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

# Stop the registry whose state lives in DIR. Does nothing when it is not
# running, so that cleanup code can call it unconditionally.
registry_stop() {
  local dir="$1" pid
  [[ -f "$dir/registry.pid" ]] || return 0
  pid=$(cat "$dir/registry.pid")
  # A stale pid file may name a process that has since been reused, so check
  # that the process really is this registry before signalling it.
  if [[ -r "/proc/$pid/cmdline" ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/config.yml"; then
    kill "$pid" 2>/dev/null || true
    if ! registry_wait_exit "$pid" 10; then
      kill -KILL "$pid" 2>/dev/null || true
      registry_wait_exit "$pid" 5 || true
    fi
  fi
  rm -f "$dir/registry.pid"
}
