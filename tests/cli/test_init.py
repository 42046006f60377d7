"""`modelops init` in an empty repository: what it writes validates, compiles and lints at once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from modelops.compile.scaffold import MODEL_PATH, RELEASE_TAG, model_text
from support.fixtures import git, run

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def empty_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.mark.parametrize("target", ["seldon-v1", "kserve"])
def test_init_then_validate_compile_and_every_check_pass(tmp_path: Path, target: str) -> None:
    root = empty_repo(tmp_path)
    done = run(root, "init", "--target", target, crd_dir=None)
    assert done.returncode == 0, done.stderr
    assert "wrote modelops.yaml" in done.stdout and "wrote .github/workflows/modelops.yml" in done.stdout
    for command in (["validate"], ["compile"], ["compile", "--check"], ["schema", "--check"]):
        checked = run(root, *command, crd_dir=None)
        assert checked.returncode == 0, (command, checked.stdout + checked.stderr)
    assert (root / "generated" / "production" / "models" / "eta-courier.yaml").is_file()
    git(root, "add", "-A")
    assert ".modelops-cache/" not in git(root, "status", "--porcelain")  # ignored, as init wrote


def test_init_overwrites_nothing_without_force(tmp_path: Path) -> None:
    root = empty_repo(tmp_path)
    (root / "modelops.yaml").write_text("environments: {}\n")
    done = run(root, "init", crd_dir=None)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == ["modelops.yaml:1:1: MO050 modelops.yaml exists: `modelops init` "
                                        "overwrites nothing; move it away or pass --force"]
    assert sorted(p.name for p in root.iterdir()) == [".git", "modelops.yaml"]  # nothing written
    forced = run(root, "init", "--force", crd_dir=None)
    assert forced.returncode == 0 and "replaced modelops.yaml" in forced.stdout
    assert run(root, "validate", crd_dir=None).returncode == 0


def test_init_adds_to_an_existing_gitignore_and_asks_for_environments(tmp_path: Path) -> None:
    root = empty_repo(tmp_path)
    (root / ".gitignore").write_text("node_modules/")
    assert run(root, "init", "--env", "dev", "--env", "prod-eu", crd_dir=None).returncode == 0
    assert (root / ".gitignore").read_text().startswith("node_modules/\n# modelops")
    config = yaml.safe_load((root / "modelops.yaml").read_text())
    assert sorted(config["environments"]) == ["dev", "prod-eu"]
    assert run(root, "compile", crd_dir=None).returncode == 0
    assert sorted(p.name for p in (root / "generated").iterdir()) == ["dev", "prod-eu"]


def test_a_bad_environment_name_is_one_line(tmp_path: Path) -> None:
    root = empty_repo(tmp_path)
    done = run(root, "init", "--env", "Prod", crd_dir=None)
    assert done.returncode == 1
    assert done.stderr.startswith("modelops.yaml:1:1: MO051 environment names 'Prod'")
    assert sorted(p.name for p in root.iterdir()) == [".git"]


def test_the_workflow_and_hooks_pin_the_release_and_lint_clean(tmp_path: Path) -> None:
    root = empty_repo(tmp_path)
    assert run(root, "init", crd_dir=None).returncode == 0
    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest and f"v{newest.group(1)}" == RELEASE_TAG
    workflow = root / ".github" / "workflows" / "modelops.yml"
    assert f"uses: modelops-gitops/modelops@{RELEASE_TAG}" in workflow.read_text()
    linted = subprocess.run([str(BIN / "actionlint"), str(workflow)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"][0]
    assert hooks["rev"] == RELEASE_TAG
    ours = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in hooks["hooks"]} <= ours


def test_the_readme_tour_shows_the_model_init_writes() -> None:
    """The tour's model is init's, so it fits the modelops.yaml init writes (no MO203)."""
    readme = (ROOT / "README.md").read_text()
    assert model_text(["staging", "production"]) in readme
    assert MODEL_PATH in readme
