"""Discovered actors in digests: a list of new names, marked chips, and an overview of
watched actors only."""

from __future__ import annotations

import re
from dataclasses import replace

from feeds.digest.compose import NEW_CHIPS_PER_ARTICLE, actor_overview, new_names
from tests.test_digest import CORPUS, actor, article, render


def discovered(name: str, sentiment: str = "neutral", evidence: str = "", mentions: int = 1):  # type: ignore[no-untyped-def]
    return replace(actor(name, sentiment, evidence, mentions), type="person", watched=False)


NEWS = [
    *CORPUS,
    article(
        6,
        title="Mayor speaks",
        actors=(
            actor("Russia", "negative"),
            discovered("Ann Lee", "positive", "Ann Lee opened the bridge.", 3),
            *(discovered(f"Person {n}") for n in range(5)),
        ),
    ),
    article(7, title="Bridge reopens", actors=(discovered("ann lee"), discovered("Kherson"))),
]


def test_new_names_rank_by_articles_and_merge_case() -> None:
    found = new_names(NEWS)
    assert [(n.name, n.articles) for n in found[:2]] == [("Ann Lee", 2), ("Kherson", 1)]
    assert all(n.name != "Russia" for n in found)


def test_overview_lists_watched_actors_only() -> None:
    assert {t.name for t in actor_overview(NEWS)} == {"Russia", "Ukraine", "United Nations"}


def test_digest_shows_new_names_and_marks_discovered_chips() -> None:
    email = render(NEWS)
    assert "NEW NAMES (not on the watchlist)" in email.text
    assert re.search(r"^Ann Lee, Kherson, Person 0", email.text, re.MULTILINE)
    assert '[Ann Lee (new): positive] "Ann Lee opened the bridge."' in email.text
    assert "Ann Lee (new): positive" in email.html and "New names" in email.html
    # the watched chip first, then at most NEW_CHIPS_PER_ARTICLE discovered ones
    story = email.text.split("* Mayor speaks", 1)[1].split("\n* ", 1)[0]
    chips = re.findall(r"^\s+\[([^\]]+)\]", story, re.MULTILINE)
    assert chips[0] == "Russia: negative" and len(chips) == 1 + NEW_CHIPS_PER_ARTICLE


def test_digest_without_discovered_actors_has_no_new_names_section() -> None:
    email = render(CORPUS)
    assert "NEW NAMES" not in email.text and "New names" not in email.html
