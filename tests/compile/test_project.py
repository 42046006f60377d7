"""Project: modelops.yaml and the model files loaded once, from the working tree or a git ref."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelops.compile.project import Project
from modelops.diagnostics import UserError
from modelops.git.history import open_project
from support.fixtures import CONFIG, IRIS, git, make_repo

SEARCH = IRIS.replace("name: iris", "name: ranker").replace("team: risk", "team: search") \
    .replace("iris/1", "ranker/1")


def _commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def test_the_working_tree_and_a_ref_are_read_apart(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS}, origin=tmp_path / "origin.git")
    (root / "models" / "ranker.yaml").write_text(SEARCH, encoding="utf-8")
    (root / "models" / "iris.yaml").write_text(IRIS.replace("iris/1", "iris/2"), encoding="utf-8")
    project = open_project(root)

    tree = project.models()
    assert [file.path for file in tree] == ["models/iris.yaml", "models/ranker.yaml"]
    head = project.models("HEAD")
    assert [file.path for file in head] == ["models/iris.yaml"]
    uris = {(m.spec.name, m.env): m.main.settings.get("artifact", "uri") for m in project.resolved()}
    assert uris[("iris", "production")] == "s3://acme-models/iris/2"
    assert uris[("ranker", "staging")] == "s3://acme-models/ranker/1"
    at_head = {m.main.settings.get("artifact", "uri") for m in project.resolved("HEAD")}
    assert at_head == {"s3://acme-models/iris/1"}


def test_models_are_read_once_per_ref(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    project = Project.load(root)
    first = project.models()
    (root / "models" / "ranker.yaml").write_text(SEARCH, encoding="utf-8")
    assert project.models() is first  # loaded once: a later call does not read the tree again


def test_an_invalid_model_file_is_listed_with_its_errors(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "bad.yaml": "name: bad\nteam: [x]\n"},
                     origin=tmp_path / "origin.git")
    project = open_project(root)
    for files in (project.models(), project.models("HEAD")):
        bad = next(file for file in files if file.stem == "bad")
        assert bad.model is None and bad.errors
    assert {m.spec.name for m in project.resolved("HEAD")} == {"iris"}


def test_past_resolves_each_version_in_one_environment(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS}, origin=tmp_path / "origin.git")
    first = git(root, "rev-parse", "HEAD").strip()
    (root / "models" / "iris.yaml").write_text("not: [valid\n", encoding="utf-8")
    broken = _commit(root, "broken")
    only_staging = IRIS.replace("iris/1", "iris/3") + "environments:\n  staging: {}\n"
    (root / "models" / "iris.yaml").write_text(only_staging, encoding="utf-8")
    newest = _commit(root, "staging only")
    project = open_project(root)

    production = list(project.past("models/iris.yaml", "production", "HEAD"))
    assert [commit for commit, _ in production] == [newest, broken, first]
    assert production[0][1] is None and production[1][1] is None  # not in production; unparsable
    past = production[2][1]
    assert past is not None and past.main.settings.get("artifact", "uri") == "s3://acme-models/iris/1"
    staging = dict(project.past("models/iris.yaml", "staging", "HEAD"))
    assert staging[newest] is not None
    assert staging[newest].main.settings.get("artifact", "uri") == "s3://acme-models/iris/3"


def test_a_missing_config_is_a_user_error_when_required(tmp_path: Path) -> None:
    project = Project.load(tmp_path)
    assert project.config is None and project.resolved() == []
    with pytest.raises(UserError) as raised:
        project.require()
    assert raised.value.diagnostics[0].code == "MO010"


def test_a_project_without_git_refuses_to_read_a_ref(tmp_path: Path) -> None:
    project = Project.load(make_repo(tmp_path / "repo", {"iris.yaml": IRIS}, CONFIG))
    with pytest.raises(TypeError):
        project.models("HEAD")
