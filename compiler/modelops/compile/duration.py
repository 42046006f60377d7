"""The one duration type: what `--watch`, `--poll`, `--timeout` and a model file's durations
(`rollout.bake`) are written as.

Plain seconds (`90`, `0.5`), or amounts with units from the largest down, each at most once: `1h30m`,
`10m`, `30s`, `500ms`, `1.5h`. Anything else is refused, never read as part of itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_AMOUNT = r"\d+(?:\.\d+)?"
_PLAIN = re.compile(_AMOUNT)
_WITH_UNITS = re.compile("".join(f"(?:(?P<{u}>{_AMOUNT}){u})?" for u in ("h", "m", "s", "ms")))
EXAMPLES = "90, 30s, 5m or 1h30m"


class DurationError(ValueError):
    """Text that is not a duration; the message says what was given and what would do."""


@dataclass(frozen=True)
class Duration:
    text: str
    seconds: float

    @classmethod
    def parse(cls, text: str, *, positive: bool = False) -> Duration:
        """`text` as a duration; a DurationError when it is not one (or is zero, with `positive`)."""
        given = text.strip().lower()
        seconds = _seconds(given)
        if seconds is None:
            raise DurationError(f"{text!r} is not a duration such as {EXAMPLES}")
        if positive and seconds <= 0:
            raise DurationError(f"{text!r} must be more than zero")
        return cls(given, seconds)

    def __str__(self) -> str:
        return self.text


def _seconds(text: str) -> float | None:
    if _PLAIN.fullmatch(text):
        return float(text)
    match = _WITH_UNITS.fullmatch(text)
    if not text or match is None:
        return None
    return sum(float(amount) * UNITS[unit] for unit, amount in match.groupdict().items() if amount)
