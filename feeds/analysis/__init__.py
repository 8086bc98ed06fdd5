"""Topics and per-actor sentiment: the :class:`feeds.ports.Analyzer` seam and its
implementation.

* :mod:`~feeds.analysis.watchlist` — the actor watchlist (TOML) and the mention matcher;
* :mod:`~feeds.analysis.topics` — IPTC top-level topic rules (TOML) and their scoring;
* :mod:`~feeds.analysis.sentences` — a sentence splitter that keeps offsets;
* :mod:`~feeds.analysis.sentiment` — VADER on the clause holding a mention (the lexicon
  fallback), with the same verdict type as the model's;
* :mod:`~feeds.analysis.targeted` — the target-sentiment models and the verdict rule;
* :mod:`~feeds.analysis.analyzer` — :class:`ArticleAnalyzer`, which wires them together.

Everything here is pure: callers read the TOML files and pass their text in.
"""

from feeds.analysis.analyzer import ArticleAnalyzer
from feeds.analysis.topics import parse_topic_rules, score_topics
from feeds.analysis.watchlist import ActorMatcher, Mention, parse_watchlist

__all__ = [
    "ActorMatcher",
    "ArticleAnalyzer",
    "Mention",
    "parse_topic_rules",
    "parse_watchlist",
    "score_topics",
]
