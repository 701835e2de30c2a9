#!/usr/bin/env bash
# Lints the CloudFormation templates with cfn-lint: a [pass] or [fail] line per template, cfn-lint's findings under
# each failure, and a non-zero exit when any template fails. Errors and warnings both fail.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/delivery/lint-templates.sh [--help] [TEMPLATE...]

Lints every template in cloudformation/ (or the TEMPLATEs given) with cfn-lint, errors and warnings alike.
One rule is ignored, and only that one: W3002, which flags the local Code and TemplateURL paths that
`aws cloudformation package` rewrites (scripts/delivery/package.sh).

Exit status: 0 when every template passes, 1 when any fails, 2 on a usage error or a missing tool.
USAGE
}

root=$(cd "$(dirname "$0")/../.." && pwd)
templates=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --help|-h) usage; exit 0 ;;
    -*) echo "lint-templates.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) templates+=("$1"); shift ;;
  esac
done

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "lint-templates.sh: cfn-lint not found. Install it with: pip install cfn-lint (Python 3.9+)" >&2
  exit 2
fi

if [[ ${#templates[@]} -eq 0 ]]; then
  shopt -s nullglob
  templates=("$root"/cloudformation/*.yaml "$root"/cloudformation/*.yml "$root"/cloudformation/*.json)
  shopt -u nullglob
  [[ ${#templates[@]} -gt 0 ]] || { echo "lint-templates.sh: no templates in $root/cloudformation" >&2; exit 2; }
fi

failed=0
existing=()
for template in "${templates[@]}"; do
  if [[ -f $template ]]; then existing+=("$template"); else echo "[fail] ${template#"$root"/} (no such file)"; failed=1; fi
done
[[ ${#existing[@]} -gt 0 ]] || exit 1

# One cfn-lint run for all (its start-up dominates), one finding a line: file:line:col:endline:endcol:rule:message.
# Any finding fails its template: cfn-lint exits 2 for errors, 4 for warnings (8, informational, is off by default).
status=0
output=$(cfn-lint --ignore-checks W3002 --format parseable -- "${existing[@]}" 2>&1) || status=$?
attributed=0
for template in "${existing[@]}"; do
  findings=$(awk -v prefix="$template:" 'index($0, prefix) == 1' <<<"$output")
  if [[ -z $findings ]]; then
    echo "[pass] ${template#"$root"/}"
  else
    echo "[fail] ${template#"$root"/}"
    # rule, message and line, indented: "  W2001 Parameter X not used. (line 3)"
    sed -E 's/^.*:([0-9]+):[0-9]+:[0-9]+:[0-9]+:([A-Z][0-9]+):(.*)$/  \2 \3 (line \1)/' <<<"$findings"
    failed=1
    attributed=1
  fi
done
if [[ $status -ne 0 && $attributed -eq 0 ]]; then
  echo "lint-templates.sh: cfn-lint failed (exit $status) without naming a template:" >&2
  sed 's/^/  /' <<<"$output" >&2
  failed=1
fi
exit $failed
