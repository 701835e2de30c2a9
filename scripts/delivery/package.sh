#!/usr/bin/env bash
# Builds the Lambda bundles and packages the nested templates: function code folders and child templates are
# uploaded to an artifacts bucket and the root template rewritten to point at them.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/delivery/package.sh --bucket NAME [--output FILE] [--region REGION] [--endpoint URL] [--skip-build] [--force-upload]

  --bucket NAME     artifacts bucket (must exist)
  --output FILE     packaged root template (default .build/packaged.yaml)
  --region REGION   default $AWS_REGION, else eu-west-3
  --endpoint URL    an AWS emulator, e.g. http://localhost:5000 (default $AWS_ENDPOINT_URL)
  --skip-build      package the bundles already in dist/
  --force-upload    upload every package even when the bucket holds it already. The delivery pipeline's build
                    does: its bucket expires objects by age, and this keeps everything a deployed stack
                    references as young as the build that deployed it
USAGE
}

root=$(cd "$(dirname "$0")/../.." && pwd)
bucket='' output="$root/.build/packaged.yaml" region=${AWS_REGION:-eu-west-3} endpoint=${AWS_ENDPOINT_URL:-} build=1 force=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --bucket) bucket=${2:?--bucket needs a value}; shift 2 ;;
    --output) output=${2:?--output needs a value}; shift 2 ;;
    --region) region=${2:?--region needs a value}; shift 2 ;;
    --endpoint) endpoint=${2:?--endpoint needs a value}; shift 2 ;;
    --skip-build) build=0; shift ;;
    --force-upload) force=(--force-upload); shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "package.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n $bucket ]] || { echo "package.sh: --bucket is required" >&2; usage >&2; exit 2; }
command -v aws >/dev/null || { echo "package.sh: the aws CLI is not installed: pip install awscli (or see https://aws.amazon.com/cli/)" >&2; exit 1; }

if [[ -n $endpoint ]]; then
  # moto resolves nested TemplateURLs only when their host is localhost.
  endpoint=${endpoint/127.0.0.1/localhost}
  export AWS_ENDPOINT_URL=$endpoint
fi

cd "$root"
if [[ $build == 1 ]]; then npm run --silent build; fi
for fn in api validator worker generator exporter workflow; do
  [[ -f dist/$fn/index.mjs ]] || { echo "package.sh: dist/$fn/index.mjs is missing: run npm run build" >&2; exit 1; }
done
mkdir -p "$(dirname "$output")"
aws cloudformation package \
  --region "$region" \
  --template-file cloudformation/main.yaml \
  --s3-bucket "$bucket" \
  --s3-prefix packages \
  --output-template-file "$output" "${force[@]}" >/dev/null
echo "packaged: $output"
