"""Progressive delivery judged by metrics: `modelops rollout` reads Prometheus and advances, holds or
aborts each canary and shadow through a pull request."""
