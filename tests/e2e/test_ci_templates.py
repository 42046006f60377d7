"""The GitHub Action (action.yml), the GitLab component (templates/), the scripts both run (ci/) and
this repository's own workflows, which use the Action as another repository would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECK_JSONSCHEMA = str(BIN / "check-jsonschema")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "templates" / "modelops.yml"
PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+")
LOCAL_ACTION = re.compile(r"\./  # zizmor: ignore\[self-repository\] .*")


def release() -> str:
    """The newest release in CHANGELOG.md: the tag every template installs."""
    found = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert found
    return f"v{found.group(1)}"


def check(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True)


def test_github_workflows_and_the_action_are_valid() -> None:
    assert {w.name for w in WORKFLOWS} == {"modelops-pr.yml", "modelops-main.yml",
                                            "modelops-autoupdate.yml", "release.yml", "docs.yml"}
    done = check("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    done = check("vendor.github-actions", ACTION)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    stepz: []\n")
    assert check("vendor.github-workflows", broken).returncode != 0


def test_gitlab_component_is_valid(tmp_path: Path) -> None:
    spec, jobs = yaml.safe_load_all(GITLAB.read_text())
    assert set(spec["spec"]["inputs"]) >= {"version", "source", "image"}
    jobs_file = tmp_path / "jobs.yml"
    jobs_file.write_text(yaml.safe_dump(jobs))
    done = check("vendor.gitlab-ci", jobs_file)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflows_run_the_action_and_the_action_runs_the_scripts() -> None:
    scripts = {p.name: p.read_text() for p in (ROOT / "ci").glob("*.sh")}
    assert "modelops compile --check" in scripts["pr.sh"] and "modelops validate" in scripts["pr.sh"]
    assert "modelops schema --check" in scripts["pr.sh"]
    assert "--comment" in scripts["pr.sh"] and "--gitlab-note" in scripts["pr.sh"]
    assert all("set -euo pipefail" in text for text in scripts.values())
    assert "modelops sync" in scripts["merge.sh"] and "modelops compile --check" in scripts["merge.sh"]
    assert "modelops autoupdate" in scripts["schedule.sh"] and "modelops rollout" in scripts["schedule.sh"]
    action = ACTION.read_text()
    for script in ("pr.sh", "merge.sh", "schedule.sh", "environments.sh"):
        assert f'"$ACTION_PATH/ci/{script}"' in action
    for workflow in WORKFLOWS:
        if workflow.name in ("release.yml", "docs.yml"):  # they build this project, not model files
            continue
        steps = [s for job in jobs(workflow).values() for s in job["steps"]]
        assert any(s.get("uses") == "./" for s in steps), workflow.name
        assert not any("pip install" in s.get("run", "") or "ci/" in s.get("run", "") for s in steps)


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
            "BASE_REF": "", "GITHUB_BASE_REF": "", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "",
            "GITHUB_STEP_SUMMARY": "", "RUNNER_TEMP": str(tmp_path)}

    def checks(base: str) -> list[str]:  # the rollout gate judges against the same base as the review
        return [f"validate --base {base}", "compile --check", f"diff {base} HEAD -o markdown"]

    assert with_stub(tmp_path, "pr.sh", **none) == (0, checks("origin/main"))
    assert with_stub(tmp_path, "pr.sh", **{**none, "PR_NUMBER": "7", "GITHUB_TOKEN": "t"}) == (
        0, [*checks("origin/main")[:2], "diff origin/main HEAD -o markdown --comment 7"])
    assert with_stub(tmp_path, "pr.sh", **{**none, "CI_MERGE_REQUEST_IID": "3", "GITLAB_TOKEN": "g",
                                           "BASE_REF": "origin/dev"}) == (
        0, [*checks("origin/dev")[:2], "diff origin/dev HEAD -o markdown --gitlab-note"])
    assert with_stub(tmp_path, "pr.sh", **{**none, "GITHUB_BASE_REF": "release"}) == (
        0, checks("origin/release"))
    assert with_stub(tmp_path, "pr.sh", **{**none, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "dev"}) == (
        0, checks("origin/dev"))


def test_pr_checks_the_editor_schemas_and_leaves_the_checkout_clean(tmp_path: Path) -> None:
    """With schemas/ kept, schema --check runs; the review goes outside the working tree (and into
    the job summary on GitHub), never an untracked review.md."""
    (tmp_path / "schemas").mkdir()
    summary = tmp_path / "summary.md"
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    code, calls = with_stub(tmp_path, "pr.sh", BASE_REF="origin/main", PR_NUMBER="", GITHUB_TOKEN="",
                            CI_MERGE_REQUEST_IID="", RUNNER_TEMP=str(temp), GITHUB_STEP_SUMMARY=str(summary))
    assert code == 0 and calls[2] == "schema --check"
    assert not (tmp_path / "review.md").exists() and (temp / "modelops-review.md").exists()
    assert summary.exists()


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


def test_zizmor_auditor_finds_nothing_offline() -> None:
    """The auditor persona (false positives allowed) finds nothing in the workflows or the Action."""
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", "--persona", "auditor",
                           *map(str, WORKFLOWS), str(ACTION)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actions_are_pinned_by_commit_with_the_version_as_a_comment() -> None:
    for workflow in [*WORKFLOWS, ACTION]:
        uses = [line.split("uses:", 1)[1].strip() for line in workflow.read_text().splitlines()
                if line.strip().startswith(("uses:", "- uses:"))]
        assert uses, workflow.name
        for ref in uses:
            assert PINNED.fullmatch(ref) or LOCAL_ACTION.fullmatch(ref), f"{workflow.name}: {ref}"


def test_every_job_has_a_timeout_and_its_own_least_permissions() -> None:
    expected_writes = {("modelops-pr.yml", "check"): {"pull-requests"},
                       ("modelops-autoupdate.yml", "autoupdate"): {"contents", "pull-requests"},
                       ("release.yml", "publish"): {"id-token", "attestations"},
                       ("docs.yml", "deploy"): {"pages", "id-token"}}
    for workflow in WORKFLOWS:
        data = yaml.safe_load(workflow.read_text())
        assert data["permissions"] == {}, workflow.name
        for name, job in data["jobs"].items():
            assert 0 < job["timeout-minutes"] <= 30, (workflow.name, name)
            assert job["permissions"].get("contents") in ("read", "write"), (workflow.name, name)
            writes = {k for k, v in job["permissions"].items() if v == "write"}
            assert writes == expected_writes.get((workflow.name, name), set()), (workflow.name, name)


def test_the_docs_site_is_built_strictly_on_pull_requests_and_published_from_main_only() -> None:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    assert {"pull_request", "push"} <= set(data[True])
    assert data[True]["push"]["branches"] == ["main"]
    build, deploy = data["jobs"]["build"], data["jobs"]["deploy"]
    assert "mkdocs build --strict" in build["steps"][2]["run"]
    assert build["steps"][-1]["uses"].startswith("actions/upload-pages-artifact@")
    assert deploy["needs"] == "build" and "pull_request" in deploy["if"]
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages@")
    pinned = re.findall(r"'(mkdocs[\w-]*)([^']*)'", build["steps"][2]["run"])
    project = (ROOT / "pyproject.toml").read_text()
    for name, spec in pinned:  # the site is built with what `make lint` builds it with
        assert f'"{name}{spec}"' in project, name


def test_secrets_are_read_only_in_jobs_with_a_github_environment() -> None:
    for workflow in WORKFLOWS:
        for name, job in jobs(workflow).items():
            if "secrets." in yaml.safe_dump(job):
                assert job.get("environment"), (workflow.name, name)


def test_the_pr_workflow_checks_approvals_on_reviews_too() -> None:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "modelops-pr.yml").read_text())
    events = data[True]  # PyYAML reads the key `on` as True
    assert {"pull_request", "pull_request_review"} <= set(events)
    job = data["jobs"]["approvals"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert job["steps"][-1]["with"]["command"] == "approvals"
    assert 'modelops approvals --pr "$PULL_REQUEST"' in ACTION.read_text()


def test_checkouts_keep_no_credentials_except_the_job_that_pushes() -> None:
    for workflow in WORKFLOWS:
        for name, job in jobs(workflow).items():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    pushes = workflow.name == "modelops-autoupdate.yml"
                    assert step["with"]["persist-credentials"] is pushes, (workflow.name, name)


def test_the_action_and_the_component_install_from_their_tag_not_the_package_index() -> None:
    action = yaml.safe_load(ACTION.read_text())
    install = action["runs"]["steps"][1]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "${ACTION_PATH}' in install["run"]
    spec, component = yaml.safe_load_all(GITLAB.read_text())
    assert spec["spec"]["inputs"]["version"]["default"] == release()
    before = " ".join(component[".modelops"]["before_script"])
    assert '--branch "$[[ inputs.version ]]"' in before and 'pip install --quiet "$MODELOPS_SRC[' in before
    texts = [ACTION.read_text(), GITLAB.read_text(), *(w.read_text() for w in WORKFLOWS)]
    assert not any("modelops-gitops==" in text or "modelops-gitops[" in text for text in texts)
    for text in (ACTION.read_text(), GITLAB.read_text(), (ROOT / ".pre-commit-hooks.yaml").read_text()):
        tags = set(re.findall(r"@v\d+\.\d+\.\d+|rev: v\d+\.\d+\.\d+|default: v\d+\.\d+\.\d+", text))
        assert {tag.split()[-1].lstrip("@") for tag in tags} <= {release()}, tags


def test_deploy_syncs_each_environment_in_its_own_github_environment() -> None:
    deploy = jobs(ROOT / ".github" / "workflows" / "modelops-main.yml")
    sync = deploy["sync"]
    assert sync["needs"] == "plan"
    assert sync["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.plan.outputs.envs) }}"
    assert sync["environment"] == "${{ matrix.env }}"
    assert deploy["plan"]["outputs"]["envs"] == "${{ steps.envs.outputs.environments }}"
    assert deploy["plan"]["steps"][-1]["with"]["command"] == "environments"
    assert sync["steps"][-1]["with"] == {"command": "deploy", "environment": "${{ matrix.env }}"}
    assert "secrets" not in yaml.safe_dump(deploy["plan"])  # no cluster credentials outside an environment


def test_pr_workflow_fetches_history_for_the_rollout_gate() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "modelops-pr.yml").read_text())
    checkout = workflow["jobs"]["check"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0


def test_release_builds_once_tests_attests_and_publishes_without_a_token() -> None:
    release_jobs = jobs(ROOT / ".github" / "workflows" / "release.yml")
    assert yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())[True] == {
        "push": {"tags": ["v*.*.*"]}}
    assert release_jobs["publish"]["needs"] == ["build", "test"]
    uses = [s.get("uses", "") for s in release_jobs["publish"]["steps"]]
    assert any(u.startswith("actions/attest-build-provenance@") for u in uses)
    assert uses[-1].startswith("pypa/gh-action-pypi-publish@")
    assert "password" not in yaml.safe_dump(release_jobs["publish"])
    assert "python -m build" in release_jobs["build"]["steps"][-2]["run"]


def test_pre_commit_hooks_run_modelops() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["modelops-validate"]["entry"] == "modelops validate"
    assert hooks["modelops-compile"]["entry"] == "modelops compile"
    assert hooks["modelops-compile-check"]["entry"] == "modelops compile --check"
    assert hooks["modelops-schema-check"]["entry"] == "modelops schema --check"
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks.values())
