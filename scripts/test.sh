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
# The Space image check (tests/test_space_image.py: podman builds and runs the image; minutes) runs when
# the image's inputs (Dockerfile, .dockerignore, requirements*.txt, scripts/) differ from those it last
# passed with (scripts/space_image.verified, written by `bash scripts/space_image.sh`). Needs no git
# history. POSTERGENRE_SPACE_IMAGE=1 (or 0) decides by hand.
if [ -z "${POSTERGENRE_SPACE_IMAGE:-}" ]; then
  if bash scripts/space_image.sh verified; then
    export POSTERGENRE_SPACE_IMAGE=0
  else
    echo "[test] the Space image's inputs changed since its last passing check: running it (minutes)"
    export POSTERGENRE_SPACE_IMAGE=1
  fi
fi
if [ "$POSTERGENRE_SPACE_IMAGE" = 1 ]; then bash scripts/space_image.sh tools || true; fi
exec .venv/bin/python -m pytest "$@"
