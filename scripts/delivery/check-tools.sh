#!/usr/bin/env bash
# Checks the tools the tests and the local stack need, and says how to get each one that is missing. Chromium (the
# console's browser tests) is installed from Debian's packages where it is missing and that is possible (root or
# passwordless sudo, apt-get).
# Usage: scripts/delivery/check-tools.sh [--help]
set -euo pipefail
if [[ ${1:-} == --help ]]; then
  echo "usage: scripts/delivery/check-tools.sh   checks Node.js >= 20, moto_server (the local AWS emulator), the aws CLI, cfn-lint and chromium (installed with apt-get where it is missing; CHROMIUM_PATH names another browser)"
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
chromium_path() {
  local candidate
  for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [[ -n $candidate && -x $candidate ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if ! chromium_path >/dev/null; then
  as_root=()
  (( $(id -u) == 0 )) || as_root=(sudo -n)
  if command -v apt-get >/dev/null 2>&1 && { (( $(id -u) == 0 )) || sudo -n true 2>/dev/null; }; then
    mkdir -p .build
    echo "check-tools: chromium not found: installing Debian's for the console's browser tests (apt-get install chromium: about 30 s and 480 MB; log .build/chromium-install.log)" >&2
    if ! { "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium; } >.build/chromium-install.log 2>&1; then
      echo "check-tools: installing chromium failed (see .build/chromium-install.log): install it (apt-get install chromium) or set CHROMIUM_PATH to a Chrome or Chromium binary" >&2
      missing=1
    fi
  else
    echo "check-tools: chromium not found. The console's tests drive a real browser: apt-get install chromium (Debian, Ubuntu), brew install --cask chromium (macOS), or set CHROMIUM_PATH to a Chrome or Chromium binary" >&2
    missing=1
  fi
fi
exit $missing
