"""Credentials in what reaches `generated/`: one combined regex over every rendered string (MO260).

The patterns follow two well-kept detectors, narrowed to the formats a model file could carry:
gitleaks' default config (github.com/gitleaks/gitleaks, config/gitleaks.toml: rule ids in the
comments) and Yelp's detect-secrets plugins (github.com/Yelp/detect-secrets, detect_secrets/plugins/).
detect-secrets itself is not a dependency: it pulls in requests and scans files, not strings, and
gitleaks is a Go binary. A match is reported masked: at most its first 4 characters, then `****`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelops.compile.source import Document, Loc
from modelops.diagnostics import Diagnostic

_NOT_WORD = r"(?<![A-Za-z0-9_])"


@dataclass(frozen=True)
class Pattern:
    name: str  # regex group name
    label: str  # what the message calls it
    regex: str
    show: bool = True  # False: the match starts with context (a URL's scheme), show no characters


PATTERNS: tuple[Pattern, ...] = (
    # gitleaks github-pat, github-oauth, github-app-token, github-refresh-token; detect-secrets github_token
    Pattern("github", "a GitHub token", _NOT_WORD + r"gh[pousr]_[A-Za-z0-9]{30,}"),
    # gitleaks github-fine-grained-pat
    Pattern("github_pat", "a GitHub token", _NOT_WORD + r"github_pat_[A-Za-z0-9_]{22,}"),
    # detect-secrets aws.AWSKeyDetector (key ids); gitleaks aws-access-token
    Pattern("aws_id", "an AWS access key id",
            _NOT_WORD + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"),
    # detect-secrets aws.AWSKeyDetector (secret keys: 40 base64 characters after an aws/secret name);
    # the scanned text is `key=value`, so an env var or annotation name gives the context
    Pattern("aws_secret", "an AWS secret access key",
            r"(?i:aws|secret)[A-Za-z0-9_.-]{0,30}[=:][ \t\"']*[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
            show=False),
    # detect-secrets basic_auth.BasicAuthDetector: user:password@ in any URL (also oauth2:TOKEN@)
    Pattern("url_password", "a password in a URL", r"://[^/@\s:?#]+:[^/@\s?#]+@", show=False),
    # an access token as the user of an https URL: https://TOKEN@github.com/...
    Pattern("url_token", "an access token in a URL", r"https?://[^/@\s:?#]{8,}@", show=False),
    # detect-secrets jwt.JwtTokenDetector; gitleaks jwt
    Pattern("jwt", "a JSON Web Token",
            _NOT_WORD + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"),
    # gitleaks openai-api-key (sk-proj-, sk-svcacct-, sk-admin-); detect-secrets openai (legacy keys
    # carry T3BlbkFJ, "OpenAI" in base64)
    Pattern("openai", "an OpenAI API key",
            _NOT_WORD + r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
            r"|[A-Za-z0-9_-]*T3BlbkFJ[A-Za-z0-9_-]*)"),
    # gitleaks gitlab-pat (and the other glXX- token prefixes)
    Pattern("gitlab", "a GitLab token", _NOT_WORD + r"gl(?:pat|dt|rt|ptt|cbt|soat)-[A-Za-z0-9_-]{20,}"),
    # gitleaks gcp-api-key
    Pattern("google", "a Google API key", _NOT_WORD + r"AIza[0-9A-Za-z_-]{35}"),
    # detect-secrets azure_storage_key.AzureStorageKeyDetector; gitleaks azure-storage connection strings
    Pattern("azure", "an Azure storage account key", r"(?i:AccountKey)=[A-Za-z0-9+/=]{20,}"),
    # gitleaks slack-webhook-url; detect-secrets slack.SlackDetector (webhooks)
    Pattern("slack_webhook", "a Slack webhook URL",
            r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    # detect-secrets slack.SlackDetector (tokens); gitleaks slack-bot-token, slack-user-token...
    Pattern("slack_token", "a Slack token", _NOT_WORD + r"xox[baprs]-[A-Za-z0-9-]{10,}"),
    # pre-signed URLs: AWS SigV4 query auth, GCS signed URLs, Azure SAS (sig=)
    Pattern("presigned", "a pre-signed URL",
            r"[?&](?i:X-Amz-Security-Token|X-Amz-Credential|X-Amz-Signature|X-Goog-Signature"
            r"|X-Goog-Credential|sig|signature)=", show=False),
    # detect-secrets private_key.PrivateKeyDetector
    Pattern("private_key", "a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY", show=False),
)
# Lower-case fragments one of which every match contains: plain substring tests rule out most objects
# before the (slower) combined regex runs.
_MARKERS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "a3t", "akia", "asia", "abia", "acca",
            "eyj", "sk-proj-", "sk-svcacct-", "sk-admin-", "t3blbkfj", "glpat-", "gldt-",
            "glrt-", "glptt-", "glcbt-", "glsoat-", "aiza", "accountkey=", "hooks.slack.com", "xox",
            "x-amz-", "x-goog-", "sig=", "signature=", "-----begin")
_BY_NAME = {p.name: p for p in PATTERNS}


@cache
def _combined() -> re.Pattern[str]:
    """Every pattern as one regex, compiled on first use (a compile that renders nothing never does)."""
    return re.compile("|".join(f"(?P<{p.name}>{p.regex})" for p in PATTERNS))


@cache
def _aws_secret() -> re.Pattern[str]:
    return re.compile(_BY_NAME["aws_secret"].regex)  # its markers (aws, secret) are common words


@dataclass(frozen=True)
class Found:
    label: str
    masked: str
    needle: str  # the secret's text inside the value, to find where it was written

    def describe(self) -> str:
        return f"{self.label} ({self.masked})"


def mask(text: str, show: bool = True) -> str:
    return (text[:4] if show else "") + "****"


def find_secret(value: str, key: str = "") -> Found | None:
    """The first credential in `value` (with `key`, its name, as context), masked."""
    text = f"{key}={value}"
    match = _combined().search(text)
    if match is None or match.lastgroup is None:
        return None
    pattern = _BY_NAME[match.lastgroup]
    offset = len(key) + 1
    start = max(match.start(), offset)
    needle = text[start:match.end()]
    if match.start() < offset:  # the match began in the name: show nothing of the value
        return Found(pattern.label, mask(needle, False), needle)
    return Found(pattern.label, mask(needle, pattern.show), needle)


def string_leaves(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str, str]]:
    """(path, name, text) of every string in `value`; `name` is the key, or a list item's `name`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield (*loc, key), str(key), item
            else:
                yield from string_leaves(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("value"), str) and "name" in item:
                yield (*loc, index, "value"), str(item["name"]), item["value"]
                yield from string_leaves({k: v for k, v in item.items() if k != "value"}, (*loc, index))
            elif isinstance(item, str):
                yield (*loc, index), str(loc[-1]) if loc else "", item
            else:
                yield from string_leaves(item, (*loc, index))


def _quick(obj: dict[str, Any]) -> bool:
    """Whether any string of `obj` may hold a credential: one search over all of them joined."""
    text = "\n".join(f"{name}={value}" for _, name, value in string_leaves(obj))
    lowered = text.lower()
    if any(marker in lowered for marker in _MARKERS) or ("://" in text and "@" in text):
        return _combined().search(text) is not None
    return ("aws" in lowered or "secret" in lowered) and _aws_secret().search(text) is not None


def check_rendered(objects: list[dict[str, Any]], sources: list[Document], fallback: Document
                   ) -> list[Diagnostic]:
    """MO260 for every credential in the rendered objects, at the key where it was written."""
    errors: list[Diagnostic] = []
    for obj in objects:
        if not _quick(obj):
            continue
        for loc, name, value in string_leaves(obj):
            found = find_secret(value, name)
            if found is not None:
                errors.append(_at_source(found, obj, loc, sources, fallback))
    return errors


def _at_source(found: Found, obj: dict[str, Any], loc: Loc, sources: list[Document],
               fallback: Document) -> Diagnostic:
    what = f"generated {obj.get('kind')} {'.'.join(str(part) for part in loc)}"
    message = (f"{what} would carry {found.describe()}: keep credentials out of git "
               "(store them in a Kubernetes Secret and name it in artifact.secret)")
    for doc in sources:
        for src_loc, _, text in string_leaves(doc.data):
            if found.needle in text:
                return doc.diagnostic(src_loc, "MO260", message, key=True)
    return Diagnostic(fallback.path, 1, 1, "MO260", message)
