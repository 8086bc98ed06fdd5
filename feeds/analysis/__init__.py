"""Topics and per-actor sentiment: the :class:`feeds.ports.Analyzer` seam and its first,
lexicon-based implementation.

* :mod:`~feeds.analysis.watchlist` — the actor watchlist (TOML) and the mention matcher;
* :mod:`~feeds.analysis.topics` — IPTC top-level topic rules (TOML) and their scoring;
* :mod:`~feeds.analysis.sentences` — a sentence splitter that keeps offsets;
* :mod:`~feeds.analysis.sentiment` — VADER on the clause holding a mention, verdicts;
* :mod:`~feeds.analysis.lexicon` — :class:`LexiconAnalyzer`, which wires them together.

Everything here is pure: callers read the TOML files and pass their text in.
"""

from feeds.analysis.lexicon import LexiconAnalyzer
from feeds.analysis.topics import parse_topic_rules, score_topics
from feeds.analysis.watchlist import ActorMatcher, Mention, parse_watchlist

__all__ = [
    "ActorMatcher",
    "LexiconAnalyzer",
    "Mention",
    "parse_topic_rules",
    "parse_watchlist",
    "score_topics",
]
