"""Issue 27: no credential in any message, whatever the command and the format (modelops.masking)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from modelops.cli.main import masked_output
from modelops.cli.report import print_json
from modelops.diagnostics import Diagnostic
from modelops.masking import MaskedStream, mask_data, mask_text
from support.fixtures import IRIS, copy_example_repo, make_repo, run

TOKEN = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
PASSWORD = "hunter2pass"


@pytest.mark.parametrize(("text", "masked"), [
    (f"unknown key '{TOKEN}'", "unknown key 'ghp_****'"),
    ("github_pat_11ABCDEFG0123456789abcdefghij", "gith****"),
    ("glpat-" + "a" * 20, "glpa****"),
    ("AKIA" + "ABCDEFGHIJKLMNOP", "AKIA****"),
    (f"Prometheus at http://admin:{PASSWORD}@127.0.0.1:9 is unreachable",
     "Prometheus at http://****@127.0.0.1:9 is unreachable"),
    (f"https://{TOKEN}@github.com/acme/models", "https://****@github.com/acme/models"),
    ("s3://b/k?X-Amz-Signature=abcdef0123&X-Amz-Date=1", "s3://b/k?X-Amz-Signature=****&X-Amz-Date=1"),
    ("API_TOKEN=abc123 and db_password='x y' and PASSWORD=\"z\"",
     "API_TOKEN=**** and db_password='****' and PASSWORD=\"****\""),
    ("artifact.secret=s3-models-readonly, me@example.com",
     "artifact.secret=s3-models-readonly, me@example.com"),
])
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # masking twice changes nothing


def test_mask_data_masks_strings_keys_and_values_of_secret_names() -> None:
    document = {"token": "abc", "webhook_secret": "x", "secret": "s3-models-readonly", TOKEN: [TOKEN, 3],
                "uri": f"http://u:{PASSWORD}@h/"}
    assert mask_data(document) == {"token": "****", "webhook_secret": "****", "secret": "s3-models-readonly",
                                   "ghp_****": ["ghp_****", 3], "uri": "http://****@h/"}


def test_a_diagnostic_masks_its_path_and_message_in_text_and_json() -> None:
    diagnostic = Diagnostic(f"models/{TOKEN}.yaml", 1, 1, "MO601",
                            f"Prometheus at http://admin:{PASSWORD}@h:9 is unreachable")
    for shown in (str(diagnostic), json.dumps(diagnostic.to_json())):
        assert TOKEN not in shown and PASSWORD not in shown
        assert "ghp_****" in shown and "http://****@h:9" in shown


def test_the_cli_streams_mask_every_text_body_and_json_document() -> None:
    @click.command()
    def leaky() -> None:
        with masked_output():
            click.echo(f"table row {TOKEN}")
            click.echo(f"MLflow at http://admin:{PASSWORD}@127.0.0.1:9", err=True)
            print_json({"api_key": "plain-looking", "rows": [TOKEN]})

    result = CliRunner().invoke(leaky)
    for secret in (TOKEN, PASSWORD, "plain-looking"):
        assert secret not in result.output
    assert "table row ghp_****" in result.output and "http://****@127.0.0.1:9" in result.output


def test_masked_stream_passes_other_text_on_unchanged() -> None:
    out = io.StringIO()
    stream = MaskedStream(out)
    assert stream.write("plain text\n") == len("plain text\n")
    assert out.getvalue() == "plain text\n"


# --- every command and format ---------------------------------------------------------------------

LEAKS = {
    "unknown-key": (IRIS + f"{TOKEN}: 1\n", "MO101"),
    "variant-name": (IRIS + f"traffic:\n  {TOKEN}: {{}}\n", "MO103"),
    "label-key": (IRIS + f"labels:\n  {TOKEN}: x\n", "MO260"),
}


@pytest.fixture(params=sorted(LEAKS))
def leaky_repo(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    model, code = LEAKS[request.param]
    return make_repo(tmp_path / "repo", {"iris.yaml": model}, origin=tmp_path / "origin.git"), code


@pytest.mark.parametrize("args", [
    ("validate",), ("validate", "-o", "json"), ("compile",), ("compile", "-o", "json"),
    ("compile", "--check"), ("compile", "--check", "-o", "json"),
    ("diff", "HEAD"), ("diff", "HEAD", "--format", "markdown"), ("diff", "HEAD", "--format", "json"),
])
def test_a_token_as_a_key_or_name_is_never_echoed(leaky_repo: tuple[Path, str],
                                                  args: tuple[str, ...]) -> None:
    root, code = leaky_repo
    result = run(root, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert "ghp_****" in result.stdout + result.stderr
    assert code in result.stdout + result.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_hand_edited_generated_file_with_a_token_is_masked_in_the_check_diff(tmp_path: Path,
                                                                               output: str) -> None:
    root = copy_example_repo(tmp_path / "repo", commit=False)
    generated = root / "generated" / "staging" / "models-staging" / "iris-classifier.yaml"
    generated.write_text(generated.read_text() + f"# {TOKEN}\n")
    result = run(root, "compile", "--check", "-o", output)
    assert result.returncode == 1
    assert TOKEN not in result.stdout + result.stderr
    assert "ghp_****" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("output", ["text", "json"])
def test_mlflow_credentials_in_the_tracking_uri_are_masked(tmp_path: Path, output: str) -> None:
    root = copy_example_repo(tmp_path / "repo")
    uri = f"http://admin:{PASSWORD}@127.0.0.1:9"
    result = run(root, "autoupdate", "-o", output, env={"MLFLOW_TRACKING_URI": uri},
                 unset=("GITHUB_TOKEN",), timeout=120)
    assert result.returncode == 1
    assert PASSWORD not in result.stdout + result.stderr
    assert "MO501" in result.stdout + result.stderr
    assert "MLflow at http://****@127.0.0.1:9" in result.stdout + result.stderr
