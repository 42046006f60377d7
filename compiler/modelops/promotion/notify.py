"""A word back when a model is live: GitHub deployments and a Slack-compatible webhook after `sync --wait`.

Each changed model is one `Report` per environment: a GitHub deployment (`environment` = the modelops
environment, `ref` = the synced commit, payload model/version) with its success or failure status,
and, when `notify.webhook_url_env` names a set variable, one POST of `{"text", "blocks"}` JSON.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.diagnostics import Diagnostic, UserError

if TYPE_CHECKING:
    from modelops.cluster.sync import Synced
    from modelops.compile.spec import RepoConfig

_PULL = re.compile(r"(?:Merge pull request #|\(#)(\d+)")


@dataclass(frozen=True)
class Report:
    model: str
    version: str
    env: str
    result: str  # success | failure
    message: str  # the object's own status when it failed
    commit: str
    pull_request: int | None = None

    def payload(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "environment": self.env,
                "result": self.result, "pull_request": self.pull_request}

    def text(self) -> str:
        pr = f" (pull request #{self.pull_request})" if self.pull_request else ""
        outcome = "is live" if self.result == "success" else f"failed: {self.message}"
        return f"{self.model} {self.version} in {self.env}{pr} {outcome}"


def pull_request_of(subject: str) -> int | None:
    """The pull request a merge commit names (`Merge pull request #12` or a squash's `(#12)`)."""
    found = _PULL.search(subject)
    return int(found.group(1)) if found else None


def slack_message(report: Report) -> dict[str, Any]:
    """Slack-compatible JSON: `text` for any receiver, `blocks` with one field per fact."""
    fields = [("Model", report.model), ("Version", report.version), ("Environment", report.env),
              ("Pull request", f"#{report.pull_request}" if report.pull_request else "—"),
              ("Result", report.result), ("Commit", report.commit[:12] or "—")]
    return {"text": report.text(), "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": report.text()}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]},
    ]}


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    """POST `payload` as JSON to a webhook URL. The URL is a secret (from an env var): an OSError
    (URLError and HTTPError included) is re-raised as WebhookFailed, whose text never holds it."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - configured URL
            answer.read()
    except OSError as exc:
        raise WebhookFailed(str(getattr(exc, "code", None) or getattr(exc, "reason", exc))) from exc


class WebhookFailed(Exception):
    """A webhook refused or unreachable; the message is the HTTP status or the reason."""


def post_webhook(url: str, report: Report, timeout: float = 10.0) -> None:
    try:
        post_json(url, slack_message(report), timeout)
    except WebhookFailed as exc:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO712",
                                    f"notification webhook failed for {report.model} in {report.env}: "
                                    f"{exc}")]) from exc


def github_deployment(root: Path, config: RepoConfig, report: Report) -> None:
    """A deployment of `report.commit` to the environment, then its success or failure status."""
    from modelops.git.github import github_client
    from modelops.promotion.pullrequest import api_url, token
    from modelops.promotion.pullrequest import repository as github_repository

    secret = token(config.github)
    if not secret:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO030",
                                    f"{config.github.token_env} is not set (notify.github_deployments)")])
    repository = github_repository(root, config)
    if not repository:
        raise UserError([Diagnostic("modelops.yaml", 1, 1, "MO030",
                                    "no GitHub repository for deployments: set github.repository")])
    what = f"the deployment of {report.model} to {report.env}"
    with github_client(secret, api_url(config.github), what) as client:
        repo = client.get_repo(repository)
        deployment = repo.create_deployment(
            report.commit, task="deploy", auto_merge=False, required_contexts=[],
            payload=report.payload(), environment=report.env,
            description=f"{report.model} {report.version}"[:140])
        deployment.create_status(report.result, description=report.text()[:140],
                                 environment=report.env, auto_inactive=report.result == "success")


def send(root: Path, config: RepoConfig, reports: list[Report]) -> list[str]:
    """Every report to GitHub (when `notify.github_deployments`) and the webhook (when its variable
    is set); one line per report sent."""
    sent = []
    url = os.environ.get(config.notify.webhook_url_env or "") if config.notify.webhook_url_env else None
    for report in reports:
        where = []
        if config.notify.github_deployments:
            github_deployment(root, config, report)
            where.append("GitHub deployment")
        if url:
            post_webhook(url, report)
            where.append("webhook")
        if where:
            sent.append(f"reported {report.model} {report.version} in {report.env}: {report.result} "
                        f"({', '.join(where)})")
    return sent


def reports(root: Path, env: str, synced: Synced, commit: str) -> list[Report]:
    """One report per model whose serving object a sync created or updated (after its wait)."""
    from modelops.cluster.readiness import awaited
    from modelops.git.refs import git
    from modelops.labels import LABEL_NAME, LABEL_VERSION

    failures = synced.waited.failures if synced.waited else {}
    number = pull_request_of(git(root, "log", "-1", "--format=%s", commit).decode()) if commit else None
    found: dict[str, Report] = {}
    for _, change in synced.outcome.done:
        if change.action not in ("create", "update") or not awaited(change.obj):
            continue
        labels = change.obj["metadata"].get("labels") or {}
        model = labels.get(LABEL_NAME) or change.obj["metadata"]["name"]
        failure = failures.get(change.label)
        if model in found and found[model].result == "failure":
            continue
        found[model] = Report(model, str(labels.get(LABEL_VERSION, "?")), env,
                              "failure" if failure else "success", failure or "", commit, number)
    return [found[name] for name in sorted(found)]
