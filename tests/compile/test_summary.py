"""Checks across models and environments, on fresh and on cached summaries."""

from __future__ import annotations

from modelops.compile.pipeline import build
from support.fixtures import CONFIG, IRIS

BASE = IRIS


def test_environment_overriding_into_another_environments_namespace_is_refused(repo, crd_dir):
    text = BASE + "environments:\n  staging: {}\n  production:\n    namespace: models-staging\n"
    root = repo({"iris.yaml": text})
    found = build(root, crd_dir=crd_dir).diagnostics
    assert {(d.path, d.line, d.col, d.code) for d in found} == {("models/iris.yaml", 9, 5, "MO212")}
    assert ("is generated both by model 'iris' in environment 'production' and by model 'iris' in "
            "'staging'") in found[0].message
    assert not (root / "generated").exists()


def test_two_models_in_two_environments_sharing_a_namespace_are_refused(repo, crd_dir):
    models = {
        "a-b.yaml": BASE.replace("name: iris", "name: a-b") + "environments:\n  staging: {}\n",
        "a.yaml": BASE.replace("name: iris", "name: a")
        + "traffic:\n  b-main: {}\nenvironments:\n  production:\n    namespace: models-staging\n",
    }
    found = build(repo(models), crd_dir=crd_dir).diagnostics
    assert {(d.path, d.line, d.col, d.code) for d in found} == {("models/a.yaml", 10, 5, "MO212")}
    assert "model 'a-b' in environment" in found[0].message and "model 'a' in" in found[0].message


def test_environments_sharing_a_namespace_in_modelops_yaml_are_refused_there(repo, crd_dir):
    config = CONFIG.replace("namespace: models\n", "namespace: models-staging\n")
    found = build(repo({"iris.yaml": BASE}, config), crd_dir=crd_dir).diagnostics
    assert {(d.path, d.line, d.code) for d in found} == {("modelops.yaml", 6, "MO212")}


def test_the_clash_is_found_when_every_model_comes_from_the_cache(repo, crd_dir):
    root = repo({"iris.yaml": BASE})
    assert build(root, crd_dir=crd_dir).diagnostics == []
    other = BASE.replace("name: iris", "name: other")
    (root / "models" / "other.yaml").write_text(other, encoding="utf-8")
    assert build(root, crd_dir=crd_dir).diagnostics == []
    (root / "modelops.yaml").write_text(
        CONFIG.replace("namespace: models\n", "namespace: models-staging\n"), encoding="utf-8")
    assert build(root, crd_dir=crd_dir).diagnostics  # config changed: re-rendered
    (root / "modelops.yaml").write_text(CONFIG, encoding="utf-8")
    assert build(root, crd_dir=crd_dir).diagnostics == []
    text = BASE + "environments:\n  staging: {}\n  production:\n    namespace: models-staging\n"
    (root / "models" / "iris.yaml").write_text(text, encoding="utf-8")
    found = build(root, crd_dir=crd_dir).diagnostics  # `other` comes from the cache
    assert [(d.path, d.code) for d in found] == [("models/iris.yaml", "MO212")]
