"""The editor schema accepts exactly what the CLI accepts for the keys ported from upstream examples."""

from __future__ import annotations

import pytest
import yaml
from compile.test_schema import verdicts

BASE = "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n"

# case -> (model file text, whether both accept it)
CASES: dict[str, tuple[str, bool]] = {
    "protocol-v1": (BASE + "protocol: v1\n", True),
    "protocol-v3": (BASE + "protocol: v3\n", False),
    "scale-to-zero": (BASE + "autoscaling: {min: 0, concurrency: 10}\n", True),
    "min-negative": (BASE + "autoscaling: {min: -1, max: 3, cpu: 50}\n", False),
    "concurrency-zero": (BASE + "autoscaling: {max: 3, concurrency: 0}\n", False),
    "concurrency-float": (BASE + "autoscaling: {max: 3, concurrency: 2.5}\n", False),
    "autoscaler-keda": (BASE + "autoscaling: {max: 3, cpu: 50, autoscaler: keda}\n", True),
    "autoscaler-kpa": (BASE + "autoscaling: {max: 3, cpu: 50, autoscaler: kpa}\n", False),
    "container-concurrency": (BASE + "container_concurrency: 0\n", True),
    "container-concurrency-negative": (BASE + "container_concurrency: -2\n", False),
    "container-concurrency-string": (BASE + "container_concurrency: '4'\n", False),
    "service-account": (BASE + "  secret: s3-creds\n  service_account: models-sa\n", True),
    "service-account-not-a-name": (BASE + "  service_account: Models_SA\n", False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_and_schema_agree_on_ported_keys(case: str) -> None:
    text, accepted = CASES[case]
    assert verdicts(yaml.safe_load(text)) == (accepted, accepted)
