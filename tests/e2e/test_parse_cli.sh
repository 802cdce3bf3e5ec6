#!/usr/bin/env bash
# cbuild parse: every Dockerfile in the repository parses, --json gives the
# documented shape, and errors point at the line and column.
source "$(dirname "$0")/lib/common.sh"

count=0
while IFS= read -r -d '' file; do
  "$CBUILD" parse --json -f "$file" >"$TEST_TMP/out.json" 2>"$TEST_TMP/err" ||
    fail "parse --json failed on $file: $(cat "$TEST_TMP/err")"
  python3 - "$TEST_TMP/out.json" "$file" <<'PY' || fail "unexpected JSON shape for $file"
import json, sys
doc = json.load(open(sys.argv[1]))
assert set(doc) == {"directives", "instructions"}, doc.keys()
assert set(doc["directives"]) >= {"syntax", "escape", "check"}
for ins in doc["instructions"]:
    assert set(ins) == {"cmd", "line", "end_line", "flags", "json", "args", "heredocs", "next"}, ins.keys()
    assert ins["cmd"] == ins["cmd"].lower()
    assert ins["line"] <= ins["end_line"]
PY
  "$CBUILD" parse -f "$file" >/dev/null || fail "plain parse failed on $file"
  count=$((count + 1))
done < <(
  find "$CBUILD_SOURCE_DIR/fixtures" "$CBUILD_SOURCE_DIR/tests" -name 'Dockerfile*' -type f -print0
  # The fuzz seeds are real-world Dockerfiles, but for the ones made to fail.
  find "$CBUILD_SOURCE_DIR/tests/fuzz/corpus/dockerfile" -type f ! -name 'errors_*' \
    ! -name 'empty_*' ! -name 'json_forms' -print0
)
((count > 0)) || fail "no Dockerfile found in the repository"

printf 'FROM busybox\nCOPY --chown=1:1 a \\\n  b /dst/\n' >"$TEST_TMP/Dockerfile"
"$CBUILD" parse --json -f "$TEST_TMP/Dockerfile" >"$TEST_TMP/out.json"
got=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["instructions"][1]; print(i["cmd"], i["line"], i["end_line"], i["flags"], i["args"])' "$TEST_TMP/out.json")
assert_eq "copy 2 3 ['--chown=1:1'] ['a', 'b', '/dst/']" "$got" "COPY across a continuation"

printf 'FROM busybox\nRUNN echo hi\n' >"$TEST_TMP/Dockerfile"
status=0
"$CBUILD" parse -f "$TEST_TMP/Dockerfile" >/dev/null 2>"$TEST_TMP/err" || status=$?
((status != 0)) || fail "parse of an unknown instruction succeeded"
assert_contains "$(cat "$TEST_TMP/err")" "Dockerfile:2:1: unknown instruction 'RUNN' (did you mean RUN?)" "parse error"
assert_contains "$(cat "$TEST_TMP/err")" "RUNN echo hi" "parse error source line"
log "ok ($count Dockerfiles)"
