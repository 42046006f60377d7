"""`promotion.pullrequest`: the body every proposal carries, its Markdown tables, and the GitHub
addresses and branch names (opening pull requests against a fake GitHub: test_promote.py)."""

from __future__ import annotations

import pytest
from modelops.compile.spec import GitHubSettings
from modelops.promotion.pullrequest import (
    BODY_MARKER,
    body,
    compare_url,
    promotion_branch,
    review_markdown,
)


def test_the_body_is_marker_summary_review_what_follows_and_who_opened_it() -> None:
    text = body("Promote **iris**.\n", "#### review\n", "#### How to roll back", team="risk",
                command="promote")
    assert text == (f"{BODY_MARKER}\nPromote **iris**.\n\n#### review\n\n#### How to roll back\n\n"
                    "Team: risk. Opened by `modelops promote`.\n")
    assert body("Abort.", "r", "", team="risk", command="rollback").endswith(
        "Abort.\n\nr\n\nTeam: risk. Opened by `modelops rollback`.\n")


def test_the_review_drops_the_comment_marker_of_a_standalone_review() -> None:
    from modelops.review.changes import MARKER

    text = review_markdown({}, {"staging/kustomization.yaml": "resources: []\n"})
    assert MARKER not in text and "what changes in the cluster" in text


@pytest.mark.parametrize(("api", "web"), [
    (None, "https://github.com"), ("https://ghe.example.com/api/v3", "https://ghe.example.com")])
def test_the_compare_url_of_github_and_an_enterprise_server(api: str | None, web: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    settings = GitHubSettings(api_url=api)
    assert compare_url(settings, "acme/models", "main", "promote/iris-staging-v2") == (
        f"{web}/acme/models/compare/main...promote/iris-staging-v2?expand=1")


def test_promotion_branches_of_one_model_and_environment() -> None:
    pattern = promotion_branch("iris", "staging")
    assert pattern.fullmatch("promote/iris-staging-v12-canary")
    assert not pattern.fullmatch("promote/iris-staging-extra-v1")
    assert not pattern.fullmatch("rollback/iris-staging-v1")
