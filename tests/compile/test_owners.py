"""Reviewers and the platform team are code owners: `@user`, `@org/team` or an e-mail. A value with a
newline or a space (which would add its own CODEOWNERS lines, an ownership bypass) is one line, exit 1,
and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fixtures import CONFIG, make_repo, run

MODEL = """\
name: iris
team: risk
framework: sklearn
artifact: {uri: "s3://acme-models/iris/v1"}
"""


@pytest.mark.parametrize("owner", ['"@acme/risk-ds\\n* @evil2"', '"@acme/risk-ds /generated/ @evil"',
                                   '"# @acme"', '"acme"'])
def test_an_owner_that_could_add_codeowners_lines_is_refused(tmp_path: Path, owner: str) -> None:
    config = CONFIG.replace('reviewers: ["@acme/risk-ds"]', f"reviewers: [{owner}]")
    root = make_repo(tmp_path, {"iris.yaml": MODEL}, config)
    done = run(root, "compile")
    assert done.returncode == 1
    line, summary = done.stderr.splitlines()
    assert summary == "Found 1 error."
    assert line.startswith("modelops.yaml:") and ": MO100 teams.risk.reviewers.0: " in line, line
    assert "is not a code owner: write @user, @org/team or an e-mail address" in line
    assert not (root / "generated").exists() and not (root / ".github").exists()


def test_users_teams_and_e_mails_are_owners(tmp_path: Path) -> None:
    config = CONFIG.replace('reviewers: ["@acme/risk-ds"]',
                            'reviewers: ["@acme/risk-ds", "@octocat", "ds.lead+models@acme.example"]')
    root = make_repo(tmp_path, {"iris.yaml": MODEL}, config + "platform_team: \"@acme/ml-platform\"\n")
    done = run(root, "compile")
    assert done.returncode == 0, done.stderr
    owners = (root / ".github" / "CODEOWNERS").read_text()
    assert "@acme/risk-ds @octocat ds.lead+models@acme.example" in owners.replace("  ", " ")
