"""The one duration type: what it reads, and that it refuses the rest instead of reading part of it."""

from __future__ import annotations

import pytest
from modelops.compile.duration import Duration, DurationError


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("0.5", 0.5), ("30s", 30), ("10m", 600), ("1h", 3600), ("1.5h", 5400),
    ("1h30m", 5400), ("500ms", 0.5), ("1m30s", 90), ("2h0m5s250ms", 7205.25), (" 5M ", 300), ("0", 0),
])
def test_what_a_duration_is(text: str, seconds: float) -> None:
    assert Duration.parse(text).seconds == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5min", "1m1h", "30s30s", "-5s", "1 h", "1h 30m", "ms", "1d",
                                  "30x", "1e3"])
def test_anything_else_is_refused_whole(text: str) -> None:
    with pytest.raises(DurationError) as error:
        Duration.parse(text)
    assert str(error.value) == f"{text!r} is not a duration such as 90, 30s, 5m or 1h30m"


def test_zero_is_refused_where_a_positive_duration_is_needed() -> None:
    assert Duration.parse("0s").seconds == 0
    with pytest.raises(DurationError, match=r"^'0s' must be more than zero$"):
        Duration.parse("0s", positive=True)


def test_every_spec_duration_the_schema_accepts_is_read() -> None:
    """A model file's `rollout.bake` passed the spec's pattern: the same text reads as a Duration."""
    import re

    from modelops.compile.spec import DURATION_RE

    for text in ("30m", "1h30m", "45s", "500ms", "2h", "1m30s"):
        assert re.fullmatch(DURATION_RE, text)
        assert Duration.parse(text).seconds > 0
