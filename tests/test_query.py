"""The monitoring query language: parsing, errors, matching, and round trips (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.errors import InvalidInput
from feeds.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    Searchable,
    Term,
    highlights,
    matches,
    parse,
    prefilter,
    to_text,
)

DOC = Searchable(
    title="Sanctions against Russia widen",
    text="The CEO of Zürich Insurance faces a big lawsuit over e-mail leaks.",
    author="Jo Smith",
    urls=("https://www.example.org/world/1",),
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("russia", True),
        ("RUSSIA", True),  # case does not matter
        ("zurich", True),  # nor do diacritics
        ("Zürich", True),
        ("sanction*", True),
        ("sanctioned", False),  # a word must match whole
        ('"big lawsuit"', True),
        ('"lawsuit big"', False),
        ("e-mail", True),  # the phrase "e mail"
        ("russia AND lawsuit", True),
        ("russia lawsuit", True),  # side by side means AND
        ("russia AND china", False),
        ("china OR ceo", True),
        ("NOT china", True),
        ("russia NOT lawsuit", False),
        ("(china OR russia) AND NOT (bank OR court)", True),
        ("ceo NEAR/6 lawsuit", True),  # six words between them
        ("ceo NEAR/5 lawsuit", False),
        ("lawsuit NEAR/6 ceo", True),  # either order
        ('"zurich insurance" NEAR/3 lawsuit', True),
        ("russia NEAR/50 ceo", False),  # title and text are different fields
        ("title:russia", True),
        ("title:lawsuit", False),
        ('title:"against russia"', True),
        ("author:smith", True),
        ("author:jones", False),
        ("site:example.org", True),
        ("site:www.example.org", True),
        ("site:ample.org", False),  # a host suffix must be a whole label
        ("site:example.org AND NOT title:china", True),
        ("and", False),  # lower-case operators are plain words
    ],
)
def test_matching(query: str, expected: bool) -> None:
    assert matches(parse(query), DOC) is expected


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("", 1, "empty"),
        ("(russia OR china", 1, "never closed"),
        ("russia)", 7, "unmatched"),
        ("russia OR", 10, "missing at the end"),
        ('russia "sanctions', 8, "never closed"),
        ("AND russia", 1, "AND needs"),
        ("a*b", 1, "only end"),
        ("s*", 1, "at least 2"),
        ("x NEAR/3 (a OR b)", 10, "not a group"),
        ("x NEAR/500 y", 3, "at most"),
        ("title:x NEAR/2 y", 1, "same field"),
        ('"exact*"', 1, "inside a phrase"),
        ("site:", 1, "needs"),
        ("site:exa_mple", 1, "host name"),
        ("--", 1, "no letters"),
    ],
)
def test_errors_point_at_the_column(query: str, column: int, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse(query)
    text = str(info.value)
    assert f"column {column}:" in text and message in text and "\n" not in text


def test_canonical_text_and_highlights() -> None:
    node = parse('Sanction* russia OR (title:"central bank" NOT rates)')
    assert to_text(node) == 'sanction* AND russia OR title:"central bank" AND NOT rates'
    assert highlights(parse("sanction* OR lawsuit OR NOT china"), DOC) == ["sanctions", "lawsuit"]


def test_prefilter_is_looser_than_the_query() -> None:
    assert prefilter(parse("NOT china")).kind == "nothing"
    assert prefilter(parse("author:smith OR russia")).kind == "nothing"
    need = prefilter(parse("russia AND (sanction* OR embargo) AND NOT china"))
    assert need.kind == "all" and {p.kind for p in need.parts} == {"word", "any"}


# --------------------------------------------------------------------------- generated

WORDS = st.sampled_from(
    [
        "russia",
        "sanction",
        "sanct",
        "bank",
        "ban",
        "zurich",
        "zu",
        "ceo",
        "and",
        "or",
        "2026",
        "mail",
        "naive",
        "u",
    ]
)


@st.composite
def terms(draw: st.DrawFn, *, field: str | None = None) -> Term:
    chosen = field or draw(st.sampled_from(["any", "any", "title", "author", "site"]))
    if chosen == "site":
        return Term((draw(st.sampled_from(["example.org", "news.example.org", "b.test"])),), "site")
    words = tuple(draw(st.lists(WORDS, min_size=1, max_size=3)))
    prefix = len(words) == 1 and len(words[0]) >= 2 and draw(st.booleans())
    return Term(words, chosen, prefix=prefix, quoted=len(words) > 1)  # type: ignore[arg-type]


@st.composite
def nears(draw: st.DrawFn) -> Near:
    field = draw(st.sampled_from(["any", "title", "author"]))
    return Near(
        draw(terms(field=field)), draw(terms(field=field)), draw(st.integers(0, MAX_DISTANCE))
    )


MAX_DISTANCE = 6

queries: st.SearchStrategy[Node] = st.recursive(
    st.one_of(terms(), nears()),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(queries)
def test_parser_round_trips(node: Node) -> None:
    text = to_text(node)
    assert parse(text) == node
    assert to_text(parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab (")*:/NEARORTDtitle:3'), max_size=30))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        node = parse(text)
    except InvalidInput as exc:
        assert str(exc).startswith("query error at column ")
    else:
        assert parse(to_text(node)) == node
