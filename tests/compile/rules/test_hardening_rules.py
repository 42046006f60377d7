"""Issue 27's refusals, as a user meets them: one line `path:line:col: CODE message` at the value to
change, exit 1, nothing written; and the opt-out in modelops.yaml's policy that lets each through."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fixtures import CONFIG, IRIS, make_repo, run


def compile_errors(root: Path) -> list[str]:
    """The error lines of `modelops compile` (which must fail, write nothing and print no traceback)."""
    done = run(root, "compile")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not (root / "generated").exists()
    *found, summary = done.stderr.splitlines()
    assert summary == f"Found {len(found)} error{'s' if len(found) > 1 else ''}.", done.stderr
    return found


def compiles(root: Path) -> None:
    done = run(root, "compile")
    assert done.returncode == 0, done.stderr


def with_policy(config: str, line: str) -> str:
    return config.replace("  max_replicas: 20\n", f"  max_replicas: 20\n  {line}\n")


# --- MO406: Kubernetes' own namespaces ---------------------------------------------------------


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "default"])
def test_an_environment_in_a_system_namespace_is_refused(tmp_path: Path, namespace: str) -> None:
    config = CONFIG.replace("namespace: models-staging", f"namespace: {namespace}")
    root = make_repo(tmp_path, {"iris.yaml": IRIS}, config)
    assert compile_errors(root) == [
        f"modelops.yaml:3:16: MO406 namespace {namespace!r} is one of Kubernetes' own (kube-system, "
        "kube-public, kube-node-lease, default): deploy into a namespace of your own, or list it in "
        "policy.allowed_system_namespaces in modelops.yaml"]


def test_a_model_moving_into_kube_system_is_refused_at_its_override(tmp_path: Path) -> None:
    model = IRIS + "environments:\n  staging: {}\n  production:\n    namespace: kube-system\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    [line] = compile_errors(root)
    assert line.startswith("models/iris.yaml:9:16: MO406 namespace 'kube-system' is one of Kubernetes' own")


def test_a_collector_in_default_is_refused(tmp_path: Path) -> None:
    config = CONFIG + "collector: {image: registry.example/modelops:1, namespace: default}\n"
    root = make_repo(tmp_path, {"iris.yaml": IRIS}, config)
    [line] = compile_errors(root)
    assert line.startswith("modelops.yaml:21:60: MO406 namespace 'default' is one of Kubernetes' own")


def test_policy_allows_a_system_namespace_by_name(tmp_path: Path) -> None:
    config = with_policy(CONFIG.replace("namespace: models-staging", "namespace: default"),
                         "allowed_system_namespaces: [default]")
    model = IRIS + "environments:\n  staging: {}\n  production:\n    namespace: kube-system\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, config)
    [line] = compile_errors(root)  # default is allowed, kube-system is not
    assert line.startswith("models/iris.yaml:9:16: MO406 namespace 'kube-system'")
    (root / "models" / "iris.yaml").write_text(IRIS)
    compiles(root)
    assert (root / "generated" / "staging" / "default" / "iris.yaml").is_file()


# --- MO407: variables that change which code the server loads ------------------------------------


@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "PYTHONPATH",
                                  "PYTHONHOME"])
def test_a_loader_variable_in_a_model_is_refused_at_its_name(tmp_path: Path, name: str) -> None:
    model = IRIS + f"env:\n  WORKERS: '2'\n  {name}: /tmp/x\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    assert compile_errors(root) == [
        f"models/iris.yaml:8:3: MO407 env {name} changes which code the model server loads (the dynamic "
        "loader's LD_*, PATH, PYTHONPATH, PYTHONHOME): remove it, or list it in policy.allowed_env in "
        "modelops.yaml"]


def test_a_loader_variable_in_an_environments_defaults_points_at_modelops_yaml(tmp_path: Path) -> None:
    config = CONFIG.replace("    namespace: models\n", "    namespace: models\n    defaults:\n"
                            "      env: {LD_PRELOAD: /opt/hook.so}\n")
    root = make_repo(tmp_path, {"iris.yaml": IRIS}, config)
    [line] = compile_errors(root)
    assert line.startswith("modelops.yaml:8:13: MO407 env LD_PRELOAD changes which code")


def test_a_loader_variable_of_a_graph_node_is_refused(tmp_path: Path) -> None:
    model = IRIS + ("graph:\n  nodes:\n    prep:\n      type: TRANSFORMER\n      image: acme/prep:1\n"
                    "      children: [iris]\n      env: {PYTHONPATH: /mnt/x}\n")
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    [line] = compile_errors(root)
    assert line.startswith("models/iris.yaml:12:13: MO407 env PYTHONPATH changes which code")


def test_policy_allows_a_loader_variable_by_name_and_similar_names_pass(tmp_path: Path) -> None:
    model = IRIS + "env:\n  LD_LIBRARY_PATH: /usr/local/cuda/lib64\n  MODEL_PATH: /mnt/models\n  path: x\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, with_policy(CONFIG, "allowed_env: [LD_LIBRARY_PATH]"))
    compiles(root)
    rendered = (root / "generated" / "staging" / "models-staging" / "iris.yaml").read_text()
    assert "LD_LIBRARY_PATH" in rendered and "MODEL_PATH" in rendered


# --- MO261: a generated value under a neutral name -----------------------------------------------

GENERATED = "Zx8Qm2Lp9Vt4Rk7Wn3Hs6Jd1Fy5Gb0Ca"  # 32 random-looking characters, no known token shape


def test_a_random_looking_value_under_a_neutral_name_is_refused_and_never_shown(tmp_path: Path) -> None:
    model = IRIS + f"env:\n  CONFIG: {GENERATED}\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    done = run(root, "compile", "-o", "json")
    assert done.returncode == 1
    assert GENERATED[:4] not in done.stdout + done.stderr  # not even the first characters
    found = compile_errors(root)
    assert found == [
        "models/iris.yaml:7:11: MO261 env CONFIG holds a random-looking run of 32 characters (5.0 bits "
        "each), like a generated credential: store it in a Kubernetes Secret, or list CONFIG in "
        "policy.allow_high_entropy in modelops.yaml if it is none"]
    assert GENERATED[:4] not in "".join(found)


def test_a_random_looking_value_inside_a_longer_value_and_of_a_graph_node(tmp_path: Path) -> None:
    model = IRIS + (f"env:\n  OPTS: --threads 4 --key={GENERATED}\n"
                    "graph:\n  nodes:\n    prep:\n      type: TRANSFORMER\n      image: acme/prep:1\n"
                    f"      children: [iris]\n      env: {{SALT: '{GENERATED}'}}\n")
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    found = compile_errors(root)
    assert [line.split(" holds")[0] for line in found] == [
        "models/iris.yaml:7:9: MO261 env OPTS", "models/iris.yaml:14:19: MO261 env SALT"]


@pytest.mark.parametrize("value", [
    "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",  # a sha256 digest
    "53d7b334-74eb-4067-bbf8-7ed9c2e61035",  # a UUID
    "/mnt/models/Resnet50_ImageNet1K_V2/Checkpoint_Epoch120",  # a path
    "sentence-transformers/all-MiniLM-L6-v2-Quantized2024",  # a Hugging Face model id
    "http://logger.seldon-logs.svc.cluster.local:8080",
    "org.apache.kafka.common.serialization.StringSerializer",
])
def test_ordinary_long_values_are_not_taken_for_credentials(tmp_path: Path, value: str) -> None:
    root = make_repo(tmp_path, {"iris.yaml": IRIS + f"env:\n  SETTING: '{value}'\n"}, CONFIG)
    compiles(root)


def test_policy_lets_a_named_random_value_through(tmp_path: Path) -> None:
    model = IRIS + f"env:\n  BUILD_ID: {GENERATED}\n  CONFIG: {GENERATED}\n"
    root = make_repo(tmp_path, {"iris.yaml": model}, with_policy(CONFIG, "allow_high_entropy: [BUILD_ID]"))
    [line] = compile_errors(root)
    assert line.startswith("models/iris.yaml:8:11: MO261 env CONFIG ")
    (root / "models" / "iris.yaml").write_text(IRIS + f"env:\n  BUILD_ID: {GENERATED}\n")
    compiles(root)


# --- MO232: whitespace and control characters in URIs --------------------------------------------


@pytest.mark.parametrize(("written", "named"), [
    (r'"s3://acme-models/iris/1\n# Approved [merge now](https://evil.example/)"',
     "a newline at character 24"),
    (r'"s3://acme-models/iris/1\t"', "a tab at character 24"),
    ('"s3://acme-models/iris 1"', "a space at character 22"),
    (r'"s3://acme-models/iris/\x00"', "the character U+0000 at character 23"),
    (r'"s3://acme-models/iris/\x1b[2J"', "the character U+001B at character 23"),
    (r'"s3://acme-models/iris/\x7f"', "the character U+007F at character 23"),
    (r'"s3://acme-models/iris/\u2028"', "the character U+2028 at character 23"),
])
def test_an_artifact_uri_with_whitespace_or_control_characters_is_refused(
        tmp_path: Path, written: str, named: str) -> None:
    model = IRIS.replace("  uri: s3://acme-models/iris/1", f"  uri: {written}")
    root = make_repo(tmp_path, {"iris.yaml": model}, CONFIG)
    assert compile_errors(root) == [
        f"models/iris.yaml:5:8: MO232 artifact URI has {named}: a URI carries no whitespace or control "
        "characters (percent-encode them, e.g. %20 for a space)"]


def test_a_variant_graph_node_and_store_uri_are_checked_where_written(tmp_path: Path) -> None:
    model = IRIS + ('traffic:\n  main: {weight: 90}\n  canary:\n    weight: 10\n'
                    '    artifact: {uri: "s3://acme-models/iris/2\\r"}\n'
                    'graph:\n  nodes:\n'
                    '    ensemble: {type: COMBINER, image: acme/c:1, children: [iris, xgb]}\n'
                    '    xgb:\n      type: MODEL\n      framework: xgboost\n'
                    '      uri: "s3://acme-models/xgb 1"\n')
    config = CONFIG + 'stores:\n  default: {uri: "s3://acme-predictions/\\x01"}\n'
    root = make_repo(tmp_path, {"iris.yaml": model}, config)
    assert [line.split(": a URI")[0] for line in compile_errors(root)] == [
        "modelops.yaml:22:18: MO232 store URI has the character U+0001 at character 23"]
    (root / "modelops.yaml").write_text(CONFIG)
    assert [line.split(": a URI")[0] for line in compile_errors(root)] == [
        "models/iris.yaml:10:21: MO232 artifact URI has a carriage return at character 24",
        "models/iris.yaml:17:12: MO232 graph node URI has a space at character 21"]
