"""Credentials never reach generated/: every format, in every place a model or modelops.yaml writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelops.compile.pipeline import build
from modelops.compile.rules.secrets import find_secret, named_strings, string_leaves
from support.fixtures import CONFIG, IRIS

BASE = IRIS
# format -> (the secret as written, the part that must never be echoed)
SECRETS = {
    "github ghp_": ("ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3", "a1B2c3D4e5a1B2c3D4e5"),
    "github gho_": ("gho_" + "Z9y8X7w6V5" * 3 + "Z9y8X7", "Z9y8X7w6V5Z9y8X7w6V5"),
    "github ghs_": ("ghs_" + "Q1w2E3r4T5" * 3 + "Q1w2E3", "Q1w2E3r4T5Q1w2E3r4T5"),
    "github_pat_": ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvw", "0123456789_abcdefghij"),
    "aws AKIA": ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
    "aws ASIA": ("ASIAY34FZKBOKMUTVV7A", "Y34FZKBOKMUTVV7A"),
    "aws secret key": ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    "url user:password": ("https://admin:hunter2secret@logs.example.com/in", "hunter2secret"),
    "git url token": ("https://0123456789abcdef0123456789abcdef01234567@github.com/acme/m.git",
                      "0123456789abcdef0123"),
    "git url oauth2": ("https://oauth2:glxT0k3nV4lu3abcdefgh@gitlab.example.com/acme/m.git",
                       "glxT0k3nV4lu3abcdefgh"),
    "jwt": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
    "openai sk-proj-": ("sk-proj-abcdefghijklmnopqrstuvwx0123", "abcdefghijklmnopqrstuvwx"),
    "openai sk-": ("sk-ABCDEFGHIJKLMNOPQRSTT3BlbkFJabcdefghijklmnopqrst", "ABCDEFGHIJKLMNOPQRST"),
    "gitlab glpat-": ("glpat-abcdefghij0123456789", "abcdefghij0123456789"),
    "google AIza": ("AIzaSyA0123456789abcdefghijklmnopqrstuv", "SyA0123456789abcdefgh"),
    "azure AccountKey": ("AccountKey=abc123abc123abc123abc123XYZ==", "abc123abc123abc123abc123XYZ"),
    "slack webhook": ("https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX",
                      "T0000000/B0000000/XXXXXXXX"),
    "slack token": ("xoxb-1234567890-abcdefghij", "1234567890-abcdefghij"),
    "X-Amz-Security-Token": ("https://acme-models.s3.amazonaws.com/iris?X-Amz-Security-Token=IQoJb3Jp",
                             "IQoJb3Jp"),
    "X-Amz-Credential": ("https://acme-models.s3.amazonaws.com/iris?X-Amz-Credential=CRED2026xyz",
                         "CRED2026xyz"),
    "sig=": ("https://acme.blob.core.windows.net/c/m?sv=2022-11-02&sig=abcdEFGH1234", "abcdEFGH1234"),
}
PLACES = ("annotation", "label", "env value", "logging.url", "gitops.repo_url", "artifact uri")


def _url(secret: str, base: str) -> str:
    return secret if secret.startswith("https://") else f"{base}/{secret}"


def _repo_files(place: str, secret: str) -> tuple[str, str]:
    """(model text, modelops.yaml text) with `secret` written in `place`."""
    quoted = f"'{secret}'"
    if place == "annotation":
        return BASE + f"annotations:\n  acme.io/note: {quoted}\n", CONFIG
    if place == "label":
        return BASE + f"labels:\n  note: {quoted}\n", CONFIG
    if place == "env value":
        return BASE + f"env:\n  NOTE: {quoted}\n", CONFIG
    if place == "logging.url":
        return BASE + f"logging:\n  mode: all\n  url: '{_url(secret, 'https://logs.example.com')}'\n", CONFIG
    if place == "artifact uri":
        uri = secret if secret.startswith("https://") else f"s3://acme-models/iris/{secret}"
        return BASE.replace("s3://acme-models/iris/1", f"'{uri}'"), CONFIG
    url = _url(secret, "https://git.example.com/acme")
    config = CONFIG.replace("    namespace: models\n", "    namespace: models\n    sync: argocd\n"
                            f"    gitops:\n      repo_url: '{url}'\n")
    return BASE, config


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("fmt", sorted(SECRETS))
def test_every_secret_is_refused_masked_wherever_it_is_written(repo, crd_dir, fmt, place):
    secret, never = SECRETS[fmt]
    model, config = _repo_files(place, secret)
    result = build(repo({"iris.yaml": model}, config), crd_dir=crd_dir)
    assert result.diagnostics, f"{fmt} in {place} was rendered"
    for d in result.diagnostics:
        assert never not in d.message and secret not in d.message
    credential = [d for d in result.diagnostics if d.code in ("MO231", "MO260")]
    if credential:  # labels refuse most formats as label values first (MO100, masked too)
        shown = credential[0]
        assert "****" in shown.message
        expected = "modelops.yaml" if place == "gitops.repo_url" else "models/iris.yaml"
        assert (shown.path, shown.line > 1) == (expected, True)
    else:
        assert place == "label" and {d.code for d in result.diagnostics} == {"MO100"}


def test_the_message_shows_at_most_four_characters():
    found = find_secret("token ghp_" + "x" * 36)
    assert found is not None and found.describe() == "a GitHub token (ghp_****)"


@pytest.mark.parametrize("value", [
    "s3://acme-models/iris/1", "http://logger.seldon-logs.svc.cluster.local:8080", "risk-scoring",
    "ssh://git@github.com/acme/models.git", "git@github.com:acme/models.git", "sklearn",
    "https://git.example.com/acme/models.git",
])
def test_ordinary_values_pass(value):
    assert find_secret(value, "url") is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["name", "value", "env", "password", "x"]), inner, max_size=4),
    max_leaves=30,
)


@given(JSON)
@settings(max_examples=300, deadline=None)
def test_the_quick_scan_reads_the_strings_every_check_reads(value: object) -> None:
    """The quick scan of a file flattens its strings on its own (for speed): it must see each one,
    under the name the full check gives it, or a credential could slip past both."""
    assert named_strings(value, []) == [f"{name}={text}" for _, name, text in string_leaves(value)]
