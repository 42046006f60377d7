"""`modelops approvals --pr N` against the fake GitHub: every required group, on the current head."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from modelops.cli.main import cli
from support.fake_github_pulls import FakeGitHubPulls
from support.fixtures import CONFIG

HEAD = "a" * 40
PROTECTED = CONFIG.replace("    namespace: models\n", "    namespace: models\n    protected: true\n") + (
    'platform_team: "@acme/ml-platform"\n')
MODEL = "name: iris\nteam: risk\nframework: sklearn\nartifact:\n  uri: s3://acme-models/iris/1\n"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHubPulls]:
    with FakeGitHubPulls() as fake:
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
        fake.pulls[7] = {"repo": "acme/models", "state": "open", "title": "iris 2", "body": "",
                         "head": "iris-2", "base": "main", "labels": [], "sha": HEAD}
        fake.files[7] = ["models/iris.yaml", "generated/staging/models-staging/iris.yaml",
                         "generated/production/models/iris.yaml"]
        fake.teams = {("acme", "risk-ds"): {"rita"}, ("acme", "ml-platform"): {"pat"}}
        yield fake


def approvals(root, *args: str):
    return CliRunner().invoke(cli, ["approvals", "--pr", "7", "-C", str(root), *args])


@pytest.mark.slow
def test_the_model_teams_approval_alone_does_not_pass_a_protected_environment(repo, github):
    root = repo({"iris.yaml": MODEL}, PROTECTED)
    github.reviews[7] = [("rita", "APPROVED", HEAD)]
    result = approvals(root)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "modelops.yaml:22:16: MO033 pull request #7 needs an approval of the current head by "
        "@acme/ml-platform (platform) for generated/production/models/iris.yaml"]
    github.reviews[7].append(("pat", "APPROVED", HEAD))
    result = approvals(root)
    assert result.exit_code == 0, result.output
    assert "approved  platform (@acme/ml-platform): 1 file(s)" in result.output
    assert "approved  risk (@acme/risk-ds): 3 file(s)" in result.output


@pytest.mark.slow
def test_an_approval_of_an_older_commit_or_a_later_change_request_does_not_count(repo, github):
    root = repo({"iris.yaml": MODEL}, PROTECTED)
    github.reviews[7] = [("rita", "APPROVED", HEAD), ("pat", "APPROVED", "b" * 40),
                         ("rita", "COMMENTED", HEAD)]
    result = approvals(root)
    assert result.exit_code == 1
    assert "(platform)" in result.stderr and "(risk)" not in result.stderr
    github.reviews[7] += [("pat", "APPROVED", HEAD), ("rita", "CHANGES_REQUESTED", HEAD)]
    result = approvals(root)
    assert result.exit_code == 1
    assert "@acme/risk-ds (risk)" in result.stderr and "(platform)" not in result.stderr


@pytest.mark.slow
def test_an_approval_by_someone_outside_the_team_does_not_count(repo, github):
    root = repo({"iris.yaml": MODEL}, PROTECTED)
    github.files[7] = ["generated/staging/models-staging/iris.yaml"]
    github.reviews[7] = [("mallory", "APPROVED", HEAD)]
    result = approvals(root)
    assert result.exit_code == 1 and "@acme/risk-ds (risk)" in result.stderr
    assert any(path == "/orgs/acme/teams/risk-ds/memberships/mallory" for _, path, _ in github.requests)
    github.reviews[7].append(("rita", "APPROVED", HEAD))
    assert approvals(root).exit_code == 0  # staging is not protected: the team suffices


def test_files_outside_models_and_generated_need_the_platform_team(repo, github):
    root = repo({"iris.yaml": MODEL}, PROTECTED)
    github.files[7] = ["modelops.yaml"]
    github.reviews[7] = [("rita", "APPROVED", HEAD)]
    result = approvals(root)
    assert result.exit_code == 1 and "for modelops.yaml" in result.stderr
