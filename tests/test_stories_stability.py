"""Story ids are stable: a late article joins the story already shown, earlier ids never move,
and the event features a decision needs survive storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from feeds.usecases.group import group_pending
from storage.repository import SqlStore
from tests.test_events import FIGHT, OLD_FIGHT
from tests.test_stories_storage import T0, _add, _article

LATE = (
    "Klitschko, 58-3, told reporters on Sunday that he wanted a unification bout in the "
    "autumn, perhaps against the Russian titleholder.\n"
    "His promoter named no date, no purse and no venue."
)


def test_a_late_article_joins_the_story_already_shown(store: SqlStore) -> None:
    first = _add(
        store,
        _article(1, 1, "Klitschko stops Thompson", FIGHT, T0),
        _article(2, 2, "Klitschko stops Rahman", OLD_FIGHT, T0 + timedelta(hours=2)),
    )
    group_pending(store, ids=first)
    with store.transaction() as repo:
        shown = {a.id: a.story_id for a in repo.iter_articles(ids=first)}
        stored = repo.story_candidates(["klitschko"], start=T0, end=T0, limit=5)
    # Same champion, same week, other records (58-3 against 52-3): two stories.
    assert len(set(shown.values())) == 2
    # The figures travel in the stored signature, beside the terms and names.
    assert any("@s:58-3" in c.signature for c in stored)

    # Analysed a day later, published inside the story's window: it joins the first fight
    # on the shared record and names although its words alone are below the threshold.
    late = _add(store, _article(3, 3, "Champion eyes unification", LATE, T0 + timedelta(hours=26)))
    assert [g.new_story for g in group_pending(store, ids=late)] == [False]
    with store.transaction() as repo:
        after = {a.id: a.story_id for a in repo.iter_articles(ids=[*first, *late])}
    assert after[late[0]] == shown[first[0]]
    # Nothing already shown was renumbered.
    assert {i: after[i] for i in first} == shown
