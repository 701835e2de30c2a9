#!/usr/bin/env bash
# Checks the tools the tests and the local stack need, and says how to get each one that is missing.
# Usage: scripts/delivery/check-tools.sh [--help]
set -euo pipefail
if [[ ${1:-} == --help ]]; then
  echo "usage: scripts/delivery/check-tools.sh   checks Node.js >= 20, moto_server (the local AWS emulator), the aws CLI and cfn-lint"
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
if ! command -v aws >/dev/null 2>&1; then
  echo "check-tools: the aws CLI is not installed. The deploy script and the local stack use it: pip install awscli (v1) or https://aws.amazon.com/cli/ (v2)" >&2
  missing=1
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "check-tools: cfn-lint not found. The tests lint every template with it: pip install cfn-lint" >&2
  missing=1
fi
exit $missing
