#!/usr/bin/env bash
# ctest "package": the .deb on this machine, as a creator would use it (issue 5). Builds two
# packages from the built binary (the second with a higher version), then: lintian has no
# errors; dpkg -i installs binary, unit, conffile (0640 root:churn-saver), man page, the system
# user and /var/lib/churn-saver; the unit is enabled and passes systemd-analyze; `version`,
# `serve`, `check` and `backup` work as the service user; an upgrade keeps the edited config and
# the data; remove keeps config and data; purge deletes them.
#   tests/package/test_deb.sh SOURCE_DIR CHURN_SAVER_BINARY
# Needs root (CI runs as root); exits 77 (skipped) otherwise, or when churn-saver is already
# installed here (it is never touched then).
set -euo pipefail
ROOT=$1
BINARY=$2

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root to install packages"; exit 77; fi
for tool in dpkg-deb dpkg-shlibdeps lintian runuser setpriv systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (bash packaging/dev.sh test installs it)"; exit 1; }
done

# One package test at a time on this machine (several checkouts may run ctest).
exec 9>/tmp/churn-saver-package-test.lock
flock 9
if dpkg-query -W -f='${Status}' churn-saver 2>/dev/null | grep -q 'ok installed\|config-files'; then
  echo "SKIP: a churn-saver package is installed on this machine; not touching it"
  exit 77
fi

WORK=$(mktemp -d)
SERVE_PID=""
USER_EXISTED=0
getent passwd churn-saver >/dev/null && USER_EXISTED=1
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  dpkg -P churn-saver >/dev/null 2>&1 || true
  if [ "$USER_EXISTED" = 0 ] && getent passwd churn-saver >/dev/null; then
    deluser --system churn-saver >/dev/null 2>&1 || true
    getent group churn-saver >/dev/null && delgroup --system churn-saver >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { echo; echo "=== $*"; }
fail() { echo "FAIL: $*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# A free-ish port and a tiny HTTP GET over bash's /dev/tcp (no curl needed).
PORT=$((20000 + RANDOM % 30000))
http_status() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  read -r line <&3 || true
  exec 3<&- 3>&-
  echo "$line" | cut -d' ' -f2
}
start_serve() {
  # setpriv execs (runuser would sit between us and serve and eat the SIGTERM).
  setpriv --reuid=churn-saver --regid=churn-saver --init-groups \
    env CHURN_SAVER_LISTEN="127.0.0.1:$PORT" /usr/bin/churn-saver serve >"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 200); do
    [ "$(http_status /readyz 2>/dev/null)" = 200 ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/serve.log"
  fail "serve did not become ready as the service user"
}
stop_serve() {
  kill -TERM "$SERVE_PID"
  local rc=0
  wait "$SERVE_PID" || rc=$?
  SERVE_PID=""
  expect_eq "$rc" 0 "serve's exit status after SIGTERM"
}

step "build two packages"
V1=$(sed -n 's/^project(churn-saver VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
V2="$V1+pkgtest1"
DEB1=$(bash "$ROOT/packaging/build-deb.sh" --binary "$BINARY" --out "$WORK/v1" 2>/dev/null | tail -1)
DEB2=$(bash "$ROOT/packaging/build-deb.sh" --binary "$BINARY" --version "$V2" --out "$WORK/v2" 2>/dev/null | tail -1)
ls -l "$DEB1" "$DEB2"
dpkg --compare-versions "$V2" gt "$V1" || fail "$V2 is not newer than $V1"

step "lintian"
LINTIAN=$(lintian "$DEB1" 2>&1 | grep -v 'running with root privileges' || true)
echo "${LINTIAN:-(no tags)}"
if echo "$LINTIAN" | grep -q '^E: '; then fail "lintian reports errors"; fi

step "install $V1"
dpkg -i "$DEB1"
test -x /usr/bin/churn-saver || fail "no /usr/bin/churn-saver"
test -f /lib/systemd/system/churn-saver.service || fail "no unit"
test -f /usr/share/man/man8/churn-saver.8.gz || fail "no man page"
test -f /usr/share/doc/churn-saver/examples/Caddyfile || fail "no Caddyfile example"
getent passwd churn-saver >/dev/null || fail "no churn-saver user"
expect_eq "$(getent passwd churn-saver | cut -d: -f6)" /var/lib/churn-saver "home of churn-saver"
expect_eq "$(stat -c '%U:%G %a' /etc/churn-saver/churn-saver.conf)" "root:churn-saver 640" "config permissions"
expect_eq "$(stat -c '%U:%G %a' /var/lib/churn-saver)" "churn-saver:churn-saver 750" "state directory"
dpkg-query -W -f='${Conffiles}\n' churn-saver | grep -q '/etc/churn-saver/churn-saver.conf' || fail "config is not a conffile"
test -L /etc/systemd/system/multi-user.target.wants/churn-saver.service || fail "the unit is not enabled"
if [ -d /run/systemd/system ]; then
  systemctl is-active --quiet churn-saver || fail "systemd runs here but the service is not active"
else
  echo "(no systemd running here: enabled, not started)"
fi

step "systemd-analyze on the installed unit"
MAN=no; command -v man >/dev/null && MAN=yes
VERIFY=$(systemd-analyze verify --man=$MAN /lib/systemd/system/churn-saver.service 2>&1) || { echo "$VERIFY"; fail "verify"; }
[ -z "$VERIFY" ] || { echo "$VERIFY"; fail "systemd-analyze verify printed warnings"; }
echo "verify: clean (man=$MAN)"
systemd-analyze security --offline=true --threshold=20 --no-pager /lib/systemd/system/churn-saver.service | tail -1

step "as the service user"
OUT=$(runuser -u churn-saver -- churn-saver version)
echo "$OUT"
case "$OUT" in "churn-saver $V1 "*) ;; *) fail "version prints '$OUT'" ;; esac
start_serve
echo "serving on 127.0.0.1:$PORT as churn-saver"
runuser -u churn-saver -- churn-saver check | tee "$WORK/check.txt"
grep -q ': ok (integrity_check ok, foreign_key_check ok' "$WORK/check.txt" || fail "check"
runuser -u churn-saver -- churn-saver backup /var/lib/churn-saver/manual-backup.db
# root can check too, without taking the files away from the service user
churn-saver check >/dev/null
stop_serve
expect_eq "$(stat -c '%U %a' /var/lib/churn-saver/churn-saver.db)" "churn-saver 600" "database owner"
expect_eq "$(stat -c '%U %a' /var/lib/churn-saver/churn-saver.db.key)" "churn-saver 600" "keyring owner"
start_serve
stop_serve

step "upgrade to $V2 (config edited locally)"
echo "CHURN_SAVER_LOG_LEVEL=debug  # local edit" >>/etc/churn-saver/churn-saver.conf
dpkg -i "$DEB2"
expect_eq "$(dpkg-query -W -f='${Version}' churn-saver)" "$V2" "installed version"
runuser -u churn-saver -- churn-saver version >/dev/null || fail "version after the upgrade"
grep -q 'local edit' /etc/churn-saver/churn-saver.conf || fail "the edited config was replaced"
expect_eq "$(stat -c '%U:%G %a' /etc/churn-saver/churn-saver.conf)" "root:churn-saver 640" "config permissions after upgrade"
test -f /var/lib/churn-saver/churn-saver.db || fail "the database is gone after the upgrade"
start_serve
runuser -u churn-saver -- churn-saver check >/dev/null || fail "check after the upgrade"
stop_serve

step "remove: config and data stay"
dpkg -r churn-saver
test ! -e /usr/bin/churn-saver || fail "binary still there"
test ! -e /lib/systemd/system/churn-saver.service || fail "unit still there"
test -f /etc/churn-saver/churn-saver.conf || fail "config removed"
test -f /var/lib/churn-saver/churn-saver.db || fail "database removed"
test -f /var/lib/churn-saver/churn-saver.db.key || fail "keyring removed"
dpkg-query -W -f='${Status}\n' churn-saver | grep -q 'config-files' || fail "not in config-files state"

step "purge: everything goes"
dpkg -P churn-saver
test ! -e /var/lib/churn-saver || fail "/var/lib/churn-saver still there"
test ! -e /etc/churn-saver || fail "/etc/churn-saver still there"
test ! -e /etc/systemd/system/multi-user.target.wants/churn-saver.service || fail "enable link left"
if dpkg-statoverride --list /etc/churn-saver/churn-saver.conf >/dev/null 2>&1; then fail "statoverride left"; fi
echo
echo "PASS"
