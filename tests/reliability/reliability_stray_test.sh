#!/usr/bin/env bash
# What a backend leaves behind must not keep a run from ending, and a stop must not wait for it.
# Usage: reliability_stray_test.sh KCS KIND FORK_LIB HANG_LIB
#   fork_child: a plug-in forks a child that sleeps 300 s holding the worker's stderr; `kcs run`
#               piped into another program must end within 30 s, leaving no such process.
#   interrupt:  SIGINT while a plug-in call hangs (timeout 60 s) must end kcs within 5 s with exit
#               130, keeping the runs that finished and recording no fault for the interrupted one.
set -uo pipefail
KCS="$1" KIND="$2" FORK_LIB="$3" HANG_LIB="$4"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [$KIND]: $*"; echo "--- output:"; head -c 20000 "$T/out" 2>/dev/null; exit 1; }
verdicts() { grep -o '"verdict":"[a-z_]*"' "$T/r.json" | sort | uniq -c; }

case "$KIND" in
  fork_child)
    start=$SECONDS
    timeout 60 bash -c 'set -o pipefail; "$1" run --backend-lib "$2" --case "q8.ties.*" --tier ci -q --results "$3" 2>&1 | cat >"$4"' \
      _ "$KCS" "$FORK_LIB" "$T/r.json" "$T/out"
    rc=$?
    [ $rc -ne 124 ] || fail "a piped kcs run did not end within 60 s (a forked child of the plug-in holds the pipe)"
    [ $((SECONDS - start)) -lt 30 ] || fail "a piped kcs run took $((SECONDS - start)) s"
    [ $rc -eq 0 ] || fail "kcs run exited $rc, want 0 (the plug-in's q8 is correct)"
    sleep 0.5
    ! pgrep -f "worker --backend-lib $FORK_LIB" >/dev/null ||
      fail "a process of the plug-in outlived the run: $(pgrep -af "worker --backend-lib $FORK_LIB")"
    ;;
  interrupt)
    "$KCS" run --backend-lib "$HANG_LIB" --case "q8.ties.*" --tier ci -q --timeout 60 --results "$T/r.json" \
      >"$T/out" 2>&1 &
    pid=$!
    # The hang fires at call 20: wait until 19 runs are on disk, then a little into the hang.
    for _ in $(seq 300); do
      [ "$(grep -c '"verdict"' "$T/r.json" 2>/dev/null)" -ge 19 ] && break
      sleep 0.1
    done
    sleep 1
    start=$SECONDS
    kill -INT $pid
    for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -KILL $pid; fail "kcs still running 5 s after SIGINT during a hanging call"; }
    wait $pid
    rc=$?
    [ $rc -eq 130 ] || fail "kcs exited $rc after SIGINT, want 130"
    grep -q "stopped by signal 2 with 19 runs recorded" "$T/out" || fail "no 'stopped by signal 2 with 19 runs recorded' line"
    [ "$(verdicts)" = "$(printf '%7d "verdict":"passed"' 19)" ] || fail "want 19 passes and nothing else, got: $(verdicts)"
    ;;
  *) fail "unknown kind" ;;
esac
echo "$KIND: ok"
