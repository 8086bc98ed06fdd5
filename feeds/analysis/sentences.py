"""Split plain news text into sentences, keeping character offsets.

Offsets matter more than pretty output: the analyzer maps actor mentions and caller-given
target spans onto the sentence that contains them, so :func:`split_sentences` returns
``(start, end)`` spans into the original string instead of copies.

The rules, in order of strength:

* A paragraph break (a line break, optional blanks, another line break) always ends a
  sentence. A *single* line break does not: feed text is often hard-wrapped, and a name
  may be broken over two lines.
* ``.``, ``!``, ``?`` or ``…`` (possibly repeated, possibly followed by closing quotes or
  brackets) end a sentence when whitespace follows and the next visible character starts
  a sentence: a capital letter, a digit, or an opening quote/bracket. So
  ``“Why?” he asked.`` stays one sentence.
* A full stop right after a known abbreviation (``Mr.``, ``Gen.``, ``Jan.`` …) never ends
  a sentence. After an initialism (``U.S.``, ``U.N.``, ``J. K.``) it ends one only when
  the next word is a typical sentence opener (``The``, ``He``, ``But`` …): "the U.S. Army"
  stays whole, "sanctions by the U.S. The Kremlin said" splits. This is a heuristic; it
  is wrong in rare cases and cheap always.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int  # exclusive


# Lower-case, without the dot. Titles, ranks, months, corporate suffixes and Latin.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm maj pres rev hon st
    jr sr inc ltd corp bros dept univ approx vs etc al cf eg ie vol fig
    jan feb mar apr jun jul aug sep sept oct nov dec mt ft
    """.split()
)

# Words that typically open a sentence; used only to decide whether an initialism such
# as "U.S." also ends the sentence.
_OPENERS = frozenset(
    """
    the a an he she it they we i you his her its their our this that these those there
    but and yet so however meanwhile in on at after before when while if as
    """.split()
)

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A terminator run, optional closers, then whitespace, then an optional opener and the
# first character of the next sentence (not consumed: it belongs to the next sentence).
_BOUNDARY = re.compile(r"""[.!?…]+["'”’»)\]]*(?P<gap>\s+)(?=["'“‘«(\[]*(?P<next>[A-Z0-9]\w*))""")
_LAST_TOKEN = re.compile(r"(\S+)$")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?$")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``, trimmed of surrounding whitespace, in order."""
    spans: list[Span] = []
    para_start = 0
    for para in _PARAGRAPH.finditer(text):
        _split_paragraph(text, para_start, para.start(), spans)
        para_start = para.end()
    _split_paragraph(text, para_start, len(text), spans)
    return spans


def sentence_at(spans: list[Span], offset: int) -> Span | None:
    """The sentence containing ``offset``, else the next one (offset in a gap), else None."""
    for span in spans:
        if offset < span.end:
            return span
    return None


def _split_paragraph(text: str, start: int, end: int, out: list[Span]) -> None:
    chunk_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.start("gap")
        if not _ends_sentence(text[chunk_start:stop], match.group("next")):
            continue
        _append_trimmed(text, chunk_start, stop, out)
        chunk_start = match.end("gap")
    _append_trimmed(text, chunk_start, end, out)


def _ends_sentence(before: str, next_word: str) -> bool:
    """Whether the terminator at the end of ``before`` really closes a sentence."""
    stripped = before.rstrip("\"'”’»)]")
    if not stripped.endswith("."):
        return True  # ! ? … are never abbreviations
    last = _LAST_TOKEN.search(stripped)
    if last is None:
        return True
    token = last.group(1).lstrip("\"'“‘«([")
    word = token[:-1].replace(".", "").lower()
    if word in _ABBREVIATIONS:
        return False
    if word in ("no", "nos"):  # "No. 10" is a number; "said no. Then" is a sentence end
        return not next_word[0].isdigit()
    if _INITIALISM.fullmatch(token):
        return next_word.lower() in _OPENERS
    return True


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append(Span(start, end))
