#!/usr/bin/env bash
# Browser tests of the web cockpit against a running server (builds nothing).
#
#   DANGJIAN_URL=http://127.0.0.1:8080 DANGJIAN_TOKENS=/path/to/demo-tokens.json tests/web/run.sh
#
# The server is `dangjian demo --seed 42 --today 2026-11-25 --data-dir DIR` (it writes
# DIR/demo-tokens.json). Needs node ≥ 20, Debian's chromium (apt-get install -y chromium
# fonts-noto-cjk) and playwright-core from package-lock.json (installed here when missing).
# DANGJIAN_WEB_TIMEOUT_MS bounds each wait (default 90 s); DANGJIAN_RENDER_BUDGET_MS the first
# render of the cockpit (default 15 s; the goal, 1.5 s, is reported).
# Screenshots and the render measurement go to ${DANGJIAN_SCREENSHOTS:-target/screenshots}.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${DANGJIAN_URL:?set DANGJIAN_URL to the server, e.g. http://127.0.0.1:8080}"
: "${DANGJIAN_TOKENS:?set DANGJIAN_TOKENS to the demo-tokens.json of the demo data dir}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "tests/web: no browser at $CHROMIUM (apt-get install -y chromium fonts-noto-cjk)" >&2
  exit 1
fi
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
export DANGJIAN_SCREENSHOTS="${DANGJIAN_SCREENSHOTS:-target/screenshots}"
mkdir -p "$DANGJIAN_SCREENSHOTS"
exec node --test --test-concurrency=1 tests/web/cockpit.test.mjs
