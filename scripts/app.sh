#!/usr/bin/env bash
# Set up (if needed) and start the Streamlit app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false "$@"
