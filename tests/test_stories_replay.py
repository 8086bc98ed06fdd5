"""The quality bench's realistic times and the replay bench: what they serve and replay."""

from __future__ import annotations

import random
from datetime import timedelta

from bench.stories_quality import event_starts, make_items, parse_gaps
from bench.stories_replay import _apply, _convert, _dump, _load, _settings, replay
from feeds.dedup import events, stories
from tests.test_stories_variants import _order

DOCS = [
    {"doc": f"{t}_{n}{half}.xml", "topic": t, "subtopic": f"{t}_{half}", "text": "A\nB\nC"}
    for t in (1, 2, 3)
    for half in ("ecb", "ecbplus")
    for n in range(2)
]


def test_realistic_times_put_a_topics_events_one_gap_apart() -> None:
    for seed in range(5):
        start = event_starts(DOCS, random.Random(seed), 365.0, (1.0, 2.0, 30.0))
        for topic in (1, 2, 3):
            apart = abs(start[f"{topic}_ecb"] - start[f"{topic}_ecbplus"])
            assert apart in (timedelta(days=1), timedelta(days=2), timedelta(days=30))
    # Without gaps every event draws its own date: at spread 0 they all coincide.
    alone = event_starts(DOCS, random.Random(1), 0.0)
    assert len(set(alone.values())) == 1
    assert parse_gaps("1,2,4") == (1.0, 2.0, 4.0) and parse_gaps("") == ()


def test_items_stay_within_their_events_burst() -> None:
    items = make_items(DOCS, 1, 0.0, 365.0, 36.0, (4.0,))
    start = event_starts(DOCS, random.Random(1), 365.0, (4.0,))
    for item in items:
        assert timedelta(0) <= item.published - start[item.gold] <= timedelta(hours=36)


def test_a_recorded_order_survives_its_cache_and_replays_the_use_case() -> None:
    order, gold = _order()
    loaded, loaded_gold = _load(_dump(order, gold))
    assert loaded == order and loaded_gold == gold
    precision, recall, f1 = replay(loaded, loaded_gold)
    # The hand-written items: the two quakes and the two arrests are told apart.
    assert precision == 1.0 and recall == 1.0 and f1 == 1.0


def test_settings_sweep_every_combination_and_are_restored() -> None:
    grid = _settings(["MIN_SIMILARITY=0.25,0.3", "CONFLICT_KINDS=s,-"])
    assert len(grid) == 4 and {"MIN_SIMILARITY": "0.25", "CONFLICT_KINDS": "-"} in grid
    assert _convert(frozenset({"s"}), "-") == frozenset()
    assert _convert(False, "1") is True and _convert(0.3, "0.25") == 0.25
    saved = _apply({"MIN_SIMILARITY": "0.25", "CONFLICT_KINDS": "as"})
    try:
        assert stories.MIN_SIMILARITY == 0.25 and events.CONFLICT_KINDS == {"a", "s"}
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)
    assert stories.MIN_SIMILARITY == 0.3 and events.CONFLICT_KINDS == {"s"}
