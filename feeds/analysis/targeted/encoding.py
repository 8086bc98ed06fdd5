"""How a (sentence, mention) pair becomes model input — shared by training and inference.

The classifier reads two segments: the mention alone, then the sentence with the mention
wrapped in ``<<`` and ``>>``. The first segment says *whom* to judge, the markers say
*which* occurrence, so "Russia condemned Ukraine" reads differently for each of them.

Long sentences are cropped to a character window around the mention before tokenising, so
the mention always survives truncation to :data:`MAX_TOKENS`. Whitespace runs (line breaks
in feed text) become single spaces. Training and inference import this module, so the two
can never drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The encoder's cost grows with every word piece; 64 (and the matching character window)
# kept held-out accuracy and cut about 5 % of the time against 96 (docs/BENCHMARKS.md).
MAX_TOKENS = 64
OPEN_MARK = "<<"
CLOSE_MARK = ">>"
_LEFT_CHARS = 120  # context kept before the mention when a sentence is cropped
_WINDOW_CHARS = 240  # about 50-60 word pieces of news English, the mention's segment aside
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "target_mask")

Row = tuple[list[int], list[int], list[int]]  # word-piece ids, segment ids, mention mask


@dataclass(frozen=True, slots=True)
class MarkedPair:
    """The two input segments, and where the mention sits inside the second one."""

    mention: str
    marked: str
    span_start: int  # character offsets of the mention inside ``marked``
    span_end: int


def _squash(text: str) -> str:
    return " ".join(text.split())


def marked_pair(sentence: str, start: int, end: int) -> MarkedPair:
    """Build the input for the mention ``sentence[start:end]`` (offsets are trusted)."""
    left = sentence[:start]
    right = sentence[end:]
    mention = _squash(sentence[start:end]) or sentence[start:end]
    if len(left) > _LEFT_CHARS:
        cut = left.find(" ", len(left) - _LEFT_CHARS)
        left = left[cut + 1 :] if cut >= 0 else left[-_LEFT_CHARS:]
    room = max(_WINDOW_CHARS - len(left) - len(mention), 40)
    if len(right) > room:
        cut = right.rfind(" ", 0, room)
        right = right[:cut] if cut > 0 else right[:room]
    left = _squash(left)
    right = _squash(right)
    prefix = f"{left} {OPEN_MARK} " if left else f"{OPEN_MARK} "
    marked = f"{prefix}{mention} {CLOSE_MARK}"
    if right:
        marked += right if right[0] in ".,;:!?'’)" else f" {right}"
    return MarkedPair(mention, marked, len(prefix), len(prefix) + len(mention))


def encode_pair(tokenizer: Any, pair: MarkedPair) -> Row:
    """The model's input row for one pair: ids, segment ids and the mask of the word pieces
    that make up the mention in the second segment (``[CLS]`` if truncation lost them).
    ``tokenizer``: a ``tokenizers.Tokenizer`` set to truncate at :data:`MAX_TOKENS`."""
    enc = tokenizer.encode(pair.mention, pair.marked)
    span = [
        1 if seq == 1 and s < pair.span_end and e > pair.span_start else 0
        for seq, (s, e) in zip(enc.sequence_ids, enc.offsets, strict=True)
    ]
    if not any(span):
        span[0] = 1
    return enc.ids, enc.type_ids, span


def pack(rows: Sequence[Row]) -> dict[str, np.ndarray]:
    """Right-padded model inputs (:data:`INPUTS`) for a batch of rows."""
    width = max(len(r[0]) for r in rows)
    arrays = {name: np.zeros((len(rows), width), dtype=np.int64) for name in INPUTS}
    for n, (ids, types, span) in enumerate(rows):
        arrays["input_ids"][n, : len(ids)] = ids
        arrays["attention_mask"][n, : len(ids)] = 1
        arrays["token_type_ids"][n, : len(ids)] = types
        arrays["target_mask"][n, : len(ids)] = span
    return arrays
