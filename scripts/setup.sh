#!/usr/bin/env bash
# One-time set-up: Node dependencies, the compiled CLI, and the Python venv for nas_system.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PIP_RETRIES:=0}"; export PIP_RETRIES
npm ci --no-audit --no-fund
npm run build
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --disable-pip-version-check -r nas_system/requirements.txt
echo "set-up done: try 'npx nas-graph demo' (a whole search on the CPU in minutes) or 'npx nas-graph --help'"
