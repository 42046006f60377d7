#!/usr/bin/env bash
# On a schedule: open promotion pull requests for models whose MLflow candidate beats production, then
# advance, hold or abort each running canary and shadow on Prometheus evidence ($PROMETHEUS_URL, or
# environments.<env>.prometheus in modelops.yaml). Both run; the job fails if either did.
set -euo pipefail
status=0
modelops autoupdate || status=1
modelops rollout || status=1
exit "$status"
