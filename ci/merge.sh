#!/usr/bin/env bash
# After merge to main: refuse a stale generated/, then sync environments to their clusters.
#   ci/merge.sh            every environment with `sync: ci` (in turn)
#   ci/merge.sh ENV...     only these (the GitHub workflow runs one job per environment)
set -euo pipefail
modelops compile --check
if [ "$#" -eq 0 ]; then
  # Not `for env in $(...)`: that would hide a failing `modelops environments`.
  listed="$(modelops environments --sync ci)"
  read -r -d '' -a envs <<< "$listed" || true
else
  envs=("$@")
fi
for env in ${envs[@]+"${envs[@]}"}; do  # the +: macOS bash 3.2, set -u and no envs
  modelops sync --env "$env" --prune
done
