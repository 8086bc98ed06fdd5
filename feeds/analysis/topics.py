"""Multi-label topic tagging by term rules (IPTC Media Topics, top level).

A rule is a topic code, its label and a list of terms (see ``seeds/topics.toml``). A term
is one or more words matched case-insensitively as whole words; a trailing ``*`` makes
its last word a prefix (``sanction*`` matches "sanctions", "sanctioned"). Words of a
term may be separated by any whitespace or a hyphen.

Scoring, per topic — deliberately simple, so a person can predict it:

* body evidence = ``sqrt(distinct * hits)``: the geometric mean of the number of
  distinct terms found in the text and of all their occurrences, so a repeated term
  counts, but less than a new one (one term four times weighs as two terms once each).
* it is divided by a length factor ``sqrt(max(words, 250) / 250)``: a long article
  meets more terms by chance, so it needs more of them, but sub-linearly (a topic keeps
  coming up as a story goes on).
* each distinct term in the title adds ``TITLE_WEIGHT`` (2): a headline says what the
  story is about.
* ``score = 1 - exp(-evidence / 2.5)``: saturating in 0..1; 0.33 at one term once in a
  short body, 0.55 at two distinct terms, 0.80 at four.

A topic is reported when its score reaches ``THRESHOLD`` (0.45): one passing mention
(one term, once, in the body) does not tag the article; two distinct terms, one term
three times, or one title term do. Topics are returned best first.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from feeds.errors import ConfigError
from feeds.models import TopicRule, TopicScore

TITLE_WEIGHT = 2.0
THRESHOLD = 0.45
_SATURATION = 2.5
_REFERENCE_WORDS = 250
_CODE = re.compile(r"medtop:\d{8}")
_WORD = re.compile(r"\w+")
_GAP = re.compile(r"\s+|\s*-\s*")  # what may separate the words of a term


def parse_topic_rules(text: str) -> list[TopicRule]:
    """Rules from TOML ``[[topic]]`` tables with ``code``, ``label`` and ``terms``.

    Raises :class:`ConfigError` for malformed TOML, a bad code, an empty or malformed
    term, or a code listed twice.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"topic rules are not valid TOML: {exc}") from exc
    tables = data.get("topic")
    if not isinstance(tables, list) or not tables:
        raise ConfigError("topic rules need at least one [[topic]] table")
    rules: list[TopicRule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        rule = _rule_from_table(index, table)
        if rule.code in seen:
            raise ConfigError(f"topic {rule.code} is listed twice")
        seen.add(rule.code)
        rules.append(rule)
    return rules


def _rule_from_table(index: int, table: object) -> TopicRule:
    if not isinstance(table, dict):
        raise ConfigError(f"topic #{index} is not a table")
    code, label, terms = table.get("code"), table.get("label"), table.get("terms")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ConfigError(f"topic #{index}: 'code' must look like 'medtop:16000000'")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"topic {code}: 'label' must be a non-empty string")
    if not isinstance(terms, list) or not terms:
        raise ConfigError(f"topic {code}: 'terms' must be a non-empty list")
    for term in terms:
        if not isinstance(term, str) or not _valid_term(term):
            raise ConfigError(f"topic {code}: bad term {term!r}")
    return TopicRule(code=code, label=label.strip(), terms=tuple(t.strip() for t in terms))


def _valid_term(term: str) -> bool:
    return all(_WORD.fullmatch(w) for w in _split_term(term))


def score_topics(rules: Sequence[TopicRule], title: str, text: str) -> tuple[TopicScore, ...]:
    """Topics whose score reaches :data:`THRESHOLD`, best first (ties by code)."""
    index = _term_index(tuple(rules))
    length_factor = math.sqrt(max(len(_WORD.findall(text)), _REFERENCE_WORDS) / _REFERENCE_WORDS)
    title_terms = set(index.find(title))
    body_hits = index.find(text)
    scores: list[TopicScore] = []
    for rule_no, rule in enumerate(index.rules):
        hits = sum(1 for t in body_hits if t.rule == rule_no)
        distinct = len({t for t in body_hits if t.rule == rule_no})
        evidence = TITLE_WEIGHT * sum(1 for t in title_terms if t.rule == rule_no)
        evidence += math.sqrt(distinct * hits) / length_factor
        score = 1.0 - math.exp(-evidence / _SATURATION)
        if score >= THRESHOLD:
            scores.append(TopicScore(code=rule.code, label=rule.label, score=round(score, 3)))
    scores.sort(key=lambda s: (-s.score, s.code))
    return tuple(scores)


@dataclass(frozen=True, slots=True)
class _Term:
    rule: int  # position of the rule
    words: tuple[str, ...]  # lower case
    prefix: bool  # the last word is a prefix


class _TermIndex:
    """All terms of all rules, looked up word by word.

    One pass over the text's words with dictionary look-ups is far cheaper than one
    regex alternation per rule (the regex engine cannot skip ahead in an alternation).
    """

    def __init__(self, rules: tuple[TopicRule, ...]) -> None:
        self.rules = rules
        self._exact: dict[str, list[_Term]] = {}  # keyed by the first word
        self._prefix: dict[str, list[_Term]] = {}  # one-word prefix terms, keyed by prefix
        for rule_no, rule in enumerate(rules):
            for raw in rule.terms:
                words = tuple(w.lower() for w in _split_term(raw))
                term = _Term(rule_no, words, raw.endswith("*"))
                table = self._prefix if term.prefix and len(words) == 1 else self._exact
                table.setdefault(words[0], []).append(term)
        self._longest_prefix = max(map(len, self._prefix), default=0)

    def find(self, text: str) -> list[_Term]:
        """Every term occurrence; per rule, the longest term wins where two overlap."""
        tokens = list(_WORD.finditer(text))
        words = [t.group().lower() for t in tokens]
        found: list[_Term] = []
        free_from: dict[int, int] = {}  # rule -> first word index not yet covered
        for i, word in enumerate(words):
            candidates = list(self._exact.get(word, ()))
            for k in range(1, min(len(word), self._longest_prefix) + 1):
                candidates.extend(self._prefix.get(word[:k], ()))
            best: dict[int, _Term] = {}
            for term in candidates:
                if free_from.get(term.rule, 0) > i or not _matches_at(term, text, tokens, words, i):
                    continue
                if term.rule not in best or len(term.words) > len(best[term.rule].words):
                    best[term.rule] = term
            for rule_no, term in best.items():
                free_from[rule_no] = i + len(term.words)
                found.append(term)
        return found


def _matches_at(
    term: _Term, text: str, tokens: list[re.Match[str]], words: list[str], i: int
) -> bool:
    if i + len(term.words) > len(words):
        return False
    last = len(term.words) - 1
    for j, expected in enumerate(term.words):
        word = words[i + j]
        if j and not _GAP.fullmatch(text, tokens[i + j - 1].end(), tokens[i + j].start()):
            return False
        if not (word.startswith(expected) if term.prefix and j == last else word == expected):
            return False
    return True


def _split_term(term: str) -> list[str]:
    return re.split(r"[\s-]+", term.removesuffix("*").strip())


@lru_cache(maxsize=16)
def _term_index(rules: tuple[TopicRule, ...]) -> _TermIndex:
    return _TermIndex(rules)
