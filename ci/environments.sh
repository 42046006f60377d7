#!/usr/bin/env bash
# The environments CI syncs, as a JSON list (the GitHub deploy workflow's matrix).
set -euo pipefail
listed="$(modelops environments --sync ci)"
read -r -d '' -a envs <<< "$listed" || true
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' ${envs[@]+"${envs[@]}"}
