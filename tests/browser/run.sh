#!/usr/bin/env bash
# Runs the browser tests (ctest "browser"). Skips with 77 when Debian's Chromium or the npm
# packages are not installed (`bash packaging/dev.sh test` installs both).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  echo "SKIP: /usr/bin/chromium is missing (apt-get install chromium)"
  exit 77
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
  echo "SKIP: npm packages missing (run: npm ci --prefix tests/browser)"
  exit 77
fi
exec node --test --test-reporter=spec dashboard.test.mjs experiments.test.mjs setup.test.mjs
