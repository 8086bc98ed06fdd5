"""Digest and alert delivery through the outbox, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from feeds.digest.render import recipient_message_id
from feeds.digest.unsubscribe import make_token, read_token
from feeds.errors import ConfigError, InvalidInput
from feeds.models import (
    ActorSentiment,
    AnalysisResult,
    DigestEmail,
    NewArticle,
    SubscriptionSpec,
    TopicScore,
)
from storage.repository import SqlStore
from tests.smtpserver import Collector, FlakyCollector
from tests.support import SettableClock, make_settings
from worker.bootstrap import Container, build_container
from worker.mailer import SmtpMailer

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SECRET = "test-secret-9f3c2a7b1e5d4c6a"  # the one tests.support.make_settings uses


def container(tmp_path: Path, clock: SettableClock, port: int, **overrides: Any) -> Container:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5,
        "mail_from": "Newsmon <digests@newsmon.example>",
        "digest_retry_seconds": 30,
        "digest_max_attempts": 30,
    }
    values.update(overrides)
    settings = make_settings(f"sqlite:///{tmp_path / 'n.db'}", **values)
    return build_container(settings, clock=clock)  # type: ignore[arg-type]


def add_story(
    c: Container, n: int, at: datetime, *, actor: str = "Russia", sentiment: str = "negative"
) -> int:
    with c.store.transaction() as repo:
        feeds = repo.list_feeds()
        feed = feeds[0] if feeds else repo.add_feed("https://wire.example/rss", "Wire", at)
        ref = repo.add_article(
            NewArticle(
                feed_id=feed.id,
                entry_key=f"e{n}",
                url=f"https://wire.example/{n}",
                canonical_url=f"https://wire.example/{n}",
                content_hash=f"h{n}",
                title=f"Story number {n}",
                published=at,
                author=None,
                summary=f"What happened in story {n}.",
                content="",
                categories=(),
                seen_at=at,
            )
        )
        repo.save_analysis(
            ref.id,
            AnalysisResult(
                topics=(TopicScore("medtop:11000000", "politics", 0.8),),
                actors=(
                    ActorSentiment(
                        actor,
                        "country",
                        sentiment,  # type: ignore[arg-type]
                        -0.5 if sentiment == "negative" else 0.4,
                        (f"{actor} did something in story {n}.",),
                        1,
                    ),
                ),
            ),
            at,
        )
    return ref.id


def by_message_id(inbox: Collector) -> Counter[str]:
    return Counter(str(r.message["Message-ID"]) for r in inbox.received)


@pytest.mark.slow
def test_every_digest_arrives_exactly_once_despite_a_flaky_server(
    tmp_path: Path, flaky_smtp: tuple[FlakyCollector, int]
) -> None:
    inbox, port = flaky_smtp
    clock = SettableClock(START)
    c = container(tmp_path, clock, port)
    with c.store.transaction() as repo:
        repo.add_subscription(
            SubscriptionSpec(
                name="morning",
                emails=("Ann <ann@desk.example>", "bob@desk.example"),
                at="08:00",
                actors=("Russia",),
            ),
            START,
        )
        repo.add_subscription(
            SubscriptionSpec(
                name="flash", emails=("cy@desk.example",), schedule="immediate", actors=("Russia",)
            ),
            START,
        )
    # Stories at irregular times over two days; one on Ukraine only (not for "flash").
    times = [START + timedelta(minutes=m) for m in (7, 52, 61, 300, 1000, 1450, 1530, 2300)]
    for n, at in enumerate(times):
        clock.current = at
        add_story(c, n, at, actor="Ukraine" if n == 3 else "Russia")
        # The scheduler ticks every few minutes in between.
    clock.current = START
    end = START + timedelta(days=2, hours=4)
    outcomes = []
    while clock.current < end:
        outcomes += c.pipeline.send_due_digests()
        clock.current += timedelta(minutes=4)
    assert inbox.failures > 5  # the server really did fail, repeatedly
    assert any(o.status == "failed" for o in outcomes)

    with c.store.transaction() as repo:
        runs = repo.list_digest_runs()
        subs = {s.id: s for s in repo.list_subscriptions()}
    sent = [r for r in runs if r.status == "sent"]
    assert {r.status for r in runs} <= {"sent", "skipped"}
    expected: set[str] = set()
    for run in sent:
        for address in subs[run.subscription_id].spec.emails:
            bare = address.split("<")[-1].rstrip(">")
            expected.add(recipient_message_id(run.message_id, bare))
    counts = by_message_id(inbox)
    assert set(counts) == expected and all(n == 1 for n in counts.values()), counts
    # Three daily periods (named by the day they end, at 08:00) and the immediate buckets:
    # one per story that mentions Russia (each fell in its own 5-minute bucket).
    daily = sorted(r.period_key for r in sent if r.period_key.startswith("daily"))
    assert daily == ["daily:2026-11-23", "daily:2026-11-24", "daily:2026-11-25"]
    assert len([r for r in sent if r.period_key.startswith("immediate")]) == 7

    message = next(r.message for r in inbox.received if "ann@" in r.message["To"])
    assert_well_formed(message, charts=1)
    flash = next(r.message for r in inbox.received if "cy@" in r.message["To"])
    assert_well_formed(flash, charts=0)
    assert flash["Subject"].startswith("Alert: 1 story — Russia mostly negative")
    c.close()


def assert_well_formed(message: EmailMessage, *, charts: int) -> None:
    assert message.get_content_type() == "multipart/alternative"
    assert "," not in message["To"]  # one recipient per copy: nobody sees the others
    assert message["Auto-Submitted"] == "auto-generated"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://news.example.org/newsmon/unsubscribe/v1.")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.rsplit("/", 1)[1].rstrip(">")
    sub_id, recipient = read_token(SECRET, token)
    assert recipient in message["To"]
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "Story number" in text.get_content() and "Story number" in html.get_content()
    images = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert len(images) == charts
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html.get_content()
        assert image.get_content().startswith(b"\x89PNG")


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


class CrashAfterSend:
    def __init__(self, inner: SmtpMailer) -> None:
        self.inner = inner

    def send(self, email: DigestEmail) -> None:
        self.inner.send(email)
        raise Crash


def test_a_crash_between_send_and_mark_resends_with_the_same_message_id(
    tmp_path: Path, smtp: tuple[Collector, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(START)
    c = container(tmp_path, clock, port, digest_lease_seconds=600)
    with c.store.transaction() as repo:
        repo.add_subscription(SubscriptionSpec(name="m", emails=("a@desk.example",)), START)
    add_story(c, 1, START + timedelta(hours=1))
    clock.current = START + timedelta(hours=3)  # the 08:00 period has closed
    real = c.pipeline.mailer
    assert isinstance(real, SmtpMailer)
    c.pipeline.mailer = CrashAfterSend(real)
    with pytest.raises(Crash):
        c.pipeline.send_due_digests()
    assert len(inbox.received) == 1
    c.pipeline.mailer = real

    # While the dead sender's lease runs, nobody else sends.
    clock.current += timedelta(minutes=5)
    assert c.pipeline.due_digests() == []
    assert c.pipeline.send_digest("m").status == "deferred"
    # Once it has expired, the run is taken over and sent again - same Message-ID.
    clock.current += timedelta(minutes=6)
    [outcome] = c.pipeline.send_due_digests()
    assert outcome.status == "sent"
    ids = [str(r.message["Message-ID"]) for r in inbox.received]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert c.pipeline.send_due_digests() == []
    assert c.pipeline.send_digest("m").status == "already_sent"
    c.close()


def test_lost_server_replies_duplicate_only_with_the_same_message_id(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    from tests.smtpserver import free_port

    handler = FlakyCollector(lose_replies=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        clock = SettableClock(START)
        c = container(tmp_path, clock, controller.port)
        with c.store.transaction() as repo:
            repo.add_subscription(SubscriptionSpec(name="m", emails=("a@desk.example",)), START)
        add_story(c, 1, START + timedelta(hours=1))
        clock.current = START + timedelta(hours=3)
        for _ in range(6):
            c.pipeline.send_due_digests()
            clock.current += timedelta(minutes=10)
        ids = [str(r.message["Message-ID"]) for r in handler.received]
        assert len(ids) == 3 and len(set(ids)) == 1  # two lost replies, then accepted
        with c.store.transaction() as repo:
            [run] = repo.list_digest_runs()
        assert run.status == "sent" and run.attempts == 3
        c.close()
    finally:
        controller.stop()


def test_sending_refuses_a_missing_or_placeholder_secret(
    tmp_path: Path, smtp: tuple[Collector, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(START)
    for secret in ("", "changeme", "aaaaaaaaaaaaaaaaaaaaaaa"):
        c = container(tmp_path / (secret or "empty"), clock, port, unsubscribe_secret=secret)
        with c.store.transaction() as repo:
            repo.add_subscription(SubscriptionSpec(name="m", emails=("a@desk.example",)), START)
        add_story(c, 1, START + timedelta(hours=1))
        clock.current = START + timedelta(hours=3)
        with pytest.raises(ConfigError, match="NEWSMON_UNSUBSCRIBE_SECRET"):
            c.pipeline.send_digest("m")
        # A preview still works, with a placeholder link.
        assert "preview-token" in c.pipeline.preview_digest("m").html
        clock.current = START
        c.close()
    assert inbox.received == []


def test_unsubscribe_token_removes_one_recipient_then_pauses(
    tmp_path: Path, smtp: tuple[Collector, int]
) -> None:
    _, port = smtp
    clock = SettableClock(START)
    c = container(tmp_path, clock, port)
    with c.store.transaction() as repo:
        sub = repo.add_subscription(
            SubscriptionSpec(name="m", emails=("Ann <ann@desk.example>", "bob@desk.example")), START
        )
    service = c.pipeline.digests()
    first = service.unsubscribe_token(make_token(SECRET, sub.id, "ann@desk.example"))
    assert (first.removed, first.paused) == (True, False)
    again = service.unsubscribe_token(make_token(SECRET, sub.id, "ann@desk.example"))
    assert again.removed is False
    last = service.unsubscribe_token(make_token(SECRET, sub.id, "bob@desk.example"))
    assert (last.removed, last.paused) == (True, True)
    with c.store.transaction() as repo:
        after = repo.get_subscription("m")
        assert after.paused and after.spec.emails == ()
        repo.remove_subscription("m")  # an admin removes it: old links still answer calmly
    gone = service.unsubscribe_token(make_token(SECRET, sub.id, "bob@desk.example"))
    assert (gone.removed, gone.subscription) == (False, "")
    forged = make_token("another-secret-0123456789", sub.id, "bob@desk.example")
    with pytest.raises(InvalidInput, match="signature"):
        service.unsubscribe_token(forged)
    c.close()


def test_spike_alert_is_sent_once_per_spike(tmp_path: Path, smtp: tuple[Collector, int]) -> None:
    inbox, port = smtp
    clock = SettableClock(START)
    c = container(tmp_path, clock, port)
    with c.store.transaction() as repo:
        repo.add_subscription(
            SubscriptionSpec(
                name="watch", emails=("a@desk.example",), actors=("Russia",), spike_alerts=True
            ),
            START,
        )
    n = 0
    for day in range(10):  # a quiet baseline: one article a day
        n += 1
        add_story(c, n, START + timedelta(days=day, hours=3))
    burst = START + timedelta(days=10, hours=2)
    for minute in range(0, 180, 12):  # then fifteen in three hours
        n += 1
        add_story(c, n, burst + timedelta(minutes=minute))
    statuses = []
    clock.current = burst
    while clock.current < burst + timedelta(hours=12):
        statuses += [o.status for o in c.pipeline.send_spike_alerts()]
        clock.current += timedelta(minutes=20)
    assert statuses.count("sent") == 1
    assert [r.message["Subject"] for r in inbox.received] == [inbox.received[0].message["Subject"]]
    subject = inbox.received[0].message["Subject"]
    assert subject.startswith("Spike: Coverage of Russia:") and subject.endswith("· watch")
    assert_well_formed(inbox.received[0].message, charts=1)
    c.close()


# --------------------------------------------------------------------------- the outbox rows


def test_lease_is_exclusive_expires_and_respects_backoff(store: SqlStore) -> None:
    now = START
    with store.transaction() as repo:
        sub = repo.add_subscription(SubscriptionSpec(name="m", emails=("a@b.example",)), now)
    lease = timedelta(minutes=10)

    def take(owner: str, at: datetime, backoff: bool = True) -> bool:
        with store.transaction() as repo:
            _, leased = repo.lease_digest_run(
                sub.id,
                "daily:x",
                "<d.1.x@n.example>",
                owner=owner,
                now=at,
                lease_until=at + lease,
                period_start=START,
                period_end=START + lease,
                respect_backoff=backoff,
            )
        return leased

    assert take("a", now) is True
    assert take("b", now + timedelta(minutes=1)) is False  # a holds it
    assert take("b", now + timedelta(minutes=11)) is True  # a's lease ran out
    with store.transaction() as repo:
        repo.mark_digest_retry(1, "a", "stale owner", None)  # ignored: b holds the lease
        [run] = repo.list_digest_runs()
        assert (run.status, run.attempts) == ("pending", 2)
        repo.mark_digest_retry(run.id, "b", "451 busy", now + timedelta(hours=1))
        repo.record_delivery(run.id, "a@b.example")
        repo.record_delivery(run.id, "a@b.example")
    assert take("c", now + timedelta(minutes=30)) is False  # backing off
    assert take("c", now + timedelta(minutes=30), backoff=False) is True  # by hand
    with store.transaction() as repo:
        [run] = repo.list_digest_runs()
        assert run.delivered == ("a@b.example",) and run.period_start == START
        assert run.error == "451 busy"
        repo.mark_digest_sent(run.id, now + timedelta(minutes=31), 3)
        assert repo.recent_digest_runs(now + timedelta(days=1)) == []
        assert len(repo.recent_digest_runs(now - timedelta(days=1))) == 1
    assert take("d", now + timedelta(hours=5), backoff=False) is False  # sent is final


def test_subscription_filters_pause_and_actor_mentions_round_trip(store: SqlStore) -> None:
    spec = SubscriptionSpec(
        name="m",
        emails=("a@b.example",),
        actors=("Russia",),
        queries=("arctic",),
        sentiments=("negative",),
        outlets=("wire.example",),
        spike_alerts=True,
    )
    with store.transaction() as repo:
        created = repo.add_subscription(spec, START)
        assert created.spec == spec
        changed = repo.update_subscription(
            SubscriptionSpec(name="m", emails=("c@d.example",), schedule="weekly")
        )
        assert changed.spec.sentiments == () and changed.spec.schedule == "weekly"
        repo.set_subscription_paused("m", True)
        assert repo.get_subscription_by_id(created.id).paused
        feed = repo.add_feed("https://wire.example/rss", "Wire", START)
        ref = repo.add_article(
            NewArticle(
                feed_id=feed.id,
                entry_key="k",
                url=None,
                canonical_url=None,
                content_hash="h",
                title="t",
                published=None,
                author=None,
                summary="s",
                content="",
                categories=(),
                seen_at=START,
            )
        )
        repo.save_analysis(
            ref.id,
            AnalysisResult(
                actors=(ActorSentiment("Russia", "country", "negative", -0.7, ("Bad.",), 2),)
            ),
            START,
        )
        [mention] = repo.actor_mentions(["RUSSIA"], START, START + timedelta(hours=1))
        assert (mention.name, mention.sentiment, mention.evidence) == (
            "Russia",
            "negative",
            ("Bad.",),
        )
        assert (
            repo.actor_mentions(["Russia"], START + timedelta(hours=1), START + timedelta(hours=2))
            == []
        )
