"""Hovers and completions from the lines of a buffer, valid YAML or half typed."""

from __future__ import annotations

import os
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelops.compile.project import config_from_text
from modelops.compile.spec import RepoConfig
from modelops.lsp.assist import completions, hover
from modelops.lsp.context import ITEM, cursor_at, token_end
from support.fixtures import CONFIG

MODEL = textwrap.dedent("""\
    name: iris
    team: risk
    framework: sklearn
    artifact:
      uri: s3://acme-models/iris/1
    environments:
      production:
        traffic:
          main:
            weight: 90
          canary:
            weight: 10
    pipelines:
      chain:
        steps:
          - model: iris
            inputs: [a]
          - model: other
    """)


@pytest.fixture(scope="module")
def config() -> RepoConfig:
    found, _, errors = config_from_text(CONFIG)
    assert found is not None and errors == []
    return found


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.mark.parametrize(("line", "character", "parents", "key", "on_key"), [
    (0, 2, (), "name", True),
    (0, 8, (), "name", False),
    (4, 4, ("artifact",), "uri", True),
    (9, 12, ("environments", "production", "traffic", "main"), "weight", True),
    (11, 12, ("environments", "production", "traffic", "canary"), "weight", True),
    (15, 13, ("pipelines", "chain", "steps", ITEM), "model", True),
    (16, 10, ("pipelines", "chain", "steps", ITEM), "inputs", True),
    (17, 16, ("pipelines", "chain", "steps", ITEM), "model", False),
])
def test_the_cursor_knows_the_keys_above_it(line: int, character: int, parents: tuple[str, ...],
                                            key: str, on_key: bool) -> None:
    cursor = cursor_at(lines(MODEL), line, character)
    assert (cursor.parents, cursor.key, cursor.on_key) == (parents, key, on_key)


@pytest.mark.parametrize(("line", "character", "starts"), [
    (1, 1, "**team**: `string`\n\nThe team owning the model"),
    (4, 3, "**uri**: `string`\n\nStorage URI of the model folder"),
    (9, 13, "**weight**: `integer`"),
    (2, 5, "**framework**: `sklearn | xgboost | lightgbm | mlflow | tensorflow | triton | huggingface | "
           "custom`"),
    (15, 12, "**model**: `string`"),
])
def test_hover_shows_the_key_from_the_schema(line: int, character: int, starts: str) -> None:
    found = hover("models/iris.yaml", lines(MODEL), line, character)
    assert found is not None and found.markdown.startswith(starts), found


def test_hover_shows_the_default() -> None:
    found = hover("models/iris.yaml", ["protocol: v1\n"], 0, 2)
    assert found is not None and "(default `\"v2\"`)" in found.markdown


def test_hover_off_a_key_or_on_an_unknown_one_is_nothing() -> None:
    assert hover("models/iris.yaml", lines(MODEL), 0, 8) is None
    assert hover("models/iris.yaml", ["replicaz: 2\n"], 0, 2) is None
    assert hover("models/iris.yaml", ["# a comment\n"], 0, 2) is None


def test_hover_in_modelops_yaml_reads_its_schema() -> None:
    found = hover("modelops.yaml", lines(CONFIG), 0, 3)
    assert found is not None and found.markdown.startswith("**environments**: `map`")


def labels(shown: str, text: str, line: int, character: int, config: RepoConfig | None) -> list[str]:
    return [c.label for c in completions(shown, lines(text), line, character, config)]


def test_values_of_team_come_from_modelops_yaml(config: RepoConfig) -> None:
    assert labels("models/iris.yaml", "name: iris\nteam: \n", 1, 6, config) == ["risk", "search"]
    assert labels("models/iris.yaml", "name: iris\nteam: \n", 1, 6, None) == []


def test_values_of_an_enum_or_a_boolean(config: RepoConfig) -> None:
    assert "huggingface" in labels("models/iris.yaml", "framework: \n", 0, 11, config)
    assert labels("models/iris.yaml", "dashboard: \n", 0, 11, config) == ["true", "false"]


def test_keys_of_the_mapping_leave_out_those_written(config: RepoConfig) -> None:
    text = "name: iris\nteam: risk\nrep\nframework: sklearn\n"
    found = labels("models/iris.yaml", text, 2, 3, config)
    assert "replicas" in found and "artifact" in found
    assert not {"name", "team", "framework"} & set(found)
    nested = labels("models/iris.yaml", "artifact:\n  uri: s3://a/b\n  \n", 2, 2, config)
    assert "mlflow" in nested and "uri" not in nested and "name" not in nested


def test_keys_in_a_list_item(config: RepoConfig) -> None:
    text = MODEL + "      - model: third\n        \n"
    found = labels("models/iris.yaml", text, len(lines(text)) - 1, 8, config)
    assert "inputs" in found and "model" not in found


def test_environment_names_under_environments(config: RepoConfig) -> None:
    text = "name: iris\nenvironments:\n  staging:\n    replicas: 1\n  \n"
    assert labels("models/iris.yaml", text, 4, 2, config) == ["production"]
    assert labels("modelops.yaml", "environments:\n  \n", 1, 2, config) == []  # named there, not offered


def test_keys_of_modelops_yaml(config: RepoConfig) -> None:
    found = labels("modelops.yaml", "environments:\n  prod:\n    \n", 2, 4, config)
    assert {"namespace", "target", "protected"} <= set(found)


@pytest.mark.parametrize(("text", "col", "end"), [
    ("team: nobody\n", 6, 12),  # a value
    ("team: nobody  # who\n", 6, 12),  # a comment aside
    ("  replicaz: 2\n", 2, 10),  # a key
    ("  'odd key': 2\n", 2, 11),  # a quoted key
    ("team:\n", 5, 5),  # nothing there
    ("x: [a, b]\n", 3, 9),  # a flow value
])
def test_a_range_covers_the_key_or_value(text: str, col: int, end: int) -> None:
    assert token_end(text, col) == end


PIECES = st.sampled_from(["  ", "- ", "-", "name", "team", "environments", "traffic", "main", "steps",
                          ":", ": ", "'", '"', "#", "[", "{", "x", "é", "😀", "\t", "\r"])
SETTINGS = settings(max_examples=int(os.environ.get("MODELOPS_HYPOTHESIS_EXAMPLES", "200")), deadline=None)


@SETTINGS
@given(st.lists(st.lists(PIECES, max_size=8).map("".join), max_size=8), st.integers(0, 9),
       st.integers(0, 40), st.sampled_from(["models/x.yaml", "modelops.yaml"]))
def test_no_text_makes_hover_or_completion_raise(rows: list[str], line: int, character: int,
                                                 shown: str) -> None:
    text = [row + "\n" for row in rows]
    line = min(line, len(text))
    character = min(character, len(text[line]) if line < len(text) else 0)
    found, _, _ = config_from_text(CONFIG)
    hover(shown, text, line, character)
    for offered in completions(shown, text, line, character, found):
        assert offered.label and offered.kind in ("key", "value")
    for row in text:
        for col in range(len(row) + 1):
            assert token_end(row, col) >= col
