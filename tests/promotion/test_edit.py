"""Editing a model file's traffic by role: the trial variant is found by what it does, not its name."""

from __future__ import annotations

import pytest
import yaml
from modelops.promotion.edit import EditError, Pin, pin_text

CHALLENGER = """\
name: iris
team: risk
framework: sklearn
artifact:
  uri: s3://acme-models/iris/1  # the version in production
traffic:
  main: {weight: 90}
  challenger: {weight: 10, artifact: {uri: s3://acme-models/iris/2}}
"""


def test_a_canary_called_challenger_advances_and_keeps_its_name_and_comments() -> None:
    text = pin_text(CHALLENGER, "production", ["production"], Pin("s3://acme-models/iris/2"),
                    "canary", weight=25)
    traffic = yaml.safe_load(text)["environments"]["production"]["traffic"]
    assert traffic == {"main": {"weight": 75},
                       "challenger": {"weight": 25, "artifact": {"uri": "s3://acme-models/iris/2"}}}
    assert "# the version in production" in text


def test_a_first_canary_is_called_canary() -> None:
    single = CHALLENGER.split("traffic:")[0]
    text = pin_text(single, "production", ["production"], Pin("s3://acme-models/iris/2"), "canary",
                    weight=10)
    assert yaml.safe_load(text)["environments"]["production"]["traffic"]["canary"]["weight"] == 10


def test_three_serving_variants_are_not_guessed_at() -> None:
    three = CHALLENGER + "  other: {weight: 0, artifact: {uri: s3://acme-models/iris/3}}\n"
    with pytest.raises(EditError, match="splits traffic between main, challenger, other"):
        pin_text(three, "production", ["production"], Pin("s3://acme-models/iris/2"), "canary", weight=25)
