#!/usr/bin/env bash
# Checks the tools the tests and the local stack need, and says how to get each one that is missing.
# Usage: scripts/check-tools.sh [--help]
set -euo pipefail
if [[ ${1:-} == --help ]]; then
  echo "usage: scripts/check-tools.sh   checks Node.js >= 20 and moto_server (the local AWS emulator)"
  exit 0
fi
missing=0
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  echo "check-tools: Node.js 20 or newer is needed (found $(node --version)): https://nodejs.org" >&2
  missing=1
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "check-tools: moto_server not found. The tests run AWS behaviour against it: pip install 'moto[server]' (Python 3.9+)" >&2
  missing=1
fi
exit $missing
