# Shared by the command-line shell tests (source it after setting KCS): a scratch dir $T removed on
# exit, ok/bad counting into $fails, and expect <name> <wanted rc> <regex> -- command...
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() {
  local name="$1" want="$2" pattern="$3"
  shift 4
  local out rc
  out="$(timeout 300 "$@" 2>&1)"  # a hang fails the check instead of the whole ctest
  rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want"; echo "$out" | tail -20; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$out"; then
    bad "$name: output lacks /$pattern/"
    echo "$out" | tail -20
    return
  fi
  ok "$name"
}
