"""Digest selection, grouping and rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from feeds.digest.compose import actor_overview, compose_digest, truncate_words
from feeds.digest.render import message_id_for, render_email
from feeds.digest.select import article_matches
from feeds.errors import InvalidInput
from feeds.models import (
    ActorSentiment,
    FeedRef,
    Period,
    StoredArticle,
    Subscription,
    SubscriptionSpec,
    TopicScore,
)

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
COURIER = FeedRef(1, "https://northern-courier.example/rss.xml", "Northern Courier")
HARBOUR = FeedRef(2, "https://harbour-wire.example/feed", "Harbour Wire")
MERIDIAN = FeedRef(3, "https://meridian-post.example/atom.xml", None)
CONFLICT = TopicScore("medtop:16000000", "Conflict, war and peace", 0.9)
POLITICS = TopicScore("medtop:11000000", "Politics", 0.7)
DISASTER = TopicScore("medtop:03000000", "disaster and accident", 0.8)


def actor(name: str, sentiment: str, evidence: str = "", mentions: int = 1) -> ActorSentiment:
    return ActorSentiment(
        name=name,
        type="country",
        sentiment=sentiment,  # type: ignore[arg-type]
        score={"negative": -0.6, "neutral": 0.0, "positive": 0.5}[sentiment],
        evidence=(evidence,) if evidence else (),
        mentions=mentions,
    )


def article(id: int, **kw: Any) -> StoredArticle:
    base: dict[str, Any] = {
        "id": id,
        "url": f"https://northern-courier.example/news/{id}",
        "title": f"Story {id}",
        "published": T0 + timedelta(hours=id),
        "first_seen": T0 + timedelta(hours=id, minutes=5),
        "summary": f"Summary of story {id}.",
        "feeds": (COURIER,),
        "analyzed": True,
    }
    base.update(kw)
    return StoredArticle(**base)


def sub(**kw: Any) -> Subscription:
    spec: dict[str, Any] = {"name": "Ukraine desk", "emails": ("desk@newsmon.example",)}
    spec.update(kw)
    return Subscription(7, SubscriptionSpec(**spec), False, T0)


PERIOD = Period("daily:2026-11-24", T0, T0 + timedelta(days=1))

CORPUS = [
    article(
        1,
        title="Defence ministry assessment",
        topics=(CONFLICT,),
        actors=(
            actor("Russia", "negative", "Russia lost ground near the river.", 3),
            actor("Ukraine", "neutral"),
        ),
    ),
    article(
        2,
        title="Kremlin rejects talks",
        topics=(POLITICS, CONFLICT),
        feeds=(COURIER, HARBOUR, MERIDIAN),
        actors=(actor("Russia", "negative", mentions=2),),
    ),
    article(
        3,
        title="UN vote on resolution",
        topics=(CONFLICT, POLITICS),
        feeds=(COURIER, HARBOUR),
        actors=(actor("russia", "neutral"), actor("United Nations", "positive")),
    ),
    article(4, title="Earthquake in the south", topics=(DISASTER,)),
    article(5, title="Cup final ends in penalties"),
]


def _matching(spec: Any) -> set[int]:
    return {a.id for a in CORPUS if article_matches(a, spec)}


def test_topic_filter_matches_code_or_label_case_insensitively() -> None:
    by_label = _matching(sub(topics=("politics",)).spec)
    by_code = _matching(sub(topics=("MEDTOP:11000000",)).spec)
    assert by_label == {2, 3}
    assert by_label == by_code


def test_actor_filter_is_case_insensitive() -> None:
    assert _matching(sub(actors=("RUSSIA",)).spec) == {1, 2, 3}


def test_topic_and_actor_filters_must_both_hold() -> None:
    assert _matching(sub(topics=("Politics",), actors=("United Nations",)).spec) == {3}
    assert _matching(sub(topics=("Disaster And Accident",), actors=("Russia",)).spec) == set()


def test_actor_overview_counts_mentions_and_sentiments() -> None:
    overview = actor_overview(CORPUS)
    russia = overview[0]
    assert (russia.name, russia.mentions) == ("Russia", 6)
    assert (russia.negative, russia.neutral, russia.positive) == (2, 1, 0)
    assert russia.dominant == "negative"
    assert {t.name for t in overview} == {"Russia", "Ukraine", "United Nations"}


def render(articles: list[StoredArticle], **sub_kw: Any) -> Any:
    subscription = sub(**sub_kw)
    content = compose_digest(
        subscription=subscription,
        period=PERIOD,
        articles=articles,
        generated_at=T0 + timedelta(days=1, minutes=1),
        charts=False,
    )
    return render_email(
        content,
        sender="Newsmon <digests@newsmon.example>",
        recipient=subscription.spec.emails,
        message_id=message_id_for(subscription.id, PERIOD.key, "newsmon.example"),
    )


def test_subject_summarises_stories_and_the_top_actor() -> None:
    email = render(CORPUS)
    assert email.subject == "Daily: 5 stories — Russia mostly negative · Ukraine desk"
    weekly = render(CORPUS[3:4], schedule="weekly")
    assert weekly.subject == "Weekly: 1 story · Ukraine desk"
    alert = render(CORPUS[:1], schedule="immediate", actors=("Ukraine",))
    assert alert.subject == "Alert: 1 story — Ukraine mostly neutral · Ukraine desk"


def test_empty_digest_subject_and_body() -> None:
    email = render([])
    assert email.subject == "Daily: no new stories · Ukraine desk"
    assert "No new stories" in email.text
    assert "No new stories" in email.html


def test_mixed_sentiment_and_one_line_subject() -> None:
    tied = [
        article(1, actors=(actor("NATO", "positive"),)),
        article(2, actors=(actor("NATO", "negative"),)),
    ]
    email = render(tied, name="Desk\r\nBcc: x@y.z")
    assert email.subject == "Daily: 2 stories — NATO mixed · Desk Bcc: x@y.z"
    assert "\n" not in email.subject and "\r" not in email.subject


class Tags(HTMLParser):
    """Collects element names, attribute names and resource-loading attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: set[str] = set()
        self.resources: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes.update(k for k, _ in attrs)
        self.resources += [v or "" for k, v in attrs if k in ("src", "background", "srcset")]
        self.links += [v or "" for k, v in attrs if k in ("href", "action", "formaction")]
        if tag == "link":
            self.resources += [v or "" for k, v in attrs if k == "href"]


def test_html_is_self_contained_and_feed_markup_is_removed() -> None:
    hostile = article(
        30,
        title="<script>alert(1)</script> headline",
        summary="Officials <b>confirmed</b> the <img src=https://tracker.example/p.gif> report.",
        url="javascript:alert(document.cookie)",
        actors=(actor("Russia", "negative", 'He said "<i>no</i>" twice.'),),
    )
    email = render([*CORPUS, hostile])
    html = email.html
    assert "<script" not in html.lower() and "alert(1)" not in html
    tags = Tags()
    tags.feed(html)
    assert "script" not in tags.names and "link" not in tags.names and "img" not in tags.names
    assert not [v for v in tags.resources if re.match(r"\s*(https?:)?//", v, re.IGNORECASE)]
    assert "Officials confirmed the report." in html  # markup gone, words kept
    assert "tracker.example" not in html
    assert 'He said "no" twice.' in html  # text between elements needs no quote escaping
    assert "javascript:" not in html
    # The other articles keep their links.
    assert 'href="https://northern-courier.example/news/2"' in html


def test_html_lists_entries_with_outlets_topics_chips_and_panel() -> None:
    html = render(CORPUS, actors=("Russia",)).html
    for a in CORPUS[:3]:
        assert a.title in html
    # One entry per story: the lead outlet, then the others covering it.
    assert "Also covered by 2 outlets: Harbour Wire, meridian-post.example" in html
    assert "Conflict, war and peace" in html
    assert "Russia: negative" in html
    assert "Russia lost ground near the river." in html
    assert "3 articles · mostly negative" in html  # the actor panel
    assert "67% negative" in html and "33% neutral" in html
    # Times are shown in the subscription's zone.
    assert "23 Nov 2026 07:00 UTC" in html
    kyiv = render(CORPUS, tz="Europe/Kyiv").html
    assert "23 Nov 2026 09:00 EET" in kyiv


def test_text_part_has_titles_urls_and_panel() -> None:
    text = render(CORPUS, actors=("Russia",)).text
    for a in CORPUS[:3]:
        assert a.title in text
        assert a.url is not None and a.url in text
    assert "Harbour Wire" in text
    assert "RUSSIA: 3 articles, mostly negative" in text
    assert "67% negative, 33% neutral, 0% positive" in text
    assert '[Russia: negative] "Russia lost ground near the river."' in text
    assert '(-) "Russia lost ground near the river."' in text


def test_long_summaries_are_truncated_at_a_word_boundary() -> None:
    long = "word " * 200
    short = truncate_words(long)
    assert len(short) <= 301
    assert short.endswith("word…")
    assert truncate_words("  a   few\nwords ") == "a few words"
    assert truncate_words("x" * 500, 10) == "x" * 10 + "…"
    html = render([article(40, summary=long)]).html
    assert "word " * 55 in html and "word " * 61 not in html


def test_headers_and_recipients() -> None:
    email = render(CORPUS, emails=("a@desk.example", "b@desk.example"))
    assert email.recipients == ("a@desk.example", "b@desk.example")
    assert email.sender == "Newsmon <digests@newsmon.example>"
    assert email.headers["X-Newsmon-Period"] == "daily:2026-11-24"
    assert email.headers["Auto-Submitted"] == "auto-generated"


def test_rendering_is_deterministic() -> None:
    assert render(CORPUS) == render(list(reversed(CORPUS)))


def test_message_id_is_deterministic() -> None:
    first = message_id_for(7, "daily:2026-11-24", "newsmon.example")
    assert first == message_id_for(7, "daily:2026-11-24", "newsmon.example")
    assert re.fullmatch(r"<digest\.7\.[0-9a-f]{16}@newsmon\.example>", first)
    assert first != message_id_for(7, "daily:2026-11-25", "newsmon.example")
    assert first != message_id_for(8, "daily:2026-11-24", "newsmon.example")


@pytest.mark.parametrize("bad", ["", "bad domain", "a@b", "x.example>\r\nBcc: y", "-x.example"])
def test_message_id_rejects_bad_domains(bad: str) -> None:
    with pytest.raises(InvalidInput):
        message_id_for(1, "daily:2026-11-24", bad)
