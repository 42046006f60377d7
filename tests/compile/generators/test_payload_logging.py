"""Request/response logging: Kafka through the Seldon v1 executor's env, and one-line errors for
settings that contradict each other, each pointing at the key to change."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from support import fixtures
from support.generated_files import by_kind

CONFIG = """\
environments:
  production:
    namespace: models
    target: seldon-v1
  staging:
    namespace: models-staging
    target: seldon-v1
defaults:
  logging:
    url: http://logger.seldon-logs.svc.cluster.local:8080
teams:
  search: {reviewers: ["@acme/search-ml"]}
"""
HEAD = """\
name: ranker
team: search
framework: sklearn
artifact: {uri: s3://acme-models/ranker/1}
"""


def make_repo(tmp_path: Path, model: str, config: str = CONFIG) -> Path:
    models = {"ranker.yaml": HEAD + textwrap.dedent(model)}
    return fixtures.make_repo(tmp_path, models, textwrap.dedent(config))


def modelops(root: Path, crd_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return fixtures.run(root, *args, "--crd-dir", str(crd_dir), crd_dir=None)


def errors(root: Path, crd_dir: Path) -> list[str]:
    done = modelops(root, crd_dir, "compile")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr
    assert not (root / "generated").exists()  # nothing half-written
    return [line for line in done.stderr.splitlines() if ": MO" in line]


def predictors(root: Path, env: str, namespace: str) -> list[dict]:
    path = root / "generated" / env / namespace / "ranker.yaml"
    return by_kind(path.read_text())["SeldonDeployment"]["spec"]["predictors"]


def test_kafka_goes_to_the_executor_env_with_a_topic_per_model_and_environment(
    tmp_path: Path, crd_dir: Path
) -> None:
    root = make_repo(tmp_path, """\
        traffic:
          main: {weight: 80}
          canary: {weight: 20, artifact: {uri: s3://acme-models/ranker/2}}
        environments:
          staging: {}
          production:
            logging:
              mode: all
              url: null
              kafka: {broker: "kafka-0.data:9092,kafka-1.data:9092"}
        """)
    done = modelops(root, crd_dir, "compile")
    assert done.returncode == 0, done.stderr
    for predictor in predictors(root, "production", "models"):
        assert predictor["graph"]["logger"] == {"mode": "all"}  # the env, not a URL, picks Kafka
        assert predictor["svcOrchSpec"] == {"env": [
            {"name": "LOGGER_KAFKA_BROKER", "value": "kafka-0.data:9092,kafka-1.data:9092"},
            {"name": "LOGGER_KAFKA_TOPIC", "value": "modelops.production.ranker"},
        ]}
    for predictor in predictors(root, "staging", "models-staging"):
        assert "svcOrchSpec" not in predictor and "logger" not in predictor["graph"]


def test_broker_from_environment_defaults_and_an_explicit_topic(tmp_path: Path, crd_dir: Path) -> None:
    config = CONFIG.replace("defaults:\n  logging:\n    url: http://logger.seldon-logs.svc.cluster.local:8080\n",
                            "") .replace(
        "    namespace: models\n    target: seldon-v1\n",
        "    namespace: models\n    target: seldon-v1\n"
        "    defaults: {logging: {kafka: {broker: \"kafka.data:9092\"}}}\n", 1)
    root = make_repo(tmp_path, """\
        logging: {mode: request, kafka: {topic: ranker-requests}}
        environments: {production: {}}
        """, config)
    done = modelops(root, crd_dir, "compile")
    assert done.returncode == 0, done.stderr
    [predictor] = predictors(root, "production", "models")
    assert predictor["graph"]["logger"] == {"mode": "request"}
    assert predictor["svcOrchSpec"]["env"] == [
        {"name": "LOGGER_KAFKA_BROKER", "value": "kafka.data:9092"},
        {"name": "LOGGER_KAFKA_TOPIC", "value": "ranker-requests"},
    ]
    # staging has no broker: the same settings there are Kafka without a broker
    model = root / "models" / "ranker.yaml"
    model.write_text(model.read_text().replace("environments: {production: {}}\n", ""))
    assert errors_of(root, crd_dir) == [
        "models/ranker.yaml:5:33: MO270 logging.kafka needs a broker (host:port): set it here or in the "
        "environment's defaults in modelops.yaml",
    ]


def errors_of(root: Path, crd_dir: Path) -> list[str]:
    done = modelops(root, crd_dir, "validate")
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if ": MO" in line]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "logging: {mode: all, url: null, kafka: {topic: ranker}}\n",
            "models/ranker.yaml:5:40: MO270 logging.kafka needs a broker (host:port): set it here or in the "
            "environment's defaults in modelops.yaml",
        ),
        (
            "logging:\n  mode: all\n  kafka: {broker: \"kafka:9092\"}\n",
            "models/ranker.yaml:7:10: MO271 logging sets both url (HTTP sink) and kafka: choose one "
            "(`url: null` drops an inherited HTTP sink, `kafka: null` an inherited Kafka sink)",
        ),
        (
            "logging:\n  kafka: {broker: \"kafka:9092\"}\n",
            "models/ranker.yaml:6:10: MO272 logging.kafka has no effect while logging.mode is none: "
            "set mode to request, response or all, or remove it",
        ),
        (
            "logging: {mode: none, url: http://sink:8080}\n",
            "models/ranker.yaml:5:28: MO272 logging.url has no effect while logging.mode is none: "
            "set mode to request, response or all, or remove it",
        ),
        (
            "logging: {mode: all, url: ftp://sink}\n",
            "models/ranker.yaml:5:27: MO273 logging.url 'ftp://sink' must be an http:// or https:// URL",
        ),
        (
            "logging: {mode: all, sample: 10}\n",
            "models/ranker.yaml:5:30: MO301 logging.sample is not supported on target seldon-v1: its logger "
            "records every request",
        ),
        (
            "logging: {mode: all, url: null, kafka: {broker: \"not a broker\"}}\n",
            "models/ranker.yaml:5:49: MO100 logging.kafka.broker: String should match pattern "
            "'^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$'",
        ),
        (
            "alerts: {latency: {p99_ms: 0}}\n",
            "models/ranker.yaml:5:28: MO100 alerts.latency.p99_ms: Input should be greater than 0",
        ),
        (
            "alerts: {errors: {ratio: 0.1, pending: 5m}}\n",
            "models/ranker.yaml:5:31: MO101 unknown key 'pending'",
        ),
    ],
)
def test_contradictions_are_one_line_errors_at_the_key(
    tmp_path: Path, crd_dir: Path, model: str, expected: str
) -> None:
    root = make_repo(tmp_path, model)
    assert errors(root, crd_dir) == [expected]
