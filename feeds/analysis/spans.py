"""A set of non-overlapping character spans with a logarithmic overlap test.

Mention matching and discovery both ask "does this span overlap one already taken?" for
every candidate; a scan of all taken spans made that quadratic in the text (a 450 KB
document spent seconds in it). Kept sorted, two bisections answer it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable


class SpanSet:
    """Non-overlapping half-open spans ``[start, end)``, sorted by start."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in spans:
            self.add_if_free(start, end)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_right(self._starts, start) - 1
        if i >= 0 and self._ends[i] > start:
            return True
        return i + 1 < len(self._starts) and self._starts[i + 1] < end

    def add_if_free(self, start: int, end: int) -> bool:
        """Add the span unless it overlaps one already in the set; whether it was added."""
        if self.overlaps(start, end):
            return False
        i = bisect_right(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)
        return True
