"""Shell completion as a shell asks for it: environments, models, rule codes and git refs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import fixtures

MODELS = {name: f"name: {name}\nteam: risk\nframework: sklearn\nartifact: {{uri: s3://acme-models/{name}/1}}\n"
          for name in ("churn-score", "eta-courier", "iris-classifier")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"{name}.yaml": text for name, text in MODELS.items()}
    return fixtures.make_repo(tmp_path / "repo", files, origin=tmp_path / "origin.git")


def complete(cwd: Path, line: str, shell: str = "bash") -> list[str]:
    """What `modelops` offers for the last word of `line` (bash: one `type,value` per line)."""
    words = line.split(" ")
    env = {**os.environ, "_MODELOPS_COMPLETE": f"{shell}_complete", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    done = subprocess.run([fixtures.modelops_path()], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr
    if shell == "zsh":
        lines = done.stdout.splitlines()
        return [f"{lines[i + 1]}:{lines[i + 2]}" for i in range(0, len(lines), 3)]
    return [item.split(",", 1)[1] for item in done.stdout.splitlines() if item]


def test_env_completes_the_environments_of_modelops_yaml(repo: Path) -> None:
    assert complete(repo, "modelops sync --env ") == ["production", "staging"]
    assert complete(repo, "modelops drift --env st") == ["staging"]
    assert complete(repo / "models", "modelops promote iris --env p") == ["production"]  # from a subfolder


def test_zsh_shows_each_environments_namespace(repo: Path) -> None:
    namespace = next(line.split(":")[1].strip() for line in (repo / "modelops.yaml").read_text().splitlines()
                     if "namespace:" in line)
    assert f"staging:namespace {namespace}" in complete(repo, "modelops sync --env s", "zsh")


def test_model_arguments_and_options_complete_model_names(repo: Path) -> None:
    assert complete(repo, "modelops promote ") == sorted(MODELS)
    assert complete(repo, "modelops rollback e") == ["eta-courier"]
    assert complete(repo, "modelops autoupdate --model i") == ["iris-classifier"]
    assert complete(repo, "modelops rollout --model c") == ["churn-score"]
    assert complete(repo, "modelops compare ") == sorted(MODELS)


def test_dash_c_names_the_repository_to_complete_from(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete(elsewhere, "modelops sync --env ") == []
    assert complete(elsewhere, f"modelops -C {repo} sync --env ") == ["production", "staging"]
    assert complete(elsewhere, f"modelops promote -C {repo} e") == ["eta-courier"]


def test_rule_completes_codes_with_their_titles(repo: Path) -> None:
    offered = complete(repo, "modelops rule mo20")
    assert offered and all(code.startswith("MO20") for code in offered)
    described = complete(repo, "modelops rule MO20", "zsh")
    assert any(item.startswith("MO201:") and "file name" in item for item in described)


def test_diff_completes_branches_and_tags(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "tag", "v1.0.0"], check=True)
    subprocess.run(["git", "-C", str(repo), "branch", "feature/eta"], check=True)
    offered = complete(repo, "modelops diff ")
    assert {"v1.0.0", "feature/eta", "HEAD"} <= set(offered)
    assert complete(repo, "modelops diff main feat") == ["feature/eta"]


def test_outside_any_repository_nothing_breaks(tmp_path: Path) -> None:
    assert complete(tmp_path, "modelops sync --env ") == []
    assert complete(tmp_path, "modelops diff ") == []  # not a git repository


def test_the_shell_script_is_what_the_docs_say_to_eval(repo: Path) -> None:
    env = {**os.environ, "_MODELOPS_COMPLETE": "bash_source"}
    done = subprocess.run([fixtures.modelops_path()], env=env, capture_output=True, text=True, check=True)
    assert "_modelops_completion" in done.stdout and "complete -o nosort -F" in done.stdout
