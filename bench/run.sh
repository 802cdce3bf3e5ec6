#!/usr/bin/env bash
# Measure cbuild's rebuild times, and with --with-peers those of Docker's
# BuildKit and buildah on the same contexts. Runs as root on Debian 12.
#
# The script starts a docker-registry on 127.0.0.1 and pushes the Debian
# and busybox base images into it, made as the end-to-end tests make them.
# It builds cbuild with scripts/build.sh release. Then it times with
# hyperfine:
#   flask-noop      rebuild of fixtures/flask-app with nothing changed
#   flask-change    rebuild after appending a comment line to app.py
#   ctx20k-noop     the same for a generated 20,000-file, 150 MB context
#   ctx20k-change   (bench/gen_context.sh) that is copied into busybox
# It times the no-op rebuilds again with bench/paired.py, which runs the
# builders in interleaved rounds (flask-noop-paired, ctx20k-noop-paired).
# For cbuild alone it times the parts of a no-op rebuild of the large
# context:
#   ctx20k-noop-cold-record  cbuild with its file digest record deleted
#                            before each run, so that it reads every file
#   stat-walk / sha256-all   find printing every file's inode, size and
#                            times, and sha256sum of every file: the cost
#                            of a warm and of a cold record with no builder
#   runc-true                runc running /bin/true in busybox: the cost of
#                            starting one container
# Every builder builds each context once before it is timed, and that
# first build is timed once and reported too. Results go to
# bench/results/DATE.json (every run's time) and DATE.md (the summary).
#
# Usage: bench/run.sh [--with-peers] [--cbuild PATH] [--runs N]
#                     [--slow-runs N] [--keep]
#   --with-peers   also install (apt-get) and measure docker.io and buildah
#   --cbuild PATH  time this cbuild binary instead of building build/cbuild
#   --runs N       timed runs of each fast scenario (default 10); the
#                  paired rounds are 2N
#   --slow-runs N  timed runs of ctx20k-change and the cold record (default 5)
#   --keep         keep the work directory under /var/tmp
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
source "$ROOT/tests/e2e/lib/registry.sh"
source "$ROOT/tests/e2e/lib/base_images.sh"
source "$BENCH_DIR/peers.sh"

WITH_PEERS=0
CBUILD_BIN=""
RUNS=10
SLOW_RUNS=5
KEEP=0
WORK=""
DOCKERD_PID=""
BUILDERS=(cbuild)

usage() {
  sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

parse_args() {
  while (($# > 0)); do
    case "$1" in
      --with-peers) WITH_PEERS=1 ;;
      --cbuild) CBUILD_BIN="${2:?--cbuild needs a path}"; shift ;;
      --runs) RUNS="${2:?--runs needs a number}"; shift ;;
      --slow-runs) SLOW_RUNS="${2:?--slow-runs needs a number}"; shift ;;
      --keep) KEEP=1 ;;
      -h | --help) usage; exit 0 ;;
      *) echo "bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
  done
}

cleanup() {
  [[ -n "$WORK" ]] || return 0
  # Clean up as much as possible even when one step fails.
  set +e
  docker_stop
  registry_stop "$WORK/registry"
  peers_unmount_leftovers
  if ((KEEP)); then
    echo "bench: kept $WORK"
  else
    rm -rf "$WORK"
  fi
}

install_hyperfine() {
  command -v hyperfine >/dev/null && return 0
  echo "bench: installing hyperfine" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    hyperfine >"$WORK/apt-hyperfine.log" 2>&1
}

build_cbuild() {
  if [[ -n "$CBUILD_BIN" ]]; then
    CBUILD=$(realpath "$CBUILD_BIN")
  else
    bash "$ROOT/scripts/build.sh" release >"$WORK/build.log" 2>&1 || {
      tail -n 30 "$WORK/build.log" >&2
      return 1
    }
    CBUILD="$ROOT/build/cbuild"
  fi
  export CBUILD
}

cbuild_command() {
  local context="$1" tag="$2"
  printf '%s build --root %s --registry-mirror %s --insecure-registry %s -t %s %s' \
    "$CBUILD" "$WORK/cbuild-root" "$REGISTRY" "$REGISTRY" "$tag" "$context"
}

# Print the command line with which BUILDER builds CONTEXT as TAG.
builder_command() {
  local builder="$1" context="$2" tag="$3"
  case "$builder" in
    cbuild) cbuild_command "$context" "$tag" ;;
    docker) docker_command "$context" "$tag" ;;
    buildah) buildah_command "$context" "$tag" ;;
  esac
}

# Start the peers and give them the base images. A peer that cannot start
# is reported and left out, and the benchmark goes on without it.
setup_peers() {
  peers_install
  if docker_start "$REGISTRY" && docker_load_image "$REGISTRY" debian:bookworm-slim &&
    docker_load_image "$REGISTRY" busybox:latest; then
    BUILDERS+=(docker)
  else
    record_failure setup docker "dockerd" "$WORK/dockerd.log"
  fi
  buildah_configure "$REGISTRY"
  BUILDERS+=(buildah)
}

# Append a failed step to the results, with the last lines of LOG as the
# reason.
record_failure() {
  local scenario="$1" builder="$2" command="$3" log="$4"
  echo "bench: $scenario: $builder failed:" >&2
  tail -n 10 "$log" >&2
  jq -nc --arg s "$scenario" --arg b "$builder" --arg c "$command" \
    --arg e "$(tail -n 10 "$log")" \
    '{scenario: $s, builder: $b, command: $c, error: $e}' >>"$ENTRIES"
}

# Build CONTEXT once with each builder, timing it, before anything is
# measured. A builder whose first build fails is left out of the rest.
first_builds() {
  local name="$1" context="$2" builder command start seconds ok=()
  for builder in "${BUILDERS[@]}"; do
    command=$(builder_command "$builder" "$context" "bench-$name")
    echo "bench: $name-first-build: $builder" >&2
    start=$(date +%s.%N)
    if bash -c "$command" >"$WORK/first-$name-$builder.log" 2>&1; then
      seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
      jq -nc --arg s "$name-first-build" --arg b "$builder" --arg c "$command" \
        --argjson t "$seconds" \
        '{scenario: $s, builder: $b, command: $c, runs: 1, median: $t, mean: $t,
          stddev: null, min: $t, max: $t, times: [$t]}' >>"$ENTRIES"
      ok+=("$builder")
    else
      record_failure "$name-first-build" "$builder" "$command" "$WORK/first-$name-$builder.log"
    fi
  done
  BUILDERS=("${ok[@]}")
}

# Time COMMAND with hyperfine after one untimed warm-up run. PREPARE, when
# not empty, runs untimed before each run.
measure() {
  local scenario="$1" builder="$2" runs="$3" prepare="$4" command="$5"
  local out="$WORK/hyperfine-$scenario-$builder.json" args load
  args=(--style basic --warmup 1 --runs "$runs" --export-json "$out"
    --command-name "$builder")
  [[ -n "$prepare" ]] && args+=(--prepare "$prepare")
  echo "bench: $scenario: $builder" >&2
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ! hyperfine "${args[@]}" "$command" >&2; then
    # hyperfine does not show the command's output, so run it once more.
    bash -c "$command" >"$WORK/failed-$scenario-$builder.log" 2>&1 || true
    record_failure "$scenario" "$builder" "$command" "$WORK/failed-$scenario-$builder.log"
    return 0
  fi
  # hyperfine stores the --command-name as the command, so add the real one.
  jq -c --arg s "$scenario" --arg b "$builder" --arg c "$command" --arg p "$prepare" \
    --arg l0 "$load" --arg l1 "$(cut -d' ' -f1 /proc/loadavg)" \
    '.results[0] | {scenario: $s, builder: $b, command: $c, prepare: $p,
      runs: (.times | length), median, mean, stddev, min, max, times,
      loadavg_before: ($l0 | tonumber), loadavg_after: ($l1 | tonumber)}' \
    "$out" >>"$ENTRIES"
}

# Build once more, untimed, and record what the builder reports about its
# cache, to show that a no-op rebuild reran no step.
record_cache_use() {
  local scenario="$1" builder="$2" command="$3" log report
  log="$WORK/check-$scenario-$builder.log"
  bash -c "$command" >"$log" 2>&1 || true
  case "$builder" in
    cbuild) report=$(grep -m 1 '^built in' "$log" || echo "no summary line") ;;
    docker) report="$(grep -c ' CACHED$' "$log" || true) steps CACHED" ;;
    buildah) report="$(grep -c 'Using cache' "$log" || true) steps 'Using cache'" ;;
  esac
  jq -nc --arg s "$scenario" --arg b "$builder" --arg r "$report" \
    '{scenario: $s, builder: $b, cache_report: $r}' >>"$CHECKS"
}

# Time a no-op rebuild and a one-file-change rebuild of CONTEXT with every
# builder. FILE is the file (relative to CONTEXT) that gets a comment line.
measure_context() {
  local name="$1" context="$2" file="$3" change_runs="$4" builder command prepare
  prepare="printf '# bench %s\\n' \"\$(date +%s%N)\" >>$context/$file"
  for builder in "${BUILDERS[@]}"; do
    command=$(builder_command "$builder" "$context" "bench-$name")
    measure "$name-noop" "$builder" "$RUNS" "" "$command"
    record_cache_use "$name-noop" "$builder" "$command"
  done
  for builder in "${BUILDERS[@]}"; do
    command=$(builder_command "$builder" "$context" "bench-$name")
    measure "$name-change" "$builder" "$change_runs" "$prepare" "$command"
  done
}

# Time the no-op rebuild of CONTEXT again with bench/paired.py, which runs
# the builders in interleaved rounds, so that a change of load on a shared
# machine hits them alike. The arguments after CONTEXT name the builders
# to time, and the first one is the reference for the ratios.
measure_paired() {
  local name="$1" context="$2" builder specs=() out
  shift 2
  out="$WORK/paired-$name.json"
  for builder in "$@"; do
    specs+=("$builder=$(builder_command "$builder" "$context" "bench-$name")")
  done
  echo "bench: $name-noop-paired: $*" >&2
  if python3 "$BENCH_DIR/paired.py" --rounds "$((RUNS * 2))" "${specs[@]}" \
    >"$out" 2>"$WORK/paired-$name.err"; then
    jq -c --arg s "$name-noop-paired" '.[] | {scenario: $s} + .' "$out" >>"$ENTRIES"
  else
    record_failure "$name-noop-paired" "$*" "bench/paired.py ${specs[*]}" "$WORK/paired-$name.err"
  fi
}

# Write an OCI bundle that runs /bin/true in the busybox root file system,
# in new pid, ipc, uts and mount namespaces as cbuild's RUN containers.
make_true_bundle() {
  local dir="$1"
  mkdir -p "$dir/rootfs"
  tar -C "$dir/rootfs" -xf "$(base_busybox_rootfs_tar)"
  (cd "$dir" && runc spec)
  jq '.process.terminal = false | .process.args = ["/bin/true"]
      | .linux.namespaces |= map(select(.type != "network" and .type != "cgroup"))' \
    "$dir/config.json" >"$dir/config.json.tmp"
  mv "$dir/config.json.tmp" "$dir/config.json"
}

# Time the parts of cbuild's no-op rebuild of the large context: the same
# rebuild with a cold digest record, and three baselines with no builder.
# The warm-record no-op itself is ctx20k-noop.
measure_parts() {
  local context="$1" command
  command=$(cbuild_command "$context" bench-ctx20k)
  measure ctx20k-noop-cold-record cbuild "$SLOW_RUNS" \
    "rm -rf $WORK/cbuild-root/cache/context-digests" "$command"
  measure stat-walk find "$RUNS" "" \
    "find $context -printf '%i %s %T@ %C@\\n' >/dev/null"
  measure sha256-all sha256sum "$SLOW_RUNS" "" \
    "find $context -type f -print0 | xargs -0 sha256sum >/dev/null"
  make_true_bundle "$WORK/true-bundle"
  measure runc-true runc "$RUNS" "" \
    "runc --root $WORK/true-state run --bundle $WORK/true-bundle bench-true"
}

# Print the versions of the tools that took part, as a JSON object.
versions_json() {
  local docker_server=""
  if [[ -n "${DOCKERD_PID:-}" ]]; then
    docker_server=$(/usr/bin/docker -H "unix://$DOCKER_SOCK" version \
      -f '{{.Server.Version}} (containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}})' 2>/dev/null || true)
  fi
  local built_here=true
  [[ -n "$CBUILD_BIN" ]] && built_here=false
  jq -n --arg cbuild "$("$CBUILD" --version)" --arg binary "$CBUILD" \
    --argjson built_here "$built_here" \
    --argjson source "$SOURCE_STATE" \
    --arg hyperfine "$(hyperfine --version)" \
    --arg runc "$(runc --version | head -n 1)" \
    --arg docker "$docker_server" \
    --arg buildah "$(command -v buildah >/dev/null && buildah --version || true)" \
    '{cbuild: $cbuild, cbuild_binary: $binary,
      cbuild_built_by_this_script: $built_here, source_at_start: $source,
      hyperfine: $hyperfine,
      runc: $runc, docker: $docker, buildah: $buildah}'
}

# Print the commit of the source tree and how many files outside bench/
# differ from it, as a JSON object. Taken at the start, because others may
# commit while the benchmark runs.
source_state_json() {
  local changes
  changes=$(git -C "$ROOT" status --porcelain -- . ':!bench')
  jq -n --arg commit "$(git -C "$ROOT" rev-parse HEAD)" \
    --arg modified "$(printf "%s" "$changes" | grep -vc "^??" || true)" \
    --arg untracked "$(printf "%s" "$changes" | grep -c "^??" || true)" \
    '{commit: $commit, modified_files: ($modified | tonumber),
      untracked_files: ($untracked | tonumber)}'
}

machine_json() {
  jq -n --arg nproc "$(nproc)" \
    --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)" \
    --arg kernel "$(uname -r)" \
    --arg mem "$(free -g | awk '/^Mem:/ { print $2 " GiB" }')" \
    --arg fs "$(findmnt -n -o FSTYPE -T /var/tmp)" \
    '{nproc: ($nproc | tonumber), cpu: $cpu, kernel: $kernel, memory: $mem,
      var_tmp_filesystem: $fs}'
}

# Print the summary table: each scenario's median, spread and how many
# times slower than cbuild each other builder is.
summary() {
  local results="$1"
  echo "| scenario | builder | runs | median s | min-max s | stddev s | median / cbuild's |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  jq -r '
    .entries as $all
    | def ref($s): [$all[] | select(.scenario == $s and .builder == "cbuild" and .median)][0].median;
      def f: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
      $all[]
      | if .error then "| \(.scenario) | \(.builder) | - | failed | | | |"
        else "| \(.scenario) | \(.builder) | \(.runs) | \(.median | f) | \(.min | f)-\(.max | f) | \(.stddev | f) | "
             + (if .builder == "cbuild" or ref(.scenario) == null then "" else ((.median / ref(.scenario)) * 100 | round / 100 | tostring) + "x" end) + " |"
        end' "$results"
  echo
  jq -r '.cache_checks[] | "cache check, \(.scenario), \(.builder): \(.cache_report)"' "$results"
  jq -r '
    def x: (. * 100 | round / 100 | tostring) + "x";
    .entries[] | select(.ratio_to_cbuild)
    | "paired rounds, \(.scenario), \(.builder) / cbuild: median \(.ratio_to_cbuild.median | x)"
      + " (min \(.ratio_to_cbuild.min | x), max \(.ratio_to_cbuild.max | x))"' "$results"
  jq -r '
    def x: (. * 100 | round / 100 | tostring) + "x";
    def verdict: if . >= 5 then "met" else "NOT met" end;
    ([.entries[] | select(.scenario == "flask-noop" and .median)]) as $noop
    | ($noop | map(select(.builder == "cbuild"))[0].median) as $c
    | ($noop | map(select(.builder == "docker"))[0].median) as $d
    | ([.entries[] | select(.scenario == "flask-noop-paired" and .builder == "docker")][0]
       .ratio_to_cbuild.median) as $p
    | if $c and $d then
        "target (cbuild no-op rebuild of flask-app at least 5x faster than BuildKit):"
        + " hyperfine medians \($d / $c | x), \($d / $c | verdict)"
        + (if $p then "; paired rounds \($p | x), \($p | verdict)" else "" end)
      else "target: not measured (BuildKit did not run)" end' "$results"
}

main() {
  local date results context20k machine versions builder fast_builders=()
  parse_args "$@"
  ((EUID == 0)) || { echo "bench: run as root (apt-get, mounts, runc)" >&2; exit 1; }
  WORK=$(mktemp -d /var/tmp/cbuild-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ENTRIES="$WORK/entries.jsonl"
  CHECKS="$WORK/checks.jsonl"
  : >"$ENTRIES"
  : >"$CHECKS"
  export DOCKER_CONFIG="$WORK/docker-config"
  mkdir -p "$DOCKER_CONFIG"
  date=$(date -u +%Y-%m-%d-%H%M)
  echo "bench: work directory $WORK" >&2

  SOURCE_STATE=$(source_state_json)
  install_hyperfine
  build_cbuild
  REGISTRY="127.0.0.1:$(registry_start "$WORK/registry")"
  base_images_publish "$REGISTRY" "$WORK/base"
  if ((WITH_PEERS)); then
    setup_peers
  fi

  # Taken before measuring, so that a failure here costs no measurement.
  machine=$(machine_json)
  versions=$(versions_json)

  cp -a "$ROOT/fixtures/flask-app" "$WORK/flask-app"
  context20k=$(bash "$BENCH_DIR/gen_context.sh" "$WORK/ctx20k")

  first_builds flask "$WORK/flask-app"
  first_builds ctx20k "$context20k"
  measure_context flask "$WORK/flask-app" app.py "$RUNS"
  measure_context ctx20k "$context20k" dir00/sub0/file00001.txt "$SLOW_RUNS"
  # buildah's no-op rebuild of the large context takes seconds, not
  # milliseconds, so pairing would only make the run longer.
  measure_paired flask "$WORK/flask-app" "${BUILDERS[@]}"
  for builder in "${BUILDERS[@]}"; do
    [[ "$builder" == buildah ]] || fast_builders+=("$builder")
  done
  measure_paired ctx20k "$context20k" "${fast_builders[@]}"
  measure_parts "$context20k"

  mkdir -p "$BENCH_DIR/results"
  results="$BENCH_DIR/results/$date.json"
  jq -n --arg date "$date" --argjson machine "$machine" \
    --argjson versions "$versions" \
    --slurpfile entries "$ENTRIES" --slurpfile checks "$CHECKS" \
    '{date: $date, machine: $machine, versions: $versions,
      entries: $entries, cache_checks: $checks}' >"$results"
  summary "$results" | tee "$BENCH_DIR/results/$date.md"
  echo "bench: wrote $results" >&2
}

main "$@"
