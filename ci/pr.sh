#!/usr/bin/env bash
# Pull-request checks: validate (policy gates included), check generated/ is current, and tell
# reviewers what will change in the cluster. Optional: a server-side dry run when a cluster is reachable.
#   BASE_REF      the branch the PR targets (default: origin/main)
#   PR_NUMBER     post the review as a PR comment (needs GITHUB_TOKEN, GITHUB_REPOSITORY)
#   DRY_RUN_ENVS  environments to dry-run against the cluster (needs a kubeconfig)
set -euo pipefail
base="${BASE_REF:-origin/main}"

modelops validate
modelops compile --check
modelops diff "$base" HEAD --format markdown > review.md
cat review.md
if [ -n "${PR_NUMBER:-}" ] && [ -n "${GITHUB_TOKEN:-}" ]; then
  modelops diff "$base" HEAD --comment "$PR_NUMBER" > /dev/null
fi
for env in ${DRY_RUN_ENVS:-}; do
  modelops sync --env "$env" --dry-run=server
done
