#!/usr/bin/env bash
# Pull-request checks: validate (policy gates included), check generated/ is current, and tell
# reviewers what will change in the cluster. Optional: a server-side dry run when a cluster is reachable.
#   BASE_REF      the branch the PR targets (default: origin/$GITHUB_BASE_REF in GitHub Actions,
#                 origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME in GitLab merge requests, else origin/main);
#                 the rollout gate judges the change against its history, so fetch it all (fetch-depth: 0)
#   PR_NUMBER     GitHub: post the review as a PR comment (needs GITHUB_TOKEN, GITHUB_REPOSITORY)
#   GITLAB_TOKEN  GitLab merge-request pipelines: post the review as a merge-request note
#   DRY_RUN_ENVS  environments to dry-run against the cluster (needs a kubeconfig)
#   REVIEW_FILE   where the review (Markdown) goes; default: outside the working tree, so the
#                 checkout stays clean (the GitLab component points it into its artifacts folder)
set -euo pipefail
if [ -n "${BASE_REF:-}" ]; then
  base="$BASE_REF"
elif [ -n "${GITHUB_BASE_REF:-}" ]; then
  base="origin/$GITHUB_BASE_REF"
elif [ -n "${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}" ]; then
  base="origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
else
  base="origin/main"
fi

modelops validate --base "$base"
modelops compile --check
if [ -d schemas ]; then  # the editor schemas, when the repository keeps them (`modelops schema`)
  modelops schema --check
fi
post=()
if [ -n "${PR_NUMBER:-}" ] && [ -n "${GITHUB_TOKEN:-}" ]; then
  post=(--comment "$PR_NUMBER")
elif [ -n "${CI_MERGE_REQUEST_IID:-}" ] && [ -n "${GITLAB_TOKEN:-}" ]; then
  post=(--gitlab-note)
fi
review="${REVIEW_FILE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/modelops-review.md}"
modelops diff "$base" HEAD -o markdown ${post[@]+"${post[@]}"} > "$review"
cat "$review"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$review" >> "$GITHUB_STEP_SUMMARY"
fi
for env in ${DRY_RUN_ENVS:-}; do
  modelops sync --env "$env" --dry-run
done
