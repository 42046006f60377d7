"""Every validation rule: a good input compiles, a bad one reports the exact code and position."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from modelops.compile.pipeline import build
from modelops.compile.rules.checks import quantity_value
from modelops.diagnostics import Diagnostic
from support.fixtures import CONFIG, IRIS
from support.generated_files import by_kind

BASE = IRIS


def run(repo, crd_dir: Path, models: dict[str, str], config: str | None = None):
    return build(repo(models, config), crd_dir=crd_dir)


def diagnostics(repo, crd_dir: Path, text: str, file: str = "iris.yaml") -> list[Diagnostic]:
    return run(repo, crd_dir, {file: text}).diagnostics


def test_base_model_compiles(repo, crd_dir):
    result = run(repo, crd_dir, {"iris.yaml": BASE})
    assert result.diagnostics == []
    assert "production/models/iris.yaml" in result.files
    assert "staging/models-staging/iris.yaml" in result.files


# Each case: (model text, expected (line, col, code, part of message)). The first line of a case
# is line 1 of the file. Every bad case is the BASE model with one thing wrong, so the rule under
# test must be the only one that fires.
BAD = {
    "invalid-yaml": (
        "name: iris\nteam: risk\n  bad: x\n",
        (3, 6, "MO001", "invalid YAML: mapping values are not allowed"),
    ),
    "duplicate-key": (
        BASE + "name: iris\n",
        (6, 1, "MO005", "duplicate key 'name'"),
    ),
    "python-tag": (
        BASE + 'description: !!python/object/apply:os.system ["echo hi"]\n',
        (6, 14, "MO002", "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ),
    "python-object-tag": (
        BASE + "description: !!python/object:collections.OrderedDict {}\n",
        (6, 14, "MO002", "python/object:collections.OrderedDict"),
    ),
    "merge-key": (
        BASE + "x: &x {replicas: 1}\nresources:\n  <<: *x\n",
        (8, 3, "MO003", "merge keys (<<) are not supported"),
    ),
    "non-scalar-key": (
        BASE + "? [a, b]\n: 1\n",
        (6, 3, "MO004", "mapping keys must be plain scalars"),
    ),
    "not-a-mapping": (
        "- name: iris\n",
        (1, 1, "MO100", "expected a mapping of keys, found a list"),
    ),
    "empty-file": (
        "# nothing here\n",
        (1, 1, "MO100", "expected a mapping of keys, found an empty file"),
    ),
    "unknown-key": (
        BASE + "replica: 2\n",
        (6, 1, "MO101", "unknown key 'replica' (did you mean 'replicas'?)"),
    ),
    "unknown-nested-key": (
        BASE + "autoscaling:\n  max: 3\n  cpu: 50\n  mni: 1\n",
        (9, 3, "MO101", "unknown key 'mni' (did you mean 'min'?)"),
    ),
    "model-key-under-variant": (
        BASE + "traffic:\n  main:\n    framework: sklearn\n",
        (8, 5, "MO101",
         "unknown key 'framework' ('framework' is valid at the top level or graph.nodes.<name>, "
         "not under traffic.<variant>)"),
    ),
    "config-key-in-model-file": (
        BASE + "autoscaling:\n  max: 3\n  min_replicas: 2\n",
        (8, 3, "MO101",
         "unknown key 'min_replicas' ('min_replicas' belongs in modelops.yaml, at environments.<env>.rules)"),
    ),
    "typo-suggests-only-keys-valid-here": (
        BASE + "traffic:\n  main:\n    waight: 100\n",
        (8, 5, "MO101", "unknown key 'waight' (did you mean 'weight'?)"),
    ),
    "missing-required-key": (
        "name: iris\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n",
        (1, 1, "MO102", "missing required key 'team'"),
    ),
    "missing-nested-key": (
        BASE + "  mlflow: {model: iris}\n",
        (6, 11, "MO102", "missing required key 'version' in artifact.mlflow"),
    ),
    "bad-name": (
        BASE.replace("name: iris", "name: Iris_Classifier"),
        (1, 7, "MO100", "'Iris_Classifier' is not a valid name: use lowercase letters"),
    ),
    "bad-variant-name": (
        BASE + "traffic:\n  Main: {}\n",
        (7, 3, "MO103", "invalid name 'Main'"),
    ),
    "bad-quantity": (
        BASE + "resources:\n  requests:\n    cpu: 12xyz\n",
        (8, 10, "MO100", "resources.requests.cpu: '12xyz' is not a Kubernetes quantity"),
    ),
    "bad-quantity-type": (
        BASE + "resources:\n  limits:\n    memory: true\n",
        (8, 13, "MO100", "must be a Kubernetes quantity"),
    ),
    "name-not-file-stem": (
        BASE.replace("name: iris", "name: iris-v2"),
        (1, 7, "MO201", "name 'iris-v2' must match the file name 'iris'.yaml"),
    ),
    "unknown-team": (
        BASE.replace("team: risk", "team: fraud"),
        (2, 7, "MO202", "team 'fraud' is not in modelops.yaml teams (risk, search)"),
    ),
    "unknown-environment": (
        BASE + "environments:\n  staging: {}\n  qa: {}\n",
        (8, 3, "MO203", "unknown environment 'qa' (modelops.yaml defines production, staging)"),
    ),
    "custom-without-image": (
        "name: iris\nteam: risk\nframework: custom\n",
        (3, 12, "MO204", "framework custom needs `image`"),
    ),
    "image-with-prepackaged": (
        BASE + "image: ghcr.io/acme/iris:1\n",
        (6, 8, "MO204", "`image` is only for framework custom"),
    ),
    "tensorflow-protocol-sklearn": (
        BASE + "protocol: tensorflow\n",
        (6, 11, "MO205", "protocol tensorflow is not supported by the sklearn server"),
    ),
    "triton-not-v2": (
        BASE.replace("sklearn", "triton") + "protocol: seldon\n",
        (6, 11, "MO205", "Triton serves only protocol v2"),
    ),
    "autoupdate-env-not-run": (
        BASE + "environments:\n  staging: {}\n"
        "autoupdate:\n  metric: rmse\n  direction: minimize\n  env: production\n",
        (11, 8, "MO207", "autoupdate.env 'production' is not an environment this model runs in (staging)"),
    ),
    "weights-not-100": (
        BASE + "traffic:\n  main: {weight: 60}\n  canary: {weight: 30}\n",
        (6, 1, "MO224", "variant weights sum to 90, they must sum to 100"),
    ),
    "missing-weight": (
        BASE + "traffic:\n  main: {weight: 60}\n  canary: {}\n",
        (8, 3, "MO223", "variant 'canary' needs a weight when several variants share traffic"),
    ),
    "shadow-with-weight": (
        BASE + "traffic:\n  main: {}\n  shadow:\n    shadow: true\n    weight: 10\n",
        (10, 13, "MO220", "a shadow variant takes no weight"),
    ),
    "two-shadows": (
        BASE + "traffic:\n  main: {}\n  s1: {shadow: true}\n  s2: {shadow: true}\n",
        (9, 3, "MO221", "at most one shadow variant"),
    ),
    "shadow-alone": (
        BASE + "traffic:\n  s1:\n    shadow: true\n",
        (7, 3, "MO222", "a shadow cannot be the only variant"),
    ),
    "single-variant-weight": (
        BASE + "traffic:\n  main:\n    weight: 50\n",
        (8, 13, "MO224", "a single serving variant takes all traffic"),
    ),
    "missing-artifact": (
        "name: iris\nteam: risk\nframework: sklearn\n",
        (1, 1, "MO230", "variant 'main' has no artifact.uri: the sklearn server needs"),
    ),
    "artifact-without-uri": (
        "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  secret: s3-readonly\n",
        (5, 3, "MO230", "variant 'main' has no artifact.uri"),
    ),
    "models-uri": (
        BASE.replace("s3://acme-models/iris/1", "models:/iris/3"),
        (5, 8, "MO231", "models:/ URIs cannot be read by Seldon"),
    ),
    "mlflow-artifacts-uri": (
        BASE.replace("s3://acme-models/iris/1", "mlflow-artifacts:/5/abc/artifacts"),
        (5, 8, "MO231", "mlflow-artifacts:/ URIs cannot be read by Seldon"),
    ),
    "not-a-uri": (
        BASE.replace("s3://acme-models/iris/1", "acme-models/iris"),
        (5, 8, "MO231", "is not a storage URI"),
    ),
    "scheme-not-allowed": (
        BASE.replace("s3://acme-models/iris/1", "https://acme-models.example.com/iris"),
        (5, 8, "MO231", "URI scheme 'https' is not allowed by policy (allowed: s3, gs)"),
    ),
    "bucket-not-allowed": (
        BASE.replace("s3://acme-models/iris/1", "s3://other-bucket/iris/1"),
        (5, 8, "MO231", "outside the allowed buckets (s3://acme-models/, gs://acme-models/)"),
    ),
    "uri-with-userinfo": (
        BASE.replace("s3://acme-models/", "s3://AKID:s3cr3t@acme-models/"),
        (5, 8, "MO231", "artifact URI carries a password in a URL (****)"),
    ),
    "presigned-uri": (
        BASE.replace("iris/1", "iris/1?X-Amz-Signature=abc"),
        (5, 8, "MO231", "artifact URI carries a pre-signed URL (****)"),
    ),
    "replicas-above-policy": (
        BASE + "replicas: 25\n",
        (6, 11, "MO240", "replicas 25 exceeds the policy maximum of 20"),
    ),
    "autoscaling-max-above-policy": (
        BASE + "autoscaling:\n  max: 30\n  cpu: 50\n",
        (7, 8, "MO240", "autoscaling.max 30 exceeds the policy maximum of 20"),
    ),
    "replicas-and-autoscaling": (
        BASE + "replicas: 2\nautoscaling: {max: 4, cpu: 50}\n",
        (6, 11, "MO241", "replicas conflicts with autoscaling"),
    ),
    "autoscaling-without-max": (
        BASE + "autoscaling:\n  min: 2\n  cpu: 50\n",
        (7, 3, "MO242", "autoscaling needs `max`"),
    ),
    "autoscaling-min-above-max": (
        BASE + "autoscaling:\n  min: 5\n  max: 3\n  cpu: 50\n",
        (7, 8, "MO243", "autoscaling.min (5) is greater than autoscaling.max (3)"),
    ),
    "autoscaling-without-metric": (
        BASE + "autoscaling: {min: 1, max: 3}\n",
        (6, 14, "MO244", "autoscaling needs a target: cpu, memory (percent) or rps"),
    ),
    "autoscaling-rps-seldon-v1": (
        BASE + "autoscaling:\n  max: 3\n  rps: 50\n",
        (8, 8, "MO301", "autoscaling.rps is not supported on target seldon-v1"),
    ),
    "lightgbm-seldon-v1": (
        BASE.replace("sklearn", "lightgbm"),
        (3, 12, "MO301", "framework lightgbm is not supported on target seldon-v1"),
    ),
    "cpu-request-above-limit": (
        BASE + "resources:\n  requests:\n    cpu: '2'\n  limits:\n    cpu: 500m\n",
        (8, 10, "MO250", "cpu request 2 is above its limit 500m"),
    ),
    "memory-request-above-inherited-limit": (
        BASE + "resources:\n  requests: {memory: 2Gi}\n",
        (7, 22, "MO250", "memory request 2Gi is above its limit 1Gi"),
    ),
    "gpu-request-above-limit": (
        BASE + "resources:\n  requests: {gpu: 2}\n  limits: {gpu: 1}\n",
        (7, 19, "MO250", "gpu request 2 is above its limit 1"),
    ),
    "env-name-looks-like-credential": (
        BASE + "env:\n  AWS_SECRET_ACCESS_KEY: abc\n",
        (7, 26, "MO260", "env AWS_SECRET_ACCESS_KEY looks like a credential"),
    ),
    "env-value-looks-like-credential": (
        BASE + "env:\n  BUCKET_ID: AKIAIOSFODNN7EXAMPLE\n",
        (7, 14, "MO260", "env BUCKET_ID looks like a credential"),
    ),
    "env-value-private-key": (
        BASE + "env:\n  TLS: '-----BEGIN RSA PRIVATE KEY-----'\n",
        (7, 8, "MO260", "env TLS looks like a credential"),
    ),
    "cpu-autoscaling-without-cpu-request": (
        BASE + "resources:\n  requests: {cpu: null}\nautoscaling:\n  max: 3\n  cpu: 50\n",
        (10, 8, "MO245",
         "autoscaling.cpu is a percent of the cpu request, and variant 'main' requests no cpu"),
    ),
    "zero-cpu-request": (
        BASE + "resources:\n  requests: {cpu: 0}\n",
        (7, 19, "MO251", "cpu request 0 is zero"),
    ),
    "huge-memory-limit": (
        BASE + "resources:\n  requests: {memory: 1Gi}\n  limits: {memory: 1e30}\n",
        (8, 20, "MO251", "memory limit 1e30 is beyond what Kubernetes can hold"),
    ),
    "infinite-latency-slo": (
        BASE + "alerts:\n  latency: {p99_ms: .inf}\n",
        (7, 21, "MO100", "p99_ms"),
    ),
    "nan-error-ratio": (
        BASE + "alerts:\n  errors: {ratio: .nan}\n",
        (7, 19, "MO100", "ratio"),
    ),
    "int32-overflowing-replicas": (
        BASE + "replicas: 3000000000\n",
        (6, 11, "MO100", "replicas"),
    ),
    "variant-image-without-custom": (
        BASE + "traffic:\n  main: {image: acme/iris:2}\n",
        (7, 17, "MO204", "variant 'main' sets `image`, which is only for framework custom"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_reported_at_the_offending_place(repo, crd_dir, case):
    text, (line, col, code, message) = BAD[case]
    found = diagnostics(repo, crd_dir, text)
    assert found, f"{case}: no diagnostic"
    assert {d.code for d in found} == {code}, [str(d) for d in found]
    matching = [d for d in found if message in d.message]
    assert matching, [str(d) for d in found]
    assert (matching[0].path, matching[0].line, matching[0].col) == ("models/iris.yaml", line, col)


GOOD = {
    "tensorflow-protocol-tensorflow": BASE.replace("sklearn", "tensorflow")
    + "protocol: tensorflow\n",
    "triton-v2": BASE.replace("sklearn", "triton") + "protocol: v2\n",
    "custom-with-image": "name: iris\nteam: risk\nframework: custom\nimage: ghcr.io/acme/iris:1\n",
    "huggingface-without-uri": "name: iris\nteam: risk\nframework: huggingface\n",
    "canary-weights-100": BASE + "traffic:\n  main: {weight: 90}\n  canary: {weight: 10}\n",
    "shadow-without-weight": BASE + "traffic:\n  main: {}\n  shadow: {shadow: true}\n",
    "single-variant-weight-100": BASE + "traffic:\n  main: {weight: 100}\n",
    "gs-bucket": BASE.replace("s3://acme-models/iris/1", "gs://acme-models/iris/1"),
    "replicas-at-policy": BASE + "replicas: 20\n",
    "autoscaling": BASE + "autoscaling: {min: 2, max: 20, cpu: 70, memory: 80}\n",
    "request-equals-limit": BASE + "resources:\n  requests: {cpu: 500m}\n  limits: {cpu: '0.5'}\n",
    "request-below-limit": BASE
    + "resources:\n  requests: {memory: 512Mi}\n  limits: {memory: 1G}\n",
    "plain-env": BASE + "env:\n  LOG_LEVEL: debug\n  WORKERS: '2'\n",
    "known-environment": BASE + "environments:\n  staging: {}\n",
    "name-at-budget": BASE.replace("iris", "x" * 27),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_input_compiles(repo, crd_dir, case):
    text = GOOD[case]
    stem = yaml.safe_load(text)["name"]
    result = run(repo, crd_dir, {f"{stem}.yaml": text})
    assert [str(d) for d in result.diagnostics] == []
    assert result.files


def test_alias_bomb_is_refused_quickly(repo, crd_dir):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    start = time.monotonic()
    found = diagnostics(repo, crd_dir, "\n".join(lines) + "\n")
    assert time.monotonic() - start < 10
    assert [d.code for d in found] == ["MO006"]
    assert "expands to more than 100000 nodes" in found[0].message
    assert found[0].path == "models/iris.yaml"


def test_non_utf8_file(repo, crd_dir):
    root = repo({})
    (root / "models" / "iris.yaml").write_bytes(b"name: \xff\xfe\n")
    found = build(root, crd_dir=crd_dir).diagnostics
    assert [(d.line, d.col, d.code) for d in found] == [(1, 1, "MO001")]
    assert "not UTF-8" in found[0].message


def test_several_documents(repo, crd_dir):
    found = diagnostics(repo, crd_dir, BASE + "---\n" + BASE)
    assert [(d.line, d.col, d.code) for d in found] == [(7, 1, "MO001")]
    assert "one YAML document per file" in found[0].message


def test_override_in_environment_points_at_the_override(repo, crd_dir):
    text = BASE + "environments:\n  production:\n    replicas: 30\n  staging: {}\n"
    found = diagnostics(repo, crd_dir, text)
    assert [(d.line, d.col, d.code) for d in found] == [(8, 15, "MO240")]


def test_error_from_repo_defaults_points_at_modelops_yaml(repo, crd_dir):
    config = (
        (repo({}) / "modelops.yaml")
        .read_text()
        .replace("defaults:\n", "defaults:\n  replicas: 2\n")
    )
    text = BASE + "autoscaling: {max: 3, cpu: 50}\n"
    found = run(repo, crd_dir, {"iris.yaml": text}, config).diagnostics
    assert [(d.path, d.code) for d in found] == [("modelops.yaml", "MO241")]
    assert (found[0].line, found[0].col) == (9, 13)


def test_name_budget_overflow_says_which_name_and_by_how_much(repo, crd_dir):
    name = "x" * 30
    found = run(repo, crd_dir, {f"{name}.yaml": BASE.replace("iris", name)}).diagnostics
    assert {d.code for d in found} == {"MO210"}
    assert {(d.line, d.col) for d in found} == {(1, 7)}
    messages = sorted(d.message for d in found)
    assert messages == [
        f"Deployment of variant 'main' name '{name}-main-0-{name}' is 68 characters, "
        "5 over Kubernetes' 63: shorten the model or variant name",
        f"model Service of variant 'main' name '{name}-main-{name}' is 66 characters, "
        "3 over Kubernetes' 63: shorten the model or variant name",
    ]


def test_long_variant_name_overflows_budget(repo, crd_dir):
    variant = "v" * 52
    found = diagnostics(repo, crd_dir, BASE + f"traffic:\n  {variant}: {{}}\n")
    assert [(d.line, d.col, d.code) for d in found] == [(1, 7, "MO210")]
    assert (
        f"Deployment of variant '{variant}' name 'iris-{variant}-0-iris' is 64 characters, "
        "1 over" in found[0].message
    )


def test_name_collision_between_models(repo, crd_dir):
    models = {
        "a-b.yaml": BASE.replace("name: iris", "name: a-b"),
        "a.yaml": BASE.replace("name: iris", "name: a") + "traffic:\n  b-main: {}\n",
    }
    found = run(repo, crd_dir, models).diagnostics
    assert {d.code for d in found} == {"MO211"}
    assert {(d.path, d.line, d.col) for d in found} == {("models/a.yaml", 1, 7)}
    assert any(
        "Service of variant 'b-main' name 'a-b-main' collides with model 'a-b''s Service of "
        "variant 'main' in production/models" in d.message
        for d in found
    )


def test_same_names_in_different_namespaces_do_not_collide(repo, crd_dir):
    models = {
        "a-b.yaml": BASE.replace("name: iris", "name: a-b") + "environments:\n  staging: {}\n",
        "a.yaml": BASE.replace("name: iris", "name: a")
        + "traffic:\n  b-main: {}\nenvironments:\n  production: {}\n",
    }
    assert run(repo, crd_dir, models).diagnostics == []


def test_variant_named_metrics_collides_with_metrics_service(repo, crd_dir):
    text = BASE + "traffic:\n  main: {weight: 90}\n  metrics: {weight: 10}\n"
    found = diagnostics(repo, crd_dir, text)
    assert any(d.code == "MO211" and "iris-metrics" in d.message for d in found)


def test_two_files_with_the_same_model_name_are_refused(repo, crd_dir):
    models = {
        "a.yaml": BASE.replace("name: iris", "name: a"),
        "a.yml": BASE.replace("name: iris", "name: a").replace("iris/1", "iris/2"),
    }
    result = run(repo, crd_dir, models)
    assert result.diagnostics, sorted(result.files)


def test_diagnostic_for_key_with_newline_is_one_line(repo, crd_dir):
    found = diagnostics(repo, crd_dir, BASE + 'environments: {"x\\ny": 5}\n')
    assert found
    assert all("\n" not in str(d) for d in found), [str(d) for d in found]


def test_control_character_is_one_line_at_its_position(repo, crd_dir):
    found = diagnostics(repo, crd_dir, BASE + "description: a\x00b\n")
    assert [d.code for d in found] == ["MO001"]
    assert "\n" not in str(found[0])
    assert (found[0].line, found[0].col) == (6, 15)


def test_all_errors_of_a_run_are_reported(repo, crd_dir):
    models = {
        "a.yaml": BASE.replace("name: iris", "name: a") + "replicas: 25\nreplica: 1\n",
        "b.yaml": BASE.replace("name: iris", "name: b").replace("team: risk", "team: fraud")
        + "traffic:\n  main: {weight: 50}\n  canary: {weight: 20}\n",
        "c.yaml": "name: c\nteam: [risk\n",
    }
    result = run(repo, crd_dir, models)
    assert result.files == {}
    got = {(d.path, d.line, d.col, d.code) for d in result.diagnostics}
    assert got == {
        ("models/a.yaml", 7, 1, "MO101"),  # validation stops this file before its rules
        ("models/b.yaml", 2, 7, "MO202"),
        ("models/b.yaml", 6, 1, "MO224"),
        ("models/c.yaml", 3, 1, "MO001"),
    }


def test_all_rule_errors_of_one_file_are_reported(repo, crd_dir):
    text = BASE + "replicas: 25\nresources:\n  requests: {cpu: '2'}\n  limits: {cpu: '1'}\n"
    codes = sorted(d.code for d in diagnostics(repo, crd_dir, text))
    assert codes == ["MO240", "MO250"]


# --- the merge rule of modelops.compile.resolve -----------------------------------------------------

MERGE = """\
name: eta
team: risk
framework: xgboost
artifact:
  uri: s3://acme-models/eta/11
  secret: s3-readonly
  mlflow: {model: eta, version: 11}
resources:
  requests: {cpu: 250m}
  limits: null
autoscaling:
  min: 2
  max: 10
  cpu: 70
traffic:
  main: {weight: 80}
  canary:
    weight: 20
    artifact:
      secret: other-secret
environments:
  staging:
    autoscaling: null
    replicas: 1
  production:
    autoscaling: {max: 15}
    traffic:
      main: {}
      challenger:
        shadow: true
        artifact:
          uri: s3://acme-models/eta/12
"""


@pytest.fixture
def merged(repo, crd_dir) -> dict[str, dict]:
    result = run(repo, crd_dir, {"eta.yaml": MERGE})
    assert [str(d) for d in result.diagnostics] == []
    return {
        env: {
            p["name"]: p
            for p in by_kind(result.files[f"{env}/{ns}/eta.yaml"])["SeldonDeployment"]["spec"]["predictors"]
        }
        for env, ns in (("production", "models"), ("staging", "models-staging"))
    }


def test_merge_environment_override_deep_merges_autoscaling(merged):
    main = merged["production"]["main"]
    assert main["componentSpecs"][0]["hpaSpec"] == {
        "minReplicas": 2,
        "maxReplicas": 15,
        "metricsv2": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    }
    assert "replicas" not in main


def test_merge_null_removes_inherited_setting(merged):
    for predictor in merged["staging"].values():
        assert "hpaSpec" not in predictor["componentSpecs"][0]
        assert predictor["replicas"] == 1
    # `limits: null` in the model removes the repo default limit; requests merge key by key
    resources = merged["staging"]["main"]["componentSpecs"][0]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "250m", "memory": "256Mi"}}


def test_merge_traffic_replaces_whole(merged):
    assert sorted(merged["staging"]) == ["canary", "main"]
    assert merged["staging"]["main"]["traffic"] == 80
    assert merged["staging"]["canary"]["traffic"] == 20
    assert sorted(merged["production"]) == ["challenger", "main"]
    assert merged["production"]["main"]["traffic"] == 100
    assert merged["production"]["challenger"]["shadow"] is True
    assert "traffic" not in merged["production"]["challenger"]


def test_merge_artifact_uri_override_drops_mlflow_keeps_secret(merged):
    challenger = merged["production"]["challenger"]
    assert challenger["graph"]["modelUri"] == "s3://acme-models/eta/12"
    assert challenger["graph"]["envSecretRefName"] == "s3-readonly"
    assert challenger["labels"]["modelops.io/version"].startswith("sha-")
    assert challenger["componentSpecs"][0]["hpaSpec"]["maxReplicas"] == 15
    main = merged["production"]["main"]
    assert main["graph"]["modelUri"] == "s3://acme-models/eta/11"
    assert main["labels"]["modelops.io/version"] == "11"


def test_merge_artifact_override_without_uri_keeps_uri_and_mlflow(merged):
    canary = merged["staging"]["canary"]
    assert canary["graph"]["modelUri"] == "s3://acme-models/eta/11"
    assert canary["graph"]["envSecretRefName"] == "other-secret"
    assert canary["labels"]["modelops.io/version"] == "11"


def test_huge_exponent_quantity_does_not_crash(repo, crd_dir):
    text = BASE + "resources:\n  requests: {cpu: 1e9999999}\n  limits: {cpu: '1'}\n"
    found = diagnostics(repo, crd_dir, text)
    assert found and all(d.code.startswith("MO") for d in found)


def test_negative_exponent_quantity_keeps_its_sign():
    assert quantity_value("-1e3") == -1000


def test_rollout_steps_must_increase(tmp_path: Path) -> None:
    """A check the JSON Schema cannot express (it accepts the file): not in BAD, which the
    schema/CLI agreement test shares."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "modelops.yaml").write_text(CONFIG)
    (root / "models" / "iris.yaml").write_text(BASE + "rollout: {steps: [25, 10]}\n")
    assert [str(d) for d in build(root, None, None).diagnostics] == [
        "models/iris.yaml:6:10: MO100 rollout: rollout.steps must increase, e.g. [10, 25, 50]"]
