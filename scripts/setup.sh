#!/usr/bin/env bash
# Idempotent set-up: .venv/ in the project root with the pinned requirements and this package.
# Re-runs only the steps whose inputs changed (requirements.txt / pyproject.toml), so it is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.postergenre-installed
want=$(cat requirements.txt pyproject.toml | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements into .venv (first time: a few minutes and a few GB; torch is large)"
  log=.venv/install.log
  : >"$log"
  # progress: one line per package as pip reaches it (the full output goes to the log)
  progress() { tee -a "$log" | grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed)' |
               sed -u -e 's/^Collecting /[setup]   getting /' -e 's/^Installing collected packages: .*/[setup]   installing.../' \
                      -e 's/^Successfully installed .*/[setup]   done/' || true; }
  if ! { .venv/bin/python -m pip install -q --upgrade pip &&
         .venv/bin/python -m pip install --progress-bar off -r requirements.txt &&
         .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . ; } 2>&1 | progress; then
    tail -n 40 "$log"; echo "[setup] pip install failed; full log in $log"; exit 1
  fi
  echo "$want" > "$stamp"
fi
# export/cache the ONNX backbone once, so the first app start or prediction is fast (no-op when cached)
.venv/bin/python -c "import postergenre; postergenre.load(device='cpu')" >/dev/null 2>&1 || \
  echo "[setup] note: the model could not be loaded yet (weights/ missing?); postergenre will say why"
