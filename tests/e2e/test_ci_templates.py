"""The CI templates in ci/ and this repository's own workflows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECK_JSONSCHEMA = str(BIN / "check-jsonschema")
WORKFLOWS = sorted((ROOT / "ci" / "github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+")


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
    assert "--comment" in scripts["pr.sh"] and "--gitlab-note" in scripts["pr.sh"]
    assert all("set -euo pipefail" in text for text in scripts.values())
    assert "modelops sync" in scripts["merge.sh"] and "modelops compile --check" in scripts["merge.sh"]
    assert "modelops autoupdate" in scripts["schedule.sh"] and "modelops rollout" in scripts["schedule.sh"]
    for workflow in WORKFLOWS:
        steps = [s for job in yaml.safe_load(workflow.read_text())["jobs"].values() for s in job["steps"]]
        runs = [s["run"] for s in steps if "run" in s]
        assert any(r.startswith("ci/") for r in runs), workflow.name


STUB = """#!/usr/bin/env bash
echo "$*" >> "$STUB_LOG"
if [ "$1" = environments ]; then
  [ -n "${STUB_ENVS_FAIL:-}" ] && { echo "modelops.yaml:3:5: MO010 broken" >&2; exit 1; }
  printf 'production\\nstaging\\n'
fi
"""


def stubbed(tmp_path: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ci/SCRIPT with a `modelops` stand-in that logs its arguments to calls.log."""
    stub = tmp_path / "bin" / "modelops"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    path = f"{stub.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run([str(ROOT / "ci" / script), *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "STUB_LOG": str(log), **env})


def with_stub(tmp_path: Path, script: str, *args: str, **env: str) -> tuple[int, list[str]]:
    """The exit code of ci/SCRIPT and the modelops commands it ran: the script's own logic."""
    done = stubbed(tmp_path, script, *args, **env)
    return done.returncode, (tmp_path / "calls.log").read_text().splitlines()


def test_merge_syncs_every_ci_environment_or_the_ones_named(tmp_path: Path) -> None:
    assert with_stub(tmp_path, "merge.sh") == (0, [
        "compile --check", "environments --sync ci",
        "sync --env production --prune", "sync --env staging --prune"])
    only = with_stub(tmp_path, "merge.sh", "staging")
    assert only == (0, ["compile --check", "sync --env staging --prune"])


def test_merge_fails_when_the_environments_cannot_be_listed(tmp_path: Path) -> None:
    code, calls = with_stub(tmp_path, "merge.sh", STUB_ENVS_FAIL="1")
    assert code == 1 and calls == ["compile --check", "environments --sync ci"]
    code, _ = with_stub(tmp_path, "environments.sh", STUB_ENVS_FAIL="1")
    assert code == 1


def test_environments_are_a_json_list_for_the_matrix(tmp_path: Path) -> None:
    done = stubbed(tmp_path, "environments.sh")
    assert done.returncode == 0 and json.loads(done.stdout) == ["production", "staging"]


def test_pr_posts_on_github_or_gitlab_as_configured(tmp_path: Path) -> None:
    none = {"PR_NUMBER": "", "GITHUB_TOKEN": "", "CI_MERGE_REQUEST_IID": "", "GITLAB_TOKEN": "",
            "BASE_REF": "", "GITHUB_BASE_REF": "", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": ""}

    def checks(base: str) -> list[str]:  # the rollout gate judges against the same base as the review
        return [f"validate --base {base}", "compile --check", f"diff {base} HEAD --format markdown"]

    assert with_stub(tmp_path, "pr.sh", **none) == (0, checks("origin/main"))
    assert with_stub(tmp_path, "pr.sh", **{**none, "PR_NUMBER": "7", "GITHUB_TOKEN": "t"}) == (
        0, [*checks("origin/main")[:2], "diff origin/main HEAD --format markdown --comment 7"])
    assert with_stub(tmp_path, "pr.sh", **{**none, "CI_MERGE_REQUEST_IID": "3", "GITLAB_TOKEN": "g",
                                           "BASE_REF": "origin/dev"}) == (
        0, [*checks("origin/dev")[:2], "diff origin/dev HEAD --format markdown --gitlab-note"])
    assert with_stub(tmp_path, "pr.sh", **{**none, "GITHUB_BASE_REF": "release"}) == (
        0, checks("origin/release"))
    assert with_stub(tmp_path, "pr.sh", **{**none, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "dev"}) == (
        0, checks("origin/dev"))


def jobs(workflow: Path) -> dict[str, dict]:
    return yaml.safe_load(workflow.read_text())["jobs"]


def test_actionlint_passes_on_every_workflow() -> None:
    done = subprocess.run([str(BIN / "actionlint"), *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_deprecated_node20_action(tmp_path: Path) -> None:
    old = tmp_path / "old.yml"
    old.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n")
    done = subprocess.run([str(BIN / "actionlint"), str(old)], capture_output=True, text=True)
    assert done.returncode == 1 and "node20" in done.stdout


def test_zizmor_finds_nothing_offline() -> None:
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actions_are_pinned_by_commit_with_the_version_as_a_comment() -> None:
    for workflow in WORKFLOWS:
        uses = [line.split("uses:", 1)[1].strip() for line in workflow.read_text().splitlines()
                if line.strip().startswith(("uses:", "- uses:"))]
        assert uses, workflow.name
        for ref in uses:
            assert PINNED.fullmatch(ref), f"{workflow.name}: {ref}"


def test_every_job_has_a_timeout_and_its_own_least_permissions() -> None:
    for workflow in WORKFLOWS:
        data = yaml.safe_load(workflow.read_text())
        assert data["permissions"] == {}, workflow.name
        for name, job in data["jobs"].items():
            assert 0 < job["timeout-minutes"] <= 30, (workflow.name, name)
            assert job["permissions"].get("contents") in ("read", "write"), (workflow.name, name)
            writes = {k for k, v in job["permissions"].items() if v == "write"}
            expected = {"modelops-pr.yml": {"pull-requests"},
                        "modelops-autoupdate.yml": {"contents", "pull-requests"}}.get(workflow.name, set())
            if name == "approvals":  # reads reviews only: its token must not be able to approve
                expected = set()
            assert writes == expected, (workflow.name, name)


def test_the_pr_workflow_checks_approvals_on_reviews_too() -> None:
    data = yaml.safe_load((ROOT / "ci" / "github" / "workflows" / "modelops-pr.yml").read_text())
    events = data[True]  # PyYAML reads the key `on` as True
    assert {"pull_request", "pull_request_review"} <= set(events)
    job = data["jobs"]["approvals"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert any("modelops approvals --pr" in step.get("run", "") for step in job["steps"])


def test_checkouts_keep_no_credentials_except_the_job_that_pushes() -> None:
    for workflow in WORKFLOWS:
        for name, job in jobs(workflow).items():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    pushes = workflow.name == "modelops-autoupdate.yml"
                    assert step["with"]["persist-credentials"] is pushes, (workflow.name, name)


def test_templates_install_the_pinned_release_unless_told_otherwise() -> None:
    """Each template pins this version of the distribution; MODELOPS_PIP_SPEC overrides it."""
    pin = re.escape(f"=={tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['version']}")
    default = re.compile(r"\$\{\{ vars\.MODELOPS_PIP_SPEC \|\| 'modelops-gitops(\[[a-z,]+\])?"
                         + pin + r"' \}\}")
    for workflow in WORKFLOWS:
        for job in jobs(workflow).values():
            installs = [s for s in job["steps"] if "pip install" in s.get("run", "")]
            assert len(installs) == 1 and installs[0]["run"] == 'python -m pip install "$MODELOPS_PIP_SPEC"'
            spec = installs[0]["env"]["MODELOPS_PIP_SPEC"]
            assert default.fullmatch(spec), spec
    gitlab_text = (ROOT / "ci" / "gitlab" / "modelops.gitlab-ci.yml").read_text()
    gitlab = yaml.safe_load(gitlab_text)
    spec = gitlab[".modelops"]["variables"]["MODELOPS_PIP_SPEC"]
    assert re.fullmatch(r"modelops-gitops\[[a-z,]+\]" + pin, spec), spec
    assert 'pip install -q "$MODELOPS_PIP_SPEC"' in gitlab[".modelops"]["before_script"]
    texts = [w.read_text() for w in WORKFLOWS] + [gitlab_text]
    assert not any("MODELOPS_CRD_DIR" in text or "pip install -e" in text for text in texts)


def test_deploy_syncs_each_environment_in_its_own_github_environment() -> None:
    deploy = jobs(ROOT / "ci" / "github" / "workflows" / "modelops-main.yml")
    sync = deploy["sync"]
    assert sync["needs"] == "plan"
    assert sync["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.plan.outputs.envs) }}"
    assert sync["environment"] == "${{ matrix.env }}"
    assert deploy["plan"]["outputs"]["envs"] == "${{ steps.envs.outputs.envs }}"
    assert "ci/environments.sh" in deploy["plan"]["steps"][-1]["run"]
    assert sync["steps"][-1]["run"] == 'ci/merge.sh "$MODELOPS_ENV"'
    assert "secrets" not in yaml.safe_dump(deploy["plan"])  # no cluster credentials outside an environment


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
