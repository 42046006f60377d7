#!/usr/bin/env bash
# After merge to main: refuse a stale generated/, then sync every environment CI owns.
set -euo pipefail
modelops compile --check
for env in $(modelops environments --sync ci); do
  modelops sync --env "$env" --prune
done
