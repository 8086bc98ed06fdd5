"""The story-variants bench replays the real grouping use case in memory: the baseline
decides as storage does, and every variant it names runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.stories_variants import MemoryIndex, MemoryStore, parse_variant, replay
from feeds.models import ArticleForGrouping
from feeds.usecases.group import group_one
from tests.test_neardup import ARREST, ARREST_FOLLOW_UP, OTHER_ARREST, OTHER_QUAKE, T0, WIRE

FOLLOW_UP = (
    "Survivors in Ardmore spent a second night outdoors as aftershocks continued.\n"
    "Governor Maren Olsted said the death toll from the earthquake had risen to fifteen "
    "and that the market hall would be rebuilt. Hospitals in Kessel asked for blood."
)
ARTICLES = [
    ("quake", "Quake kills twelve in Ardmore", WIRE),
    ("quake", "Ardmore earthquake - report", "ARDMORE (Newswire) - " + WIRE),
    ("quake", "Ardmore survivors spend second night outdoors", FOLLOW_UP),
    ("other quake", "Quake damages Belmora harbour", OTHER_QUAKE),
    ("arrest", "Harwick police arrest robbery suspect", ARREST),
    ("other arrest", "Tolmere police arrest robbery suspect", OTHER_ARREST),
    ("arrest", "Harwick raid suspect refused bail", ARREST_FOLLOW_UP),
]
VARIANTS = (
    "baseline,core:3,core-gate:3,cohesion:0.6,secondary:4:0.5,"
    "secondary-protagonist:4:0.7,residual:0.1"
)


def _order() -> tuple[list[ArticleForGrouping], dict[int, str]]:
    order = [
        ArticleForGrouping(
            id=n,
            title=title,
            text=text,
            published=T0 + timedelta(minutes=n),
            first_seen=T0 + timedelta(minutes=n + 5),
        )
        for n, (_, title, text) in enumerate(ARTICLES, start=1)
    ]
    return order, {n: event for n, (event, _, _) in enumerate(ARTICLES, start=1)}


def test_memory_index_groups_like_storage() -> None:
    order, _ = _order()
    index = MemoryIndex({a.id: a.text for a in order})
    results = [group_one(MemoryStore(index), a) for a in order]  # type: ignore[arg-type]
    assert all(r is not None for r in results)
    stories = [index.story_id[a.id] for a in order]
    # One earthquake in three articles (the wire copy a near-duplicate of the first), the
    # other earthquake and the other arrest on their own, the arrest and its follow-up.
    assert stories[0] == stories[1] == stories[2] and index.duplicate_of[2] == 1
    assert stories[4] == stories[6]
    assert len({stories[0], stories[3], stories[4], stories[5]}) == 4


@pytest.mark.parametrize("spec", VARIANTS.split(","))
def test_every_variant_replays(spec: str) -> None:
    order, gold = _order()
    precision, recall, f1 = replay(order, gold, spec)
    assert precision == 1.0  # nothing here tempts any variant into a false merge
    assert 0.0 < recall <= 1.0 and 0.0 < f1 <= 1.0
    if spec == "baseline":
        assert recall == 1.0


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_variant("nonsense:1")
