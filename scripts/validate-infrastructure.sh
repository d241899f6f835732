#!/usr/bin/env bash
# After `cdk deploy`: checks that the lab on AWS is what the CDK app describes.
#   scripts/validate-infrastructure.sh [--dry-run] [--region R]
# --dry-run prints every check and the AWS call behind it, and calls nothing.
set -uo pipefail
DRY=0; REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY=1 ;;
    --region) REGION=$2; shift ;;
    -h|--help) sed -n 2,4p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
STACKS=(CloudCafe-Network CloudCafe-Secrets CloudCafe-Data CloudCafe-Edge CloudCafe-Compute CloudCafe-Observability CloudCafe-Chaos)
QUEUES=(cloudcafe-payment-requests.fifo cloudcafe-payment-requests-dlq.fifo cloudcafe-payment-results.fifo)
SEGMENTS=(orders inventory payments menu loyalty analytics)
ALARMS=(cloudcafe-checkout-5xx-rate cloudcafe-payment-dlq-not-empty cloudcafe-payment-lambda-errors cloudcafe-payment-lambda-throttles cloudcafe-payment-queue-oldest-message)
pass=0; fail=0
check() { # check <description> <command…>
  local what=$1; shift
  if [ $DRY -eq 1 ]; then printf '  would check: %s\n      via: %s\n' "$what" "$*"; return; fi
  if out=$("$@" 2>&1); then printf '  ✓ %s\n' "$what"; pass=$((pass + 1)); else printf '  ✗ %s\n%s\n' "$what" "$out" | head -5; fail=$((fail + 1)); fi
}
aws_() { aws --region "$REGION" --output text "$@"; }
[ $DRY -eq 1 ] || command -v aws >/dev/null || { echo "the AWS CLI is required (or use --dry-run)" >&2; exit 2; }

echo "▸ stacks"
for s in "${STACKS[@]}"; do
  check "$s is deployed (CREATE_COMPLETE or UPDATE_COMPLETE)" \
    sh -c "aws --region $REGION cloudformation describe-stacks --stack-name $s --query 'Stacks[0].StackStatus' --output text | grep -Eq '^(CREATE|UPDATE)_COMPLETE$'"
done
url() { aws_ cloudformation describe-stacks --stack-name CloudCafe-Edge --query "Stacks[0].Outputs[?OutputKey=='PublicUrl'].OutputValue"; }
echo "▸ health endpoints (through the public entry, CloudCafe-Edge output PublicUrl)"
for seg in "${SEGMENTS[@]}"; do
  check "GET /api/$seg/health answers 200" sh -c "curl -fsS --max-time 10 \"\$($(declare -f url); url)/api/$seg/health\" >/dev/null"
done
echo "▸ queues (exist, FIFO, the requests queue redrives to the DLQ after 5 receives)"
for q in "${QUEUES[@]}"; do check "$q exists" aws --region "$REGION" sqs get-queue-url --queue-name "$q"; done
check "payment requests redrive (maxReceiveCount 5)" \
  sh -c "aws --region $REGION sqs get-queue-attributes --attribute-names RedrivePolicy --queue-url \$(aws --region $REGION sqs get-queue-url --queue-name cloudcafe-payment-requests.fifo --query QueueUrl --output text) | grep -q '\\\\\"maxReceiveCount\\\\\":5'"
check "the DLQ is empty" \
  sh -c "test \$(aws --region $REGION sqs get-queue-attributes --attribute-names ApproximateNumberOfMessages --queue-url \$(aws --region $REGION sqs get-queue-url --queue-name cloudcafe-payment-requests-dlq.fifo --query QueueUrl --output text) --query Attributes.ApproximateNumberOfMessages --output text) = 0"
echo "▸ alarms (exist, have an action, not in ALARM)"
for a in "${ALARMS[@]}"; do
  check "$a exists and is not in ALARM" \
    sh -c "aws --region $REGION cloudwatch describe-alarms --alarm-names $a --query 'MetricAlarms[0].StateValue' --output text | grep -Eq '^(OK|INSUFFICIENT_DATA)$'"
done
echo "▸ FIS experiment templates (one per core fault, each with a stop condition)"
check "9 cloudcafe templates, all with stop conditions" \
  sh -c "aws --region $REGION fis list-experiment-templates --query 'experimentTemplates[?starts_with(tags.Name, \`cloudcafe-\`)].id' --output text | wc -w | grep -qx 9"
[ $DRY -eq 1 ] && { echo "dry run: nothing was called"; exit 0; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
