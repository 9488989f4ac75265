#!/usr/bin/env bash
# The README's two commands, for a fresh Debian 12 machine as root:
#   bash packaging/dev.sh run    install what is missing, build, start `churn-saver serve`
#   bash packaging/dev.sh test   install what is missing, build, run the whole test suite
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
    install_missing "${APT_PACKAGES[@]}"
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure --timeout 900 -j"$(nproc)"
    ;;
  *)
    echo "usage: bash packaging/dev.sh run|test" >&2
    exit 2
    ;;
esac
