#!/usr/bin/env bash
# Set-up: create .venv and install everything the app, the index and the tests need.
# Usage: ./setup.sh            (add --browser to also install Chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' \
  || { echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

# torch first, pinned, so that nothing pulls a multi-GB CUDA build:
# pip takes the CPU wheel where the machine keeps one (find-links); elsewhere set
# TORCH_INDEX_URL to PyTorch's CPU wheel index.
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
else
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[dev]"

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  # Debian's Chromium: Playwright's own browser download cannot work offline.
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium
fi
echo "setup: done. Run the app with .venv/bin/python app.py"
