#!/usr/bin/env bash
# Results files end to end (issue 18): hostile JSON gives a clear error, `kcs merge` refuses
# duplicates and names missing shards, output paths are checked and locked before the sweep,
# SIGTERM keeps what finished and --resume completes it, no temporary file is left behind.
# Usage: results_cli_test.sh <kcs binary>
set -uo pipefail
KCS="$1"
PY=/usr/bin/python3
source "$(dirname "$0")/cli_lib.sh"
runs() { grep -c '"case"' "$1"; }

# Bounded JSON: 100k levels deep (this crashed the parser's recursion before).
$PY -c "print('{\"schema\": 1, \"runs\": ' + '[' * 100000 + ']' * 100000 + ', \"results\": []}')" >"$T/deep.json"
expect "report on a 100k-deep file" 2 "nests JSON deeper than 64 levels" -- \
  "$KCS" report --results "$T/deep.json" --out "$T/deep_rep"
expect "merge of a 100k-deep file" 2 "nests JSON deeper than 64 levels" -- "$KCS" merge "$T/deep.json" --out "$T/deep_m.json"
[ ! -e "$T/deep_m.json" ] && ok "nothing merged from the deep file" || bad "a merged file from an invalid part"
expect "baseline 100k deep" 2 "nests JSON deeper" -- "$KCS" report --results "$T/deep.json" --baseline "$T/deep.json" --out "$T/x"

# Shards, merged soundly.
"$KCS" run --kernel q8 --tier smoke --backend reference -q --results "$T/all.json" >/dev/null
"$KCS" run --kernel q8 --tier smoke --backend reference -q --shard 0/2 --results "$T/s0.json" >/dev/null
"$KCS" run --kernel q8 --tier smoke --backend reference -q --shard 1/2 --results "$T/s1.json" >/dev/null
expect "merge of both shards" 0 "q8 +reference" -- "$KCS" merge "$T/s0.json" "$T/s1.json" --out "$T/m.json"
[ "$(runs "$T/m.json")" -gt 0 ] && ok "merged file has runs" || bad "merged file empty"
expect "merge of one file twice is refused" 2 "is in .*all.json and in .*all.json" -- \
  "$KCS" merge "$T/all.json" "$T/all.json" --out "$T/dup.json"
expect "merge of one shard twice is refused" 2 "shard 0/2 is given twice" -- \
  "$KCS" merge "$T/s0.json" "$T/s0.json" --out "$T/dup.json"
[ ! -e "$T/dup.json" ] && ok "nothing written for duplicates" || bad "duplicates written"
expect "a missing shard is named" 1 "MISSING shard 1/2 is missing" -- "$KCS" merge "$T/s0.json" --out "$T/half.json"
expect "its cases are counted" 1 "MISSING [0-9]+ of [0-9]+ planned cases have no run" -- \
  "$KCS" merge "$T/s0.json" --out "$T/half.json"
echo '{"schema": 1, "runs": [{"kernel": 3}], "results": []}' >"$T/invalid.json"
expect "an invalid part is refused" 2 "lacks the string field 'kernel'" -- \
  "$KCS" merge "$T/s0.json" "$T/invalid.json" --out "$T/inv.json"
[ ! -e "$T/inv.json" ] && ok "nothing written for an invalid part" || bad "merged despite an invalid part"
expect "report refuses duplicates too" 2 "count it twice" -- \
  "$KCS" report --results "$T/all.json" --results "$T/all.json" --out "$T/duprep"

# Output paths: checked before the sweep (nothing runs), and locked.
echo x >"$T/file"
expect "--out under a file is a usage error" 2 "cannot" -- "$KCS" run --kernel q8 --tier smoke -q --out "$T/file/out"
expect "--results under a file is a usage error" 2 "cannot" -- "$KCS" run --kernel q8 --tier smoke -q --results "$T/file/r.json"
if [ "$(id -u)" != 0 ]; then
  mkdir "$T/ro" && chmod 555 "$T/ro"
  expect "read-only --out is a usage error" 2 "cannot write" -- "$KCS" run --kernel q8 --tier smoke -q --out "$T/ro/out"
fi
mkdir -p "$T/busy"
flock "$T/busy/.kcs-run.lock" sleep 3 &
sleep 0.3
expect "a second run into a locked --out is refused" 2 "in use by another kcs run" -- \
  "$KCS" run --kernel q8 --tier smoke -q --out "$T/busy"
[ ! -e "$T/busy/results.jsonl" ] && ok "the refused run wrote nothing" || bad "the refused run wrote results"
wait

# SIGTERM: finished runs are kept, temporary files removed, --resume completes the sweep.
"$KCS" run --tier smoke -q --out "$T/sig" >"$T/sig.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do
  [ -s "$T/sig/results.jsonl" ] && [ "$(wc -l <"$T/sig/results.jsonl")" -ge 3 ] && break
  sleep 0.01
done
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] && ok "SIGTERM: exit 143" || bad "SIGTERM: exit $rc"
grep -q "stopped by signal 15" "$T/sig.log" && ok "SIGTERM: says so" || { bad "SIGTERM: no message"; cat "$T/sig.log"; }
kept=$(runs "$T/sig/results.jsonl")
[ "$kept" -gt 0 ] && ok "SIGTERM: $kept finished runs kept" || bad "SIGTERM: no runs kept"
grep -q '"end"' "$T/sig/results.jsonl" && bad "SIGTERM: file marked complete" || ok "SIGTERM: file marked incomplete"
expect "report of an interrupted file warns" 0 "incomplete" -- "$KCS" report --results "$T/sig/results.jsonl" --out "$T/sigrep"
expect "--resume of another sweep is refused" 2 "different sweep" -- "$KCS" run --tier smoke --kernel q8 -q --resume --out "$T/sig"
expect "--resume completes it" 0 "resuming .*: $kept runs already recorded" -- "$KCS" run --tier smoke -q --resume --out "$T/sig"
"$KCS" run --tier smoke -q --out "$T/whole" >/dev/null
[ "$(runs "$T/sig/results.jsonl")" = "$(runs "$T/whole/results.jsonl")" ] && ok "resumed sweep has every run once" ||
  bad "resumed: $(runs "$T/sig/results.jsonl") runs, whole: $(runs "$T/whole/results.jsonl")"
tail -n +2 "$T/sig/summary.md" >"$T/a.md"
tail -n +2 "$T/whole/summary.md" >"$T/b.md"
sed -i '/^- date:/d; /^- command:/d' "$T/a.md" "$T/b.md"
cmp -s "$T/a.md" "$T/b.md" && ok "resumed report equals an uninterrupted one" || { bad "resumed report differs"; diff "$T/a.md" "$T/b.md" | head; }

# The streaming file is results.jsonl; a results.json of an earlier kcs still reads when named,
# and --resume of a directory holding one continues it.
[ -s "$T/whole/results.jsonl" ] && [ ! -e "$T/whole/results.json" ] && ok "--out writes results.jsonl" ||
  bad "--out did not write results.jsonl alone"
cp "$T/whole/results.jsonl" "$T/old.json"
expect "report reads an old-named results.json" 0 "report: " -- "$KCS" report --results "$T/old.json" --out "$T/oldrep"
mkdir -p "$T/oldsig" && head -n 3 "$T/whole/results.jsonl" >"$T/oldsig/results.json"
expect "--resume continues an old-named results.json" 0 "resuming .*results.json: 2 runs already recorded" -- \
  "$KCS" run --tier smoke -q --resume --out "$T/oldsig"
[ "$(runs "$T/oldsig/results.json")" = "$(runs "$T/whole/results.jsonl")" ] && [ ! -e "$T/oldsig/results.jsonl" ] &&
  ok "resumed old-named file has every run once" || bad "resumed old-named file: $(runs "$T/oldsig/results.json") runs"

leftover=$(find "$T" -name '*.tmp*' | head -5)
[ -z "$leftover" ] && ok "no temporary file left" || bad "temporary files left: $leftover"
echo "$fails failed"
[ "$fails" -eq 0 ]
