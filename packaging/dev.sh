#!/usr/bin/env bash
# The README's two commands, for a fresh Debian 12 machine as root:
#   bash packaging/dev.sh run    install what is missing, build, start `churn-saver serve`
#   bash packaging/dev.sh test   install what is missing, build, run the whole test suite
#   bash packaging/dev.sh deb    install what is missing, build the release .deb into dist/
# Extra arguments after `run` go to `churn-saver serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
# Build and runtime dependencies, all from Debian 12.
APT_PACKAGES=(
  build-essential cmake pkg-config clang-format
  libcpp-httplib-dev libsqlitecpp-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libssl-dev
  doctest-dev libkainjow-mustache-dev libcli11-dev libsystemd-dev
)

# What only the tests need: Debian's Chromium for the browser tests (tests/browser).
TEST_APT_PACKAGES=(chromium)
# ... and what the operations tests need (issue 5): the .deb build and install test (dpkg-dev,
# lintian, adduser, man-db), `promtool check metrics` (prometheus), `systemd-analyze` (systemd).
TEST_APT_PACKAGES+=(dpkg-dev lintian adduser man-db prometheus systemd)

# The browser tests' npm packages (playwright-core, axe-core), pinned by package-lock.json.
install_browser_test_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    install_missing nodejs npm
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ] ||
     [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
  fi
}

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() {
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  run)
    install_missing "${APT_PACKAGES[@]}"
    build --target churn-saver
    exec "$BUILD_DIR/churn-saver" serve "$@"
    ;;
  test)
    install_missing "${APT_PACKAGES[@]}" "${TEST_APT_PACKAGES[@]}"
    install_browser_test_deps
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure --timeout 900 -j"$(nproc)"
    ;;
  deb)
    # The hardened release package: dist/churn-saver_<version>_<arch>.deb
    install_missing "${APT_PACKAGES[@]}" dpkg-dev
    exec bash packaging/build-deb.sh "$@"
    ;;
  *)
    echo "usage: bash packaging/dev.sh run|test|deb" >&2
    exit 2
    ;;
esac
