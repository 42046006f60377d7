"""The CI templates in ci/ and this repository's own workflows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
WORKFLOWS = sorted((ROOT / "ci" / "github" / "workflows").glob("*.yml"))


def check(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True)


def test_github_workflows_are_valid() -> None:
    assert len(WORKFLOWS) == 3
    own = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    done = check("vendor.github-workflows", *WORKFLOWS, *own)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    stepz: []\n")
    assert check("vendor.github-workflows", broken).returncode != 0


def test_this_repository_uses_the_templates_as_they_are() -> None:
    for template in WORKFLOWS:
        assert (ROOT / ".github" / "workflows" / template.name).read_text() == template.read_text()


def test_gitlab_template_is_valid() -> None:
    done = check("vendor.gitlab-ci", ROOT / "ci" / "gitlab" / "modelops.gitlab-ci.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_keep_logic_in_modelops_commands() -> None:
    scripts = {p.name: p.read_text() for p in (ROOT / "ci").glob("*.sh")}
    assert "modelops compile --check" in scripts["pr.sh"] and "modelops validate" in scripts["pr.sh"]
    assert "--comment" in scripts["pr.sh"]
    assert "modelops sync" in scripts["merge.sh"] and "modelops compile --check" in scripts["merge.sh"]
    assert "modelops autoupdate" in scripts["schedule.sh"]
    for workflow in WORKFLOWS:
        steps = [s for job in yaml.safe_load(workflow.read_text())["jobs"].values() for s in job["steps"]]
        runs = [s["run"] for s in steps if "run" in s]
        assert any(r.startswith("ci/") for r in runs), workflow.name


def test_pr_workflow_fetches_history_for_the_rollout_gate() -> None:
    workflow = yaml.safe_load((ROOT / "ci" / "github" / "workflows" / "modelops-pr.yml").read_text())
    checkout = workflow["jobs"]["check"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0


def test_pre_commit_hooks_run_modelops() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["modelops-validate"]["entry"] == "modelops validate"
    assert hooks["modelops-compile"]["entry"] == "modelops compile"
    assert hooks["modelops-compile-check"]["entry"] == "modelops compile --check"
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks.values())
