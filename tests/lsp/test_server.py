"""`modelops lsp` as an editor meets it: a child process spoken to in JSON-RPC over stdio by hand
(Content-Length framing, no LSP library), from initialize to exit."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fixtures import CONFIG, IRIS, make_repo, run
from support.lsp_client import LspClient

RULES = "https://modelops-gitops.github.io/modelops/rules/"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LspClient, Path]]:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    client = LspClient(root)
    try:
        capabilities = client.initialize(root)["capabilities"]
        assert capabilities["hoverProvider"] and "completionProvider" in capabilities
        yield client, root
    finally:
        client.close()


def test_an_unknown_team_is_published_and_fixing_it_clears_it(served: tuple[LspClient, Path]) -> None:
    client, root = served
    model = root / "models" / "iris.yaml"
    client.open(model, IRIS.replace("team: risk", "team: nobody"))
    (found,) = client.diagnostics(model, 1)
    assert found == {
        "range": {"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 12}},
        "message": "team 'nobody' is not in modelops.yaml teams (risk, search)",
        "severity": 1, "code": "MO202", "codeDescription": {"href": f"{RULES}MO202/"},
        "source": "modelops",
    }
    client.edit(model, 2, (1, 6), (1, 12), "risk")  # an incremental change, as editors send them
    assert client.diagnostics(model, 2) == []


def test_diagnostics_come_from_the_buffer_not_the_file(served: tuple[LspClient, Path]) -> None:
    client, root = served
    model = root / "models" / "iris.yaml"
    client.open(model, IRIS + "replicas: 50\n")  # on disk: valid
    assert [d["code"] for d in client.diagnostics(model, 1)] == ["MO240"]
    model.write_text(IRIS + "replicas: 50\n")  # saving changes nothing
    client.notify("textDocument/didSave", {"textDocument": {"uri": model.as_uri()}})
    assert [d["code"] for d in client.diagnostics(model, 1)] == ["MO240"]


def test_hover_on_a_key_shows_its_schema_description(served: tuple[LspClient, Path]) -> None:
    client, root = served
    model = root / "models" / "iris.yaml"
    client.open(model, IRIS + "replicas: 2\n")
    assert client.diagnostics(model, 1) == []
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": model.as_uri()}, "position": {"line": 5, "character": 3}})
    assert hover["contents"]["kind"] == "markdown"
    assert hover["contents"]["value"].startswith("**replicas**: `integer`")
    assert "Fixed replica count" in hover["contents"]["value"]
    assert hover["range"] == {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 8}}
    nothing = client.request("textDocument/hover", {
        "textDocument": {"uri": model.as_uri()}, "position": {"line": 5, "character": 11}})
    assert nothing is None  # on the value


def test_completion_after_team_lists_the_teams(served: tuple[LspClient, Path]) -> None:
    client, root = served
    model = root / "models" / "iris.yaml"
    client.open(model, IRIS.replace("team: risk", "team: "))
    client.diagnostics(model, 1)
    offered = client.request("textDocument/completion", {
        "textDocument": {"uri": model.as_uri()}, "position": {"line": 1, "character": 6}})
    assert [item["label"] for item in offered["items"]] == ["risk", "search"]
    client.change(model, IRIS.replace("framework: sklearn", "framework: "), 2)
    client.diagnostics(model, 2)
    offered = client.request("textDocument/completion", {
        "textDocument": {"uri": model.as_uri()}, "position": {"line": 2, "character": 11}})
    assert "xgboost" in [item["label"] for item in offered["items"]]


def test_a_change_to_modelops_yaml_checks_the_open_models_again(served: tuple[LspClient, Path]) -> None:
    client, root = served
    model, config = root / "models" / "iris.yaml", root / "modelops.yaml"
    client.open(model, IRIS)
    assert client.diagnostics(model, 1) == []
    client.open(config, CONFIG)
    assert client.diagnostics(model) == [] and client.diagnostics(config, 1) == []
    client.change(config, CONFIG.replace("  risk:\n", "  fraud:\n"), 2)  # unsaved: the team is gone
    assert [d["code"] for d in client.diagnostics(model)] == ["MO202"]
    assert client.diagnostics(config, 2) == []
    client.change(config, CONFIG + "teams: {}\n", 3)  # a duplicate key: modelops.yaml is invalid
    assert client.diagnostics(model) == []  # validate checks no model without a valid config
    (problem,) = client.diagnostics(config, 3)
    assert problem["code"] == "MO005"
    assert problem["range"]["start"] == {"line": len(CONFIG.splitlines()), "character": 0}
    client.notify("textDocument/didClose", {"textDocument": {"uri": config.as_uri()}})
    assert client.diagnostics(config) == []  # a closed file's diagnostics are cleared
    assert client.diagnostics(model) == []  # the file on disk stands again


def test_checks_across_files_see_the_models_not_open(tmp_path: Path) -> None:
    """Two files naming one model (MO206): found from the buffer against the other file on disk."""
    other = IRIS.replace("name: iris", "name: iris-v2")
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "iris-v2.yaml": other})
    client = LspClient(root)
    try:
        client.initialize(root)
        model = root / "models" / "iris.yml"
        client.open(model, IRIS)  # a new file, not saved yet, beside models/iris.yaml
        published = client.diagnostics(model, 1)
        assert "MO206" in [d["code"] for d in published]
        model.write_text(IRIS)  # saved: validate says the same, line for line
        done = run(root, "validate", "-o", "json")
        assert done.returncode == 1
        assert [(d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["code"],
                 d["message"]) for d in published] == [
            (d["line"], d["col"], d["code"], d["message"])
            for d in json.loads(done.stdout)["diagnostics"] if d["path"] == "models/iris.yml"]
        assert client.shutdown() == 0
    finally:
        client.close()


def test_files_outside_the_repository_get_nothing_and_exit_is_clean(served: tuple[LspClient, Path],
                                                                     tmp_path: Path) -> None:
    client, root = served
    stray = tmp_path / "elsewhere.yaml"
    client.open(stray, "team: [\n")
    readme = root / "models" / "sub" / "notes.yaml"
    client.open(readme, "team: [\n")
    model = root / "models" / "iris.yaml"
    client.open(model, textwrap.dedent(IRIS))
    assert client.diagnostics(model, 1) == []
    assert client.pending(stray) == 0 and client.pending(readme) == 0
    assert client.shutdown() == 0
    assert client.stray == []  # nothing on stdout but protocol messages
    assert b"Traceback" not in client.stderr


def test_files_changed_on_disk_count_once_the_client_reports_them(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yml": IRIS})
    client = LspClient(root)
    try:
        client.request("initialize", {
            "processId": None, "rootUri": root.as_uri(),
            "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}}})
        client.notify("initialized", {})
        registration = client.notifications.get(timeout=30)  # filed by the client: the server's request
        assert registration["method"] == "client/registerCapability"
        (watching,) = registration["params"]["registrations"]
        assert watching["method"] == "workspace/didChangeWatchedFiles"
        model = root / "models" / "iris.yml"
        client.open(model, IRIS)
        assert client.diagnostics(model, 1) == []
        twin = root / "models" / "iris.yaml"
        twin.write_text(IRIS)  # e.g. a checkout brings a second file naming the model, sorted first
        client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": twin.as_uri(), "type": 1}]})
        assert "MO206" in [d["code"] for d in client.diagnostics(model)]
        twin.unlink()
        client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": twin.as_uri(), "type": 3}]})
        assert client.diagnostics(model) == []
        (root / "modelops.yaml").write_text(CONFIG.replace("  risk:\n", "  fraud:\n"))
        client.notify("workspace/didChangeWatchedFiles", {
            "changes": [{"uri": (root / "modelops.yaml").as_uri(), "type": 2}]})
        assert [d["code"] for d in client.diagnostics(model)] == ["MO202"]
        assert client.shutdown() == 0
    finally:
        client.close()


def test_a_range_is_in_the_clients_units() -> None:
    """Columns are code points in diagnostics and UTF-16 units on the wire (the protocol's default)."""
    from modelops.diagnostics import Diagnostic
    from modelops.lsp.server import to_lsp
    from pygls.workspace import TextDocument

    document = TextDocument("file:///r/models/x.yaml", "name: x\nenv: {A😀: 'é', B: ghp_x}\n")
    found = to_lsp(Diagnostic("models/x.yaml", 2, 16, "MO100", "B: a ghp_" + "a" * 36 + " token"), document)
    assert (found.range.start.line, found.range.start.character) == (1, 16)  # 😀 counts 2
    assert (found.range.end.line, found.range.end.character) == (1, 17)  # a key up to its colon
    assert found.message == "B: a ghp_**** token"  # masked as on the command line
    beyond = to_lsp(Diagnostic("models/x.yaml", 9, 1, "MO001", "x"), document)
    assert beyond.range.start.line == 8


def test_over_tcp(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS})
    client = LspClient(root, tcp=True)
    try:
        client.initialize(root)
        model = root / "models" / "iris.yaml"
        client.open(model, IRIS.replace("team: risk", "team: nobody"))
        assert [d["code"] for d in client.diagnostics(model, 1)] == ["MO202"]
        assert client.shutdown() == 0
        assert b"Traceback" not in client.stderr
    finally:
        client.close()
