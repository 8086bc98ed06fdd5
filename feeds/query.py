"""Monitoring queries: a small query language, its parser and an in-memory matcher.

The language (documented for users in ``docs/TOPICS.md``)::

    query    := or
    or       := and ("OR" and)*
    and      := not (["AND"] not)*          two operands side by side mean AND
    not      := "NOT" not | near
    near     := atom ("NEAR/" N atom)*      N = 0..100 words between the two
    atom     := "(" or ")" | [field ":"] (word | word* | "a phrase")
    field    := title | site | author

* Operators are written in capitals; ``and``, ``or``, ``not`` in lower case are words.
* Words are matched whole, case-insensitively and without diacritics: ``Zurich`` matches
  "zürich", "ZURICH". A word is a run of letters and digits; other characters separate
  words, so ``e-mail`` is the phrase "e mail" and ``U.S.`` is "u s".
* ``sanction*`` matches any word that starts with "sanction" (at least two letters before
  the ``*``); wildcards are allowed at the end of a word only, and not inside phrases.
* ``"exact phrase"`` matches the words in that order, next to each other.
* ``a NEAR/5 b``: ``a`` and ``b`` (words, wildcards or phrases) in either order with at
  most five words between them, in the same field.
* Without a field a word is looked for in the title and the text. ``title:`` searches the
  title only, ``author:`` the author's name, ``site:`` the host names of the article's
  URL and of the feeds that carried it: ``site:example.org`` matches
  ``www.example.org`` and ``example.org`` but not ``badexample.org``.

:func:`parse` raises :class:`feeds.errors.InvalidInput` with the 1-based column of the
problem; :func:`to_text` writes the canonical form, which parses back to the same tree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from feeds.errors import InvalidInput

Field = Literal["any", "title", "author", "site"]
FIELDS: tuple[Field, ...] = ("title", "author", "site")
MAX_NEAR = 100
# Parentheses and NOTs nested deeper than this are refused (a query is a few levels deep;
# hundreds would exhaust the parser's recursion).
MAX_DEPTH = 32
MIN_PREFIX = 2

# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Term:
    """One word (``prefix``: a trailing wildcard) or a phrase of several words."""

    words: tuple[str, ...]  # normalised: lower case, no diacritics
    field: Field = "any"
    prefix: bool = False
    quoted: bool = False  # written as a phrase (kept so the text round-trips)


@dataclass(frozen=True, slots=True)
class Near:
    left: Term
    right: Term
    distance: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Term | Near | Not | And | Or


# --------------------------------------------------------------------------- text rules

_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lower case without diacritics (``Zürich`` -> ``zurich``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    return _WORD.findall(normalise(text))


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    match = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:]+)", url.strip(), re.I)
    return match.group(2).lower().rstrip(".") if match else None


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<near>NEAR/(?P<n>\d+)(?![^\s()"]))
  | (?P<phrase>"(?P<ptext>[^"]*)")
  | (?P<quote>")
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int  # 0-based offset in the query


def _tokenise(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            raise _error(query, pos, "unexpected character")
        kind = m.lastgroup or ""
        if kind == "n":
            kind = "near"
        if kind == "ptext":
            kind = "phrase"
        if kind == "quote":
            raise _error(query, pos, 'a phrase is opened with " but never closed')
        if kind == "word" and m.group().startswith("NEAR/"):
            # Read as a word it would silently become the phrase "near abc".
            raise _error(query, pos, f"{m.group()} is not NEAR/N with N a number of words")
        if kind != "space":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return tokens


def _error(query: str, pos: int, message: str) -> InvalidInput:
    return InvalidInput(f"query error at column {pos + 1}: {message}: {query}")


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenise(query)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def at_operator(self, name: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == name

    def end_pos(self) -> int:
        return len(self.query)

    def fail(self, message: str, tok: _Tok | None = None) -> InvalidInput:
        return _error(self.query, tok.pos if tok else self.end_pos(), message)

    def parse(self) -> Node:
        if not self.tokens:
            raise _error(self.query, 0, "the query is empty")
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise self.fail("unmatched ')'" if tok.kind == "rparen" else "unexpected text", tok)
        return node

    def or_(self) -> Node:
        operands = [self.and_()]
        while self.at_operator("OR"):
            self.i += 1
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self) -> Node:
        operands = [self.not_()]
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rparen" or self.at_operator("OR"):
                break
            if self.at_operator("AND"):
                self.i += 1
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_(self) -> Node:
        if self.at_operator("NOT"):
            self.i += 1
            with self.deeper():
                return Not(self.not_())
        return self.near()

    @contextmanager
    def deeper(self) -> Iterator[None]:
        """One level of nesting more; a query nested beyond MAX_DEPTH is refused, not
        parsed until the interpreter's recursion limit gives out."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the query nests deeper than {MAX_DEPTH} levels", self.peek())
        try:
            yield
        finally:
            self.depth -= 1

    def near(self) -> Node:
        start = self.peek()
        node = self.atom()
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.i += 1
            distance = int(tok.text.split("/", 1)[1])
            if distance > MAX_NEAR:
                raise self.fail(f"NEAR distance must be at most {MAX_NEAR}", tok)
            right_tok = self.peek()
            right = self.atom()
            if not isinstance(node, Term):
                raise self.fail("NEAR joins two words or phrases, not a group", start)
            if not isinstance(right, Term):
                raise self.fail("NEAR joins two words or phrases, not a group", right_tok)
            if node.field == "site" or right.field == "site":
                raise self.fail("NEAR cannot be used with site:", start)
            if node.field != right.field:
                raise self.fail("both sides of NEAR must search the same field", start)
            node = Near(node, right, distance)
        return node

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("a word, phrase or '(' is missing at the end")
        if tok.kind == "lparen":
            self.i += 1
            with self.deeper():
                node = self.or_()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.fail("'(' is never closed", tok)
            self.i += 1
            return node
        if tok.kind == "rparen":
            raise self.fail("')' without a matching '('", tok)
        if tok.kind == "near":
            raise self.fail("NEAR needs a word or phrase on its left", tok)
        if tok.kind == "word" and tok.text in ("AND", "OR", "NOT"):
            raise self.fail(f"{tok.text} needs a word, phrase or group here", tok)
        self.i += 1
        if tok.kind == "phrase":
            return self.phrase(tok, "any", tok.text[1:-1], tok.pos)
        return self.word(tok)

    def word(self, tok: _Tok) -> Term:
        text = tok.text
        field: Field = "any"
        name, colon, rest = text.partition(":")
        if colon and name in FIELDS:
            field = name
            if not rest:
                nxt = self.peek()
                if nxt is None or nxt.kind != "phrase" or nxt.pos != tok.pos + len(text):
                    raise self.fail(f"{name}: needs a word or phrase right after it", tok)
                self.i += 1
                return self.phrase(nxt, field, nxt.text[1:-1], nxt.pos)
            text = rest
        if field == "site":
            host = text.lower().strip(".")
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", host):
                raise self.fail("site: needs a host name such as example.org", tok)
            return Term((host,), "site")
        prefix = text.endswith("*")
        stem = text[:-1] if prefix else text
        if "*" in stem:
            raise self.fail("a wildcard '*' may only end a word", tok)
        found = words(stem)
        if not found:
            raise self.fail(f"{tok.text!r} holds no letters or digits", tok)
        if prefix:
            if len(found) > 1:
                raise self.fail("a wildcard word must be a single word", tok)
            if len(found[0]) < MIN_PREFIX:
                raise self.fail(f"a wildcard needs at least {MIN_PREFIX} letters before '*'", tok)
        return Term(tuple(found), field, prefix=prefix, quoted=len(found) > 1)

    def phrase(self, tok: _Tok, field: Field, body: str, pos: int) -> Term:
        if "*" in body:
            raise _error(self.query, pos, "wildcards are not allowed inside a phrase")
        found = words(body)
        if not found:
            raise _error(self.query, pos, "the phrase holds no words")
        return Term(tuple(found), field, quoted=True)


def parse(query: str) -> Node:
    """The tree of ``query``; raises :class:`InvalidInput` pointing at the column."""
    return _Parser(query).parse()


# --------------------------------------------------------------------------- writing


def to_text(node: Node) -> str:
    """The canonical text of a tree: explicit ``AND``, parentheses only where needed."""
    return _write(node, 0)


_PRECEDENCE = {Or: 1, And: 2, Not: 3, Near: 4, Term: 5}


def _write(node: Node, outer: int) -> str:
    own = _PRECEDENCE[type(node)]
    if isinstance(node, Term):
        text = _write_term(node)
    elif isinstance(node, Near):
        text = f"{_write_term(node.left)} NEAR/{node.distance} {_write_term(node.right)}"
    elif isinstance(node, Not):
        text = f"NOT {_write(node.operand, own)}"
    else:
        joiner = " OR " if isinstance(node, Or) else " AND "
        text = joiner.join(
            _write(op, own + 1 if isinstance(op, type(node)) else own) for op in node.operands
        )
    return f"({text})" if own < outer else text


def _write_term(term: Term) -> str:
    scope = "" if term.field == "any" else f"{term.field}:"
    if term.field == "site":
        return scope + term.words[0]
    if term.quoted or len(term.words) > 1:
        return f'{scope}"{" ".join(term.words)}"'
    word = term.words[0]
    if word in ("AND", "OR", "NOT") or word.startswith("NEAR/"):  # pragma: no cover
        return f'{scope}"{word}"'
    return f"{scope}{word}{'*' if term.prefix else ''}"


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)  # no slots: the cached properties need an instance dict
class Searchable:
    """What a query is matched against: the article's fields as plain text."""

    title: str
    text: str
    author: str | None = None
    urls: tuple[str, ...] = ()  # the article's URL and its feeds' URLs

    @cached_property
    def fields(self) -> dict[str, list[str]]:
        return {
            "title": words(self.title),
            "text": words(self.text),
            "author": words(self.author or ""),
        }

    @cached_property
    def hosts(self) -> tuple[str, ...]:
        return tuple(h for h in (host_of(u) for u in self.urls) if h)


def _fields_of(term: Term) -> tuple[str, ...]:
    return ("title", "text") if term.field == "any" else (term.field,)


def _positions(term: Term, tokens: Sequence[str]) -> list[int]:
    """Start positions of ``term`` in ``tokens``."""
    n = len(term.words)
    last = n - 1
    found = []
    for i in range(len(tokens) - last):
        for j, word in enumerate(term.words):
            token = tokens[i + j]
            ok = token.startswith(word) if term.prefix and j == last else token == word
            if not ok:
                break
        else:
            found.append(i)
    return found


def matches(node: Node, doc: Searchable) -> bool:
    """Whether the document satisfies the query."""
    if isinstance(node, Term):
        if node.field == "site":
            host = node.words[0]
            return any(h == host or h.endswith("." + host) for h in doc.hosts)
        return any(_positions(node, doc.fields[f]) for f in _fields_of(node))
    if isinstance(node, Near):
        return _near(node, doc)
    if isinstance(node, Not):
        return not matches(node.operand, doc)
    if isinstance(node, And):
        return all(matches(op, doc) for op in node.operands)
    return any(matches(op, doc) for op in node.operands)


def _near(node: Near, doc: Searchable) -> bool:
    left_len, right_len = len(node.left.words), len(node.right.words)
    for field in _fields_of(node.left):
        tokens = doc.fields[field]
        lefts = _positions(node.left, tokens)
        rights = _positions(node.right, tokens)
        for a in lefts:
            for b in rights:
                # words strictly between the two spans; overlapping spans do not count
                gap = b - (a + left_len) if b >= a + left_len else a - (b + right_len)
                if 0 <= gap <= node.distance:
                    return True
    return False


def highlights(node: Node, doc: Searchable) -> list[str]:
    """The words of positive terms that occur in the title or text (for display)."""
    found: list[str] = []
    for term in positive_terms(node):
        if term.field in ("site", "author"):
            continue
        for field in _fields_of(term):
            tokens = doc.fields[field]
            for start in _positions(term, tokens):
                found.append(" ".join(tokens[start : start + len(term.words)]))
    return list(dict.fromkeys(found))


def positive_terms(node: Node) -> list[Term]:
    """Terms not under a NOT (those whose presence makes a match)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return [node.left, node.right]
    if isinstance(node, Not):
        return []
    return [t for op in node.operands for t in positive_terms(op)]


# --------------------------------------------------------------------------- index prefilter


@dataclass(frozen=True, slots=True)
class Need:
    """Words an article must contain for the query to have a chance (for a text index).

    ``kind`` is ``"word"`` (``word``, ``prefix``), ``"all"`` or ``"any"`` (``parts``), or
    ``"nothing"``: no condition the index can check. A prefilter is always *looser* than
    the query: every article the query matches passes it, so running the exact matcher
    on what the index returns gives the same answer as scanning everything.
    """

    kind: Literal["word", "all", "any", "nothing"]
    word: str = ""
    prefix: bool = False
    parts: tuple[Need, ...] = ()


NOTHING = Need("nothing")


def prefilter(node: Node) -> Need:
    """The index condition implied by ``node`` (title and text words only)."""
    if isinstance(node, Term):
        if node.field in ("site", "author"):
            return NOTHING
        last = len(node.words) - 1
        return _all(
            [Need("word", w, prefix=node.prefix and i == last) for i, w in enumerate(node.words)]
        )
    if isinstance(node, Near):
        return _all([prefilter(node.left), prefilter(node.right)])
    if isinstance(node, Not):
        return NOTHING
    parts = [prefilter(op) for op in node.operands]
    if isinstance(node, And):
        return _all(parts)
    if any(p.kind == "nothing" for p in parts):
        return NOTHING
    return Need("any", parts=tuple(dict.fromkeys(parts)))


def _all(parts: list[Need]) -> Need:
    kept = tuple(dict.fromkeys(p for p in parts if p.kind != "nothing"))
    if not kept:
        return NOTHING
    return kept[0] if len(kept) == 1 else Need("all", parts=kept)
