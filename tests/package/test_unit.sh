#!/usr/bin/env bash
# ctest "systemd_unit": systemd/churn-saver.service passes `systemd-analyze verify` and scores at
# most 2.0 ("OK") with `systemd-analyze security --offline=true` (shared/SECURITY.md: 1.2).
#   tests/package/test_unit.sh SOURCE_DIR CHURN_SAVER_BINARY
set -euo pipefail
ROOT=$1
BINARY=$2
UNIT="$ROOT/systemd/churn-saver.service"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (apt install systemd)"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# verify checks that ExecStart= exists: outside an installed package, point it at the build.
sed "s#^ExecStart=/usr/bin/churn-saver#ExecStart=$BINARY#" "$UNIT" >"$WORK/churn-saver.service"
echo "--- systemd-analyze verify"
verify_out=$(systemd-analyze verify --man=no "$WORK/churn-saver.service" 2>&1) || {
  echo "$verify_out"
  echo "FAIL: systemd-analyze verify"
  exit 1
}
if [ -n "$verify_out" ]; then
  echo "$verify_out"
  echo "FAIL: systemd-analyze verify printed warnings"
  exit 1
fi
echo "(clean)"

echo "--- systemd-analyze security --offline=true"
mkdir -p "$WORK/security"
cp "$UNIT" "$WORK/security/"
sec_out=$(cd "$WORK/security" && systemd-analyze security --offline=true --no-pager churn-saver.service 2>&1) || true
echo "$sec_out" | grep -E '^[✗✓] |Overall' | grep -v '^✓' || true
score=$(echo "$sec_out" | sed -n 's/.*Overall exposure level for churn-saver.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "$sec_out"; echo "FAIL: no exposure score"; exit 1; }
echo "exposure score: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "FAIL: score $score is above 2.0"; exit 1; }
(cd "$WORK/security" && systemd-analyze security --offline=true --threshold=20 --no-pager churn-saver.service >/dev/null) ||
  { echo "FAIL: systemd-analyze security --threshold=20 failed"; exit 1; }
echo "PASS"
