#!/usr/bin/env bash
# Packages and deploys the order pipeline's nested stacks, to AWS or to a local AWS emulator (moto).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/deploy.sh [options] [Key=Value ...]
       scripts/deploy.sh --pipeline [options] [Key=Value ...]

Builds the Lambda bundles, packages cloudformation/main.yaml and its nested stacks, and deploys them
(CREATE or UPDATE in place; a deploy with nothing to change succeeds).

With --pipeline, deploys the delivery pipeline of one stage instead (cloudformation/pipeline.yaml: CodeCommit or
CodeConnections source, CodeBuild, optional approval, CloudFormation deploy of the application stack). Nothing
is built or packaged: the template goes to CloudFormation through the artifacts bucket (a template sent in the
request may not exceed 51,200 bytes, one in S3 1 MB); Key=Value are pipeline.yaml's parameters (RepositoryName, BranchName, SourceProvider,
ConnectionArn, FullRepositoryId, RequireApproval, ApplicationStackName, ...). Deploy it once per stage; pushes
to the branch deploy the application from then on.

  --pipeline               deploy the delivery pipeline stack (default name <prefix>-order-pipeline-delivery)
  --stack-name NAME        default <prefix>-order-pipeline (with --pipeline: <prefix>-order-pipeline-delivery)
  --prefix PREFIX          the NamePrefix parameter: every resource name derives from it (default tp)
  --stage STAGE            the Stage parameter: metrics dimension and tag (default dev)
  --region REGION          default $AWS_REGION, else eu-west-3
  --endpoint URL           deploy to an AWS emulator such as moto (default $AWS_ENDPOINT_URL). Event source
                           mappings are then deployed disabled (the local runner polls the queues), and the
                           bucket notification and versioning that moto's CloudFormation skips are applied
                           after the deploy from the template's own values.
                           With --pipeline, the deploy only (moto skips CodeCommit, CodeBuild and CodePipeline).
  --artifacts-bucket NAME  where packages go, and with --pipeline its template (default
                           <prefix>-artifacts-<account>-<region>; created if missing)
  --skip-build             package the bundles already in dist/
  Key=Value                parameter overrides, e.g. StockTracking=off AlarmEmail=ops@example.com

Examples:
  scripts/deploy.sh --stage prod AlarmEmail=ops@example.com
  scripts/deploy.sh --endpoint http://localhost:5000 --stage local
  scripts/deploy.sh --pipeline --stage dev
  scripts/deploy.sh --pipeline --prefix tpprod --stage prod RepositoryName=tp-order-pipeline RequireApproval=true
  scripts/deploy.sh --pipeline --stage dev SourceProvider=CodeConnections \
    ConnectionArn=arn:aws:codeconnections:eu-west-3:123456789012:connection/... FullRepositoryId=my-org/order-pipeline
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
stack='' prefix=tp stage=dev region=${AWS_REGION:-eu-west-3} endpoint=${AWS_ENDPOINT_URL:-} artifacts='' skip_build=()
overrides=() pipeline=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --stack-name) stack=${2:?--stack-name needs a value}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
    --stage) stage=${2:?--stage needs a value}; shift 2 ;;
    --region) region=${2:?--region needs a value}; shift 2 ;;
    --endpoint) endpoint=${2:?--endpoint needs a value}; shift 2 ;;
    --artifacts-bucket) artifacts=${2:?--artifacts-bucket needs a value}; shift 2 ;;
    --skip-build) skip_build=(--skip-build); shift ;;
    --pipeline) pipeline=1; shift ;;
    --help|-h) usage; exit 0 ;;
    *=*) overrides+=("$1"); shift ;;
    *) echo "deploy.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $prefix =~ ^[a-z][a-z0-9-]{0,19}$ ]] || { echo "deploy.sh: --prefix must be 1-20 lower-case letters, digits or hyphens, starting with a letter: $prefix" >&2; exit 2; }
if [[ $pipeline == 1 ]]; then
  [[ ${#skip_build[@]} -eq 0 ]] ||
    { echo "deploy.sh: --skip-build does not apply to --pipeline (it builds nothing)" >&2; exit 2; }
  stack=${stack:-$prefix-order-pipeline-delivery}
else
  stack=${stack:-$prefix-order-pipeline}
fi
command -v aws >/dev/null || { echo "deploy.sh: the aws CLI is not installed: pip install awscli (or see https://aws.amazon.com/cli/)" >&2; exit 1; }
export AWS_REGION=$region AWS_DEFAULT_REGION=$region

if [[ -n $endpoint ]]; then
  endpoint=${endpoint/127.0.0.1/localhost}   # moto resolves nested TemplateURLs only on localhost
  export AWS_ENDPOINT_URL=$endpoint
  # An emulator takes any credentials.
  export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
  curl -fsS -o /dev/null "$endpoint/moto-api/" 2>/dev/null || aws sts get-caller-identity >/dev/null 2>&1 ||
    { echo "deploy.sh: no AWS emulator answers at $endpoint (start one with: npm start, or moto_server -H localhost -p PORT)" >&2; exit 1; }
  [[ $pipeline == 1 ]] || overrides=(EventSourceMappingsEnabled=false "${overrides[@]}")
fi

account=$(aws sts get-caller-identity --query Account --output text 2>/dev/null) ||
  { echo "deploy.sh: no AWS credentials: set AWS_PROFILE (aws configure sso) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --endpoint for a local emulator" >&2; exit 1; }

# Deploys a template; a deploy with nothing to change succeeds (moto answers it with an error, tolerated here).
# Further arguments go to `aws cloudformation deploy` (--s3-bucket: the template is uploaded there first).
deploy_template() {
  local template=$1 status out
  shift
  echo "deploying stack $stack ($region${endpoint:+, $endpoint})"
  set +e
  out=$(aws cloudformation deploy "$@" \
    --template-file "$template" \
    --stack-name "$stack" \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
    --parameter-overrides NamePrefix="$prefix" Stage="$stage" "${overrides[@]}" \
    --tags "NamePrefix=$prefix" "Stage=$stage" \
    --no-fail-on-empty-changeset 2>&1)
  status=$?
  set -e
  echo "$out" | grep -v '^$' || true
  if [[ $status -ne 0 ]]; then
    # moto answers a deploy with nothing to change with an error, even with --no-fail-on-empty-changeset.
    if [[ -n $endpoint ]] && grep -qi 'No changes to deploy\|didn.t contain changes\|No updates are to be performed' <<<"$out"; then
      echo "no changes to deploy"
    else
      echo "deploy.sh: the deploy of $stack failed (see above; aws cloudformation describe-stack-events --stack-name $stack)" >&2
      exit $status
    fi
  fi
}

artifacts=${artifacts:-$prefix-artifacts-$account-$region}
if ! aws s3api head-bucket --bucket "$artifacts" >/dev/null 2>&1; then
  echo "creating artifacts bucket $artifacts"
  if [[ $region == us-east-1 ]]; then aws s3api create-bucket --bucket "$artifacts" >/dev/null
  else aws s3api create-bucket --bucket "$artifacts" --create-bucket-configuration "LocationConstraint=$region" >/dev/null; fi
  aws s3api put-public-access-block --bucket "$artifacts" \
    --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true >/dev/null
fi

if [[ $pipeline == 1 ]]; then
  deploy_template "$root/cloudformation/pipeline.yaml" --s3-bucket "$artifacts" --s3-prefix templates
  echo "stack $stack deployed"
  exit 0
fi

packaged="$root/.build/$stack.packaged.yaml"
"$root/scripts/delivery/package.sh" --bucket "$artifacts" --output "$packaged" --region "$region" ${endpoint:+--endpoint "$endpoint"} "${skip_build[@]}"

deploy_template "$packaged"

if [[ -n $endpoint ]]; then
  (cd "$root" && npx tsx scripts/local/apply-skipped.ts --stack-name "$stack" --endpoint "$endpoint" --region "$region")
fi
echo "stack $stack deployed"
