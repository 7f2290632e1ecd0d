#!/usr/bin/env bash
# Set-up: create .venv and install everything the app, the index and the tests need.
# Usage: ./setup.sh            (add --browser to also install Chromium for the browser tests,
#                               --services to also install PostgreSQL for the shared-indexing tests)
set -euo pipefail
cd "$(dirname "$0")"
BROWSER=; SERVICES=
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    --services) SERVICES=1 ;;
    *) echo "setup: unknown option $arg (use --browser, --services)" >&2; exit 2 ;;
  esac
done

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

PACKAGES=()
# Debian's Chromium: Playwright's own browser download cannot work offline.
[ -n "$BROWSER" ] && ! command -v chromium >/dev/null 2>&1 && PACKAGES+=(chromium)
# The DejaVu font benchmarks.reformat writes its test PDFs in (Chromium usually brings it along).
[ -n "$BROWSER" ] && [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && PACKAGES+=(fonts-dejavu-core)
# Debian's PostgreSQL server programs (/usr/lib/postgresql/N/bin): the tests start throw-away clusters with them.
[ -n "$SERVICES" ] && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null 2>&1 \
  && PACKAGES+=(postgresql)
if [ "${#PACKAGES[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}"
fi
echo "setup: done. Run the app with .venv/bin/python app.py"
