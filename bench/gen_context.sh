#!/usr/bin/env bash
# Write the large build context of the benchmark: 20,000 files of about
# 150 MB in total, the same bytes on every run (a fixed random seed).
#   19,900 small text files, 512 to 4,096 bytes (base64 of random bytes,
#          like source code it compresses to about three quarters)
#      100 binary files of 1 MiB (random bytes, like images or archives)
# in 20 top-level directories of 10 subdirectories each, plus a Dockerfile
# that copies everything and lists the top level.
# Usage: bench/gen_context.sh [DIR]
# DIR must not exist yet; without it the script creates a directory under
# /var/tmp. It prints the directory on stdout.
set -euo pipefail

main() {
  local dir="${1:-}"
  if [[ -z "$dir" ]]; then
    dir=$(mktemp -d /var/tmp/cbuild-bench-context.XXXXXX)
  elif [[ -e "$dir" ]]; then
    echo "gen_context: '$dir' already exists; give a new directory" >&2
    return 1
  else
    mkdir -p "$dir"
  fi

  /usr/bin/python3 - "$dir" <<'EOF'
import base64
import os
import random
import sys

root = sys.argv[1]
rng = random.Random(20000)
TOP_DIRS, SUB_DIRS, FILES_PER_DIR = 20, 10, 100
BIG_FILES, BIG_SIZE = 100, 1 << 20

# Spread the big files evenly over the directory tree.
total = TOP_DIRS * SUB_DIRS * FILES_PER_DIR
big = set(range(0, total, total // BIG_FILES))
index = 0
for top in range(TOP_DIRS):
    for sub in range(SUB_DIRS):
        path = os.path.join(root, "dir%02d" % top, "sub%d" % sub)
        os.makedirs(path)
        for _ in range(FILES_PER_DIR):
            if index in big:
                name, data = "blob%05d.bin" % index, rng.randbytes(BIG_SIZE)
            else:
                size = rng.randint(512, 4096)
                text = base64.b64encode(rng.randbytes(size * 3 // 4 + 3))
                name, data = "file%05d.txt" % index, text[:size]
            with open(os.path.join(path, name), "wb") as f:
                f.write(data)
            index += 1

with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM busybox\nCOPY . /data\nRUN ls /data | wc -l\n")
EOF
  echo "$dir"
}

main "$@"
