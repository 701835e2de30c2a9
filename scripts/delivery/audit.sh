#!/usr/bin/env bash
# Audits the production dependencies: runs `npm audit --omit=dev --audit-level=high --json` and decides with
# scripts/delivery/audit.ts.
#   - a high or critical advisory that no exception covers: each one listed (package, severity, advisory), exit 1;
#   - none: exit 0;
#   - the registry's advisory endpoint cannot be reached (an HTTP error such as 405 "audit endpoint returned an
#     error", or a network error): one loud line on stderr saying the audit did not run and why, exit 0;
#   - any other npm error (no lockfile, say), or an exceptions file that is not as below: exit 1.
#
# Exceptions: scripts/delivery/audit-exceptions.json (or --exceptions FILE), a JSON array ([] for none) of entries
# with exactly these four string fields:
#   { "advisory": "GHSA-xxxx-xxxx-xxxx", "package": "name", "reason": "why it cannot hurt us", "until": "YYYY-MM-DD" }
# An entry covers that advisory in that package (the package npm lists the advisory under) through its `until` day
# (UTC); from the next day it no longer applies and the advisory fails the audit again. An entry that covers
# nothing is reported, to be removed.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/delivery/audit.sh [--help] [--exceptions FILE]

Runs npm audit on the production dependencies (--omit=dev) and fails on any high or critical advisory that no
exception covers. Exceptions: scripts/delivery/audit-exceptions.json (or FILE), a JSON array of
{ "advisory": "GHSA-…", "package": "name", "reason": "…", "until": "YYYY-MM-DD" }, each valid through its until day.

Exit status: 0 when nothing high or critical is left, or when the advisory endpoint cannot be reached (one loud
line on stderr says so); 1 when an advisory fails the audit, npm audit fails otherwise, or the exceptions file is
not valid; 2 on a usage error or a missing tool.
USAGE
}

root=$(cd "$(dirname "$0")/../.." && pwd)
exceptions=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --help|-h) usage; exit 0 ;;
    --exceptions)
      [[ $# -ge 2 ]] || { echo "audit.sh: --exceptions needs a FILE" >&2; usage >&2; exit 2; }
      exceptions=(--exceptions "$2"); shift 2 ;;
    *) echo "audit.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in npm node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "audit.sh: $tool not found: install Node.js 20 or newer" >&2; exit 2; }
done

cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm audit exits non-zero both on advisories and when it cannot run: audit.ts tells them apart from its JSON.
npm audit --omit=dev --audit-level=high --json >"$work/report.json" 2>"$work/npm-stderr.txt" || true
status=0
node --import tsx scripts/delivery/audit.ts --report "$work/report.json" --npm-stderr "$work/npm-stderr.txt" \
  ${exceptions[@]+"${exceptions[@]}"} || status=$?
exit "$status"
