"""Give the memory a stage of a large run freed back to the system before the next stage grows.

CPython frees objects into glibc's heap, which keeps the pages: after 10,000 models' outcomes are
taken in, tens of megabytes stay mapped though nothing uses them, and the next stage (the shared
files, the record) adds its own on top. `malloc_trim` returns them; elsewhere (not glibc) nothing
happens.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


def give_back() -> None:
    """Return the free heap pages to the system (glibc), at a few milliseconds' cost."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
