#!/usr/bin/env bash
# The README's two commands, for a fresh Debian 12 machine as root:
#   bash packaging/dev.sh run    install what is missing, build, start `churn-saver serve`
#   bash packaging/dev.sh test   install what is missing, build, run the whole test suite
#   bash packaging/dev.sh deb    install what is missing, build the release .deb into dist/
#   bash packaging/dev.sh sanitize   the whole suite under ASan+UBSan
#   bash packaging/dev.sh tsan       the concurrency tests under ThreadSanitizer
#   bash packaging/dev.sh fuzz [SECONDS]   each libFuzzer target for SECONDS (default 60)
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
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCS_WERROR=ON >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
}

# A sanitizer build into $BUILD_DIR: build_sanitized SANITIZERS [cmake --build args...]
build_sanitized() {
  local san=$1
  shift
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCS_WERROR=ON -DCS_SANITIZE="$san" >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
}

# The concurrency tests run under ThreadSanitizer (doctest -tc filter).
TSAN_TESTS='*writer*,*lease*,*runner*,*scheduler*,*concurren*,*parallel*'

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
  sanitize)
    # The whole suite in an AddressSanitizer + UBSan build (build-asan/). Any report fails the run.
    install_missing "${APT_PACKAGES[@]}" "${TEST_APT_PACKAGES[@]}"
    install_browser_test_deps
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    BUILD_DIR=${ASAN_BUILD_DIR:-build-asan} build_sanitized address,undefined
    # Not `package`: it installs the .deb of this binary with dpkg and lints it, which the plain
    # suite does for the real binary; under ASan it was the longest group (126-359 s).
    (cd "${ASAN_BUILD_DIR:-build-asan}" &&
      ctest --output-on-failure --timeout 1200 -j"$(nproc)" -E '^package$')
    ;;
  tsan)
    # The concurrency tests under ThreadSanitizer (build-tsan/).
    install_missing "${APT_PACKAGES[@]}"
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
    BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan} build_sanitized thread --target test_store test_http
    (cd "${TSAN_BUILD_DIR:-build-tsan}" && ./test_store && ./test_http -tc="$TSAN_TESTS")
    ;;
  fuzz)
    # libFuzzer targets (tests/fuzz) under ASan + UBSan, built with clang into build-fuzz/; each
    # runs SECONDS (default 60) from its seed corpus. A finding stops the run and is kept in
    # build-fuzz/findings/<target>/: add it to tests/fuzz/corpus/<target>/ as a regression input.
    secs=${1:-60}
    install_missing "${APT_PACKAGES[@]}" clang libclang-rt-14-dev
    fdir=${FUZZ_BUILD_DIR:-build-fuzz}
    CC=clang CXX=clang++ cmake -S . -B "$fdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCS_FUZZ=ON \
      >/dev/null
    targets=$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')
    # shellcheck disable=SC2086
    cmake --build "$fdir" -j"$(nproc)" --target $targets
    summary=""
    for t in $targets; do
      mkdir -p "$fdir/corpus/$t" "$fdir/findings/$t"
      log="$fdir/$t.log"
      rc=0
      "$fdir/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$fdir/findings/$t/" "$fdir/corpus/$t" "tests/fuzz/corpus/$t" \
        >"$log" 2>&1 || rc=$?
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
      findings=$(find "$fdir/findings/$t" -type f | wc -l)
      summary+=$(printf '%-18s %12s execs  %s findings  exit %s' "$t" "${execs:-?}" "$findings" "$rc")$'\n'
    done
    printf '\n%s' "$summary"
    ! grep -q 'exit [1-9]' <<<"$summary"
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
