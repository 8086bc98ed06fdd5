"""How a (sentence, mention) pair becomes model input — shared by training and inference.

The classifier reads two segments: the mention alone, then the sentence with the mention
wrapped in ``<<`` and ``>>`` and the sentence's *other* targets wrapped in ``[`` and ``]``.
The first segment says *whom* to judge, the markers say *which* occurrence and who else
the tone may be aimed at, so "Russia condemned Ukraine" reads differently for each of them.

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
OTHER_OPEN = "["  # around the sentence's other targets (separate word pieces, like << >>)
OTHER_CLOSE = "]"
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


def _mark_others(text: str, offset: int, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` (which starts at ``offset`` of the sentence) with every span that lies
    wholly inside it wrapped in :data:`OTHER_OPEN` / :data:`OTHER_CLOSE`."""
    parts: list[str] = []
    pos = 0
    for s, e in spans:
        s, e = s - offset, e - offset
        if s < pos or e > len(text) or s >= e:  # outside the window, or overlapping
            continue
        parts += [text[pos:s], f" {OTHER_OPEN} {text[s:e]} {OTHER_CLOSE} "]
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def marked_pair(
    sentence: str, start: int, end: int, others: Sequence[tuple[int, int]] = ()
) -> MarkedPair:
    """Build the input for the mention ``sentence[start:end]`` (offsets are trusted).

    ``others``: character spans of the sentence's other targets; those that overlap the
    mention, each other, or fall outside the cropped window are left unmarked.
    """
    spans = sorted((s, e) for s, e in others if e <= start or s >= end)
    left_from = 0
    right_to = len(sentence)
    mention = _squash(sentence[start:end]) or sentence[start:end]
    if start > _LEFT_CHARS:
        cut = sentence[:start].find(" ", start - _LEFT_CHARS)
        left_from = cut + 1 if cut >= 0 else start - _LEFT_CHARS
    room = max(_WINDOW_CHARS - (start - left_from) - len(mention), 40)
    if right_to - end > room:
        cut = sentence[end:].rfind(" ", 0, room)
        right_to = end + (cut if cut > 0 else room)
    left = _squash(_mark_others(sentence[left_from:start], left_from, spans))
    right = _squash(_mark_others(sentence[end:right_to], end, spans))
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
