#!/usr/bin/env bash
# Set up (if needed, including Debian's chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[test] installing Debian chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null
  else
    echo "[test] /usr/bin/chromium missing and not root: run 'sudo apt-get install chromium'; browser tests will skip"
  fi
fi
# The whole suite is what CI runs (.ci/run execs this script), so it is as strict as CI whoever runs it:
# with CI=true a model that does not load fails the suite instead of skipping it (tests/conftest.py).
export CI="${CI:-true}"
exec .venv/bin/python -m pytest "$@"
