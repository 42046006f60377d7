#!/usr/bin/env bash
# On a schedule: open promotion pull requests for models whose MLflow candidate beats production.
set -euo pipefail
modelops autoupdate
