"""The fast YAML writer is PyYAML's text, byte for byte, whatever the data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelops.compile.emit.block_yaml import pyyaml_text
from modelops.compile.emit.tree import to_yaml

# Strings PyYAML must quote, fold, escape or read as another type; plus ordinary ones.
TRICKY = ["", " ", "yes", "No", "on", "Off", "TRUE", "nULL", "y", "n", "Y", "N", "yEs", "null", "~", "true",
          "1", "0o17", "0x1f", "1_000", "1.5", ".inf",
          "1e3", "2024-01-02", "12:30:00", "-", "- a", "a: b", "a #b", "#", "&a", "*a", "!x", "|", ">",
          "'q'", '"d"', "%", "@", "`", "{x}", "[x]", "?", "a\tb", "tab\t", " lead", "trail ", "x\ny",
          "line\n", "é", "ü-ñ", "日本", "\x07bell", "\u2028", "\u2029", "\x85", "a\rb", "\ufeff",
          "k8s.io/name", "s3://b/k", "http://x:8080/p?q=1", "x" * 130, "word " * 900, "=", "<<", "a,b",
          "100m", "1Gi"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.sampled_from(TRICKY), st.text(max_size=20),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_./ :#-]{0,12}", fullmatch=True),
)
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=30,
)
documents = st.dictionaries(keys, values, max_size=6)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(documents)
def test_text_equals_pyyaml(obj: dict[str, Any]) -> None:
    assert to_yaml(obj) == pyyaml_text(obj)


@pytest.mark.parametrize("text", TRICKY)
def test_every_tricky_string_as_key_value_and_item(text: str) -> None:
    obj = {text or "k": text, "nested": {"list": [text, [text], {text or "k": [text]}]}}
    assert to_yaml(obj) == pyyaml_text(obj)


def test_a_shared_sub_object_is_written_out_twice_not_anchored() -> None:
    """A generator reusing one labels dict (a Deployment's metadata and its pod template) must not
    leave `&id001` / `*id001` in a manifest reviewers read and other tools parse."""
    labels = {"app": "x"}
    empty: list[Any] = []
    obj = {"metadata": {"labels": labels}, "selector": {"matchLabels": labels}, "empty": [empty, empty]}
    text = to_yaml(obj)
    assert "&" not in text and "*" not in text
    assert text == pyyaml_text(obj) == to_yaml(copy.deepcopy(obj))


def test_nested_lists_and_empty_collections() -> None:
    obj = {"a": [[1, [2, {}]], {"b": [], "c": {"d": [{"e": None}]}}], "f": {}}
    assert to_yaml(obj) == pyyaml_text(obj) == (
        "a:\n- - 1\n  - - 2\n    - {}\n- b: []\n  c:\n    d:\n    - e: null\nf: {}\n")


def test_keys_that_are_not_strings_are_left_to_pyyaml() -> None:
    obj = {"a": {1: "x", "b": "y"}, "c": {True: 1, None: 2}}
    assert to_yaml(obj) == pyyaml_text(obj)


def test_the_scalar_memo_is_bounded_and_writes_the_same_text_after_emptying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large compile writes hundreds of thousands of strings; the memo of written scalars stays
    small (it is emptied when full) and what is written does not depend on what it holds."""
    from modelops.compile.emit import block_yaml

    obj = {"k": [f"value {i}" for i in range(200)], "yes": TRICKY}
    expected = pyyaml_text(obj)
    monkeypatch.setattr(block_yaml, "MEMO", 16)
    block_yaml._VALUES.clear()
    assert to_yaml(obj) == expected
    assert len(block_yaml._VALUES) <= 16
    assert to_yaml(obj) == expected
