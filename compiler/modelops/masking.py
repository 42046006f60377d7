"""Credentials never reach the output: token shapes, URL userinfo, values of keys named like secrets.

One layer, used by everything that prints: a Diagnostic masks its own path and message, the report
layer masks every JSON document (`mask_data`), and the command line writes through `MaskedStream`
(every text body, table, diff and progress line). `compile/rules/secrets.py` (MO260) finds the same
token shapes in rendered output: the patterns are defined here, once.

The patterns follow two well-kept detectors, narrowed to the formats a model file could carry:
gitleaks' default config (github.com/gitleaks/gitleaks, config/gitleaks.toml: rule ids in the
comments) and Yelp's detect-secrets plugins (github.com/Yelp/detect-secrets, detect_secrets/plugins/).
A match is shown masked: at most its first 4 characters, then `****`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, TextIO

_NOT_WORD = r"(?<![A-Za-z0-9_])"
MASK = "****"


@dataclass(frozen=True)
class Pattern:
    name: str  # regex group name
    label: str  # what a message calls it
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
BY_NAME = {p.name: p for p in PATTERNS}
# Lower-case fragments one of which every match contains: plain substring tests rule out most text
# before the (slower) combined regex runs.
MARKERS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "a3t", "akia", "asia", "abia", "acca",
           "eyj", "sk-proj-", "sk-svcacct-", "sk-admin-", "t3blbkfj", "glpat-", "gldt-",
           "glrt-", "glptt-", "glcbt-", "glsoat-", "aiza", "accountkey=", "hooks.slack.com", "xox",
           "x-amz-", "x-goog-", "sig=", "signature=", "-----begin")

# A key (or variable, header) named like a secret: its value is never shown. A bare `secret` is
# the name of a Kubernetes Secret (artifact.secret), not a credential.
_NAMES = (r"passw(?:or)?d|passphrase|token|api[_-]?key|access[_-]?key|private[_-]?key|secret[_-]?key"
          r"|credentials?|[A-Za-z0-9]+[_-]secret")
SECRET_NAME = re.compile(rf"(?i:(?:^|[_.-])(?:{_NAMES}|authorization))$")
_SECRET_ASSIGNMENT = (rf"(?<![A-Za-z0-9])(?P<name>(?:[A-Za-z0-9]+[_.-])*(?i:{_NAMES}))"
                      r"(?P<sep>[\"']?\s*=\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"'&,;)*]+)")


@cache
def combined() -> re.Pattern[str]:
    """Every token pattern as one regex, compiled on first use."""
    return re.compile("|".join(f"(?P<{p.name}>{p.regex})" for p in PATTERNS))


@cache
def _masking() -> re.Pattern[str]:
    """The token patterns, a pre-signed URL's whole value and `secret-name=value` as one regex."""
    presigned = BY_NAME["presigned"].regex + r"[^&\s#\"']*"
    parts = [f"(?P<{p.name}>{presigned if p.name == 'presigned' else p.regex})" for p in PATTERNS]
    return re.compile("|".join([*parts, f"(?P<assignment>{_SECRET_ASSIGNMENT})"]))


def mask_text(text: str) -> str:
    """`text` with every credential masked; the same text when there is none (the common case)."""
    lowered = text.lower()
    if not (any(marker in lowered for marker in MARKERS) or "@" in text or "=" in text):
        return text
    return _masking().sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    found = match.group(0)
    name = match.lastgroup or ""
    if name == "assignment":
        quote = match.group("value")[0] if match.group("value")[0] in "'\"" else ""
        return f"{match.group('name')}{match.group('sep')}{quote}{MASK}{quote}"
    if name in ("url_password", "url_token"):
        return f"://{MASK}@" if found.startswith("://") else found.split("://", 1)[0] + f"://{MASK}@"
    if name == "aws_secret":
        return found[:-40] + MASK
    if name == "presigned":
        return found[:found.index("=") + 1] + MASK
    if name == "private_key":
        return found + " " + MASK
    return found[:4] + MASK


def mask_data(value: Any, key: str = "") -> Any:
    """A JSON-like value with every string masked, and whole values of keys named like secrets."""
    if isinstance(value, dict):
        return {mask_text(k) if isinstance(k, str) else k: mask_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(item, key) for item in value]
    if isinstance(value, str):
        if value and SECRET_NAME.search(key):
            return MASK
        return mask_text(value)
    return value


class MaskedStream(io.TextIOBase):
    """A text stream that masks what is written to it before passing it on (stdout, stderr)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)

    def write(self, text: str) -> int:
        self.stream.write(mask_text(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True
