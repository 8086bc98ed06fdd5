"""How much of a document analysis reads: a fixed budget, so cost stays linear and bounded.

Feeds may carry items of megabytes (a pasted report, a broken CMS repeating a page). News
articles are rarely longer than 30,000 characters; analysis reads the title and the first
:data:`MAX_TEXT_CHARS` characters of the text, cut at a word boundary, and the result says
where it stopped (``AnalysisResult.text_cut_at``), so a reader knows the verdicts cover
only the start. Inside that, the target-sentiment reading budget
(:mod:`feeds.analysis.targeted.actors`) bounds the model's reads per actor and article.
"""

from __future__ import annotations

import dataclasses

from feeds.models import Document

MAX_TEXT_CHARS = 100_000
_BOUNDARY_SLACK = 200  # how far back a cut may move to land between words


def clip(doc: Document, limit: int = MAX_TEXT_CHARS) -> tuple[Document, int | None]:
    """``doc`` with its text cut to the budget, and where it was cut (None: read whole)."""
    if len(doc.text) <= limit:
        return doc, None
    space = doc.text.rfind(" ", limit - _BOUNDARY_SLACK, limit)
    cut = space if space > 0 else limit
    return dataclasses.replace(doc, text=doc.text[:cut]), cut
