"""Credentials in what reaches `generated/`: one combined regex over every rendered string (MO260).

The token patterns are `modelops.masking`'s (the output's masking layer uses the same ones).
detect-secrets itself is not a dependency: it pulls in requests and scans files, not strings, and
gitleaks is a Go binary. A match is reported masked: at most its first 4 characters, then `****`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelops.compile.source import Document, Loc
from modelops.diagnostics import Diagnostic
from modelops.masking import BY_NAME, MARKERS, combined


@cache
def _aws_secret() -> re.Pattern[str]:
    return re.compile(BY_NAME["aws_secret"].regex)  # its markers (aws, secret) are common words


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
    match = combined().search(text)
    if match is None or match.lastgroup is None:
        return None
    pattern = BY_NAME[match.lastgroup]
    offset = len(key) + 1
    start = max(match.start(), offset)
    needle = text[start:match.end()]
    if match.start() < offset:  # the match began in the name: show nothing of the value
        return Found(pattern.label, mask(needle, False), needle)
    return Found(pattern.label, mask(needle, pattern.show), needle)


# A generated credential without a known shape (MO261): a run of at least 32 base64 / URL-safe
# characters with a lower-case letter, an upper-case letter and a digit, at least 4 bits of Shannon
# entropy per character, and at most one separator (/ _ -) per 10 characters (paths and names have
# one every few; random strings seldom do). Hex digests and UUIDs (no upper case, at most 4 bits) pass.
_RANDOM_RUN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
MIN_BITS = 4.0


def entropy(text: str) -> float:
    """Shannon entropy of `text`, in bits per character."""
    counts = Counter(text).values()
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts) if text else 0.0


def random_looking(value: str) -> tuple[int, float] | None:
    """(length, bits per character) of the first run of `value` that looks generated, else None."""
    for run in _RANDOM_RUN.findall(value):
        mixed = all(any(test(c) for c in run) for test in (str.islower, str.isupper, str.isdigit))
        separators = sum(c in "/_-" for c in run)
        if mixed and separators * 10 <= len(run) and (bits := entropy(run)) >= MIN_BITS:
            return len(run), bits
    return None


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


def named_strings(value: Any, out: list[str], name: str = "") -> list[str]:
    """`out` with `name=text` for every (_, name, text) of `string_leaves(value)`, in order, without
    building their paths (the quick scan of a large shared file reads a quarter million strings)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                out.append(f"{key}={item}")
            else:
                named_strings(item, out, str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("value"), str) and "name" in item:
                out.append(f"{item['name']}={item['value']}")
                named_strings({k: v for k, v in item.items() if k != "value"}, out, str(index))
            elif isinstance(item, str):
                out.append(f"{name}={item}")
            else:
                named_strings(item, out, str(index))
    return out


def _quick(obj: dict[str, Any]) -> bool:
    """Whether any string of `obj` may hold a credential: one search over all of them joined."""
    text = "\n".join(named_strings(obj, []))
    lowered = text.lower()
    if any(marker in lowered for marker in MARKERS) or ("://" in text and "@" in text):
        return combined().search(text) is not None
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
