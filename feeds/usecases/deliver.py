"""The digest and alert use cases: which runs are due, and sending them through the outbox.

The outbox is the ``digest_run`` table: one row per (subscription, period key), unique in
the database. A period key names a digest period (``daily:2026-11-24``), an immediate
bucket (``immediate:2026-11-24T08:05Z``) or a spike (``spike:volume:russia-1a2b3c:...``).
Sending one run::

    lease the row            one conditional UPDATE: only if unfinished, nobody holds an
                             unexpired lease and (for the scheduler) its retry time came
    compose                  entries, panel, charts (pure, feeds.digest)
    for each recipient not yet reached:
        render               their own unsubscribe link and headers
        send                 Mailer; the copy's Message-ID is fixed by (run, recipient)
        record delivery      the recipient is added to the run's ``delivered`` list
    mark sent                (or skipped when nothing matched; or failed + next retry time)

The guarantee, exactly (docs/DIGESTS.md says the same):

* A recipient never gets two *different* messages for one (subscription, period): every
  attempt at their copy carries the same Message-ID.
* A recipient gets the copy at least once if the mail server eventually accepts it within
  ``max_attempts`` attempts; after that the run is ``failed`` with no retry time and the
  scheduler leaves it (``newsmon digest send`` can still retry it by hand).
* A copy is sent twice only when a sender dies (or loses its database) after the server
  accepted the copy and before the delivery was recorded: the lease then expires, another
  sender leases the run and sends that recipient's copy again - with the same Message-ID.
  SMTP has no way to ask "did you already accept this?", so exactly-once is not possible;
  the window is one recipient's send-to-commit, not the whole run.
* Two live senders never send the same run at once: the lease is granted by one atomic
  UPDATE; a sender whose SMTP call outlasts the lease (``lease``, default 10 minutes, far
  above the SMTP timeout) is the only way two could overlap.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Literal

from feeds.digest.compose import (
    DigestContent,
    SpikeNote,
    actor_overview,
    compose_digest,
    mentions_window,
)
from feeds.digest.periods import current_period, recent_periods
from feeds.digest.render import message_id_for, recipient_message_id, render_email
from feeds.digest.select import article_matches
from feeds.digest.spikes import Spike, SpikeSettings, detect_spikes
from feeds.digest.unsubscribe import (
    UnsubscribeConfig,
    check_secret,
    make_token,
    read_token,
    token_parts,
    unsubscribe_headers,
    unsubscribe_url,
)
from feeds.errors import ConfigError, MailError, NewsmonError, NotFound
from feeds.models import DigestEmail, DigestRun, InlineImage, Period, StoredArticle, Subscription
from feeds.ports import Clock, Mailer, Store

__all__ = [
    "DeliverySettings",
    "DigestOutcome",
    "DigestPreview",
    "DigestService",
    "UnsubscribeResult",
    "inline_as_data_uris",
]

OutcomeStatus = Literal["sent", "skipped", "already_sent", "failed", "deferred"]


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    subscription: str
    period: Period
    status: OutcomeStatus
    articles: int = 0
    message_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DigestPreview:
    subscription: Subscription
    period: Period
    articles: tuple[StoredArticle, ...]
    html: str
    text: str
    subject: str
    images: tuple[InlineImage, ...] = ()

    def html_for_file(self) -> str:
        """The HTML to write to a file for a browser: a file has no attachments for the
        ``cid:`` charts to point at, so they are embedded (:func:`inline_as_data_uris`)."""
        return inline_as_data_uris(self.html, self.images)


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    subscription: str
    recipient: str
    removed: bool  # False when the address was no longer a recipient
    # True when no recipient is left: the subscription is paused, not deleted. Deleting
    # would drop its history under a delivery in flight, and SQLite may give a later
    # subscription the same id, which old unsubscribe links name (decision 51).
    paused: bool


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    lease: timedelta = timedelta(minutes=10)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=2)
    immediate_catch_up: timedelta = timedelta(hours=1)
    settle: timedelta = timedelta(minutes=1)  # wait after a period ends (late analysis)
    spikes: SpikeSettings = field(default_factory=SpikeSettings)

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: base, 2x, 4x ... capped."""
        factor: int = 2 ** max(0, min(attempts - 1, 20))
        wait: timedelta = self.backoff_base * factor
        return min(self.backoff_max, wait)


@dataclass
class DigestService:
    """Bound to its ports once per process (see ``feeds.usecases.pipeline.Pipeline.digests``)."""

    store: Store
    clock: Clock
    mailer: Mailer
    mail_from: str
    message_id_domain: str
    unsubscribe: UnsubscribeConfig | None = None
    settings: DeliverySettings = field(default_factory=DeliverySettings)

    # ------------------------------------------------------------------ what is due

    def due(self) -> list[tuple[str, Period]]:
        """(subscription, period) pairs to send now: completed periods not yet finished,
        and failed runs whose retry time has come. Paused subscriptions are left out."""
        now = self.clock.now()
        cfg = self.settings
        with self.store.transaction() as repo:
            subs = {s.id: s for s in repo.list_subscriptions() if not s.paused}
        candidates = [
            (sub, period)
            for sub in subs.values()
            for period in recent_periods(
                sub.spec, now, catch_up=cfg.immediate_catch_up, since=sub.created_at
            )
            if period.end + cfg.settle <= now
        ]
        if not candidates and not subs:
            return []
        # A run is created after its period ended: older rows cannot belong to a candidate.
        since = min((p.end for _, p in candidates), default=now)
        with self.store.transaction() as repo:
            runs = repo.recent_digest_runs(since, keys=[p.key for _, p in candidates])
        by_key = {(r.subscription_id, r.period_key): r for r in runs}
        due: dict[tuple[int, str], Period] = {}
        for sub, period in candidates:
            run = by_key.get((sub.id, period.key))
            if run is None or self._ready(run, now):
                due[(sub.id, period.key)] = period
        for run in runs:  # retries of older periods (and runs a crashed sender left)
            owner = subs.get(run.subscription_id)
            if (
                owner is None
                or run.period_key.startswith("spike:")
                or run.period_start is None
                or run.period_end is None
                or not self._ready(run, now)
            ):
                continue
            due.setdefault(
                (owner.id, run.period_key), Period(run.period_key, run.period_start, run.period_end)
            )
        return [
            (subs[sub_id].name, period)
            for (sub_id, _), period in sorted(
                due.items(), key=lambda item: (item[1].end, subs[item[0][0]].name)
            )
        ]

    @staticmethod
    def _ready(run: DigestRun, now: datetime) -> bool:
        leased = run.lease_expires_at is not None and run.lease_expires_at > now
        if leased:
            return False
        if run.status == "pending":
            return True
        return (
            run.status == "failed"
            and run.next_attempt_at is not None
            and run.next_attempt_at <= now
        )

    # ------------------------------------------------------------------ sending

    def send(
        self, name: str, period: Period | None = None, *, respect_backoff: bool = False
    ) -> DigestOutcome:
        """Send the digest of ``period`` (default: the last completed one) through the
        outbox. By hand (the default) a failed run is retried at once; the scheduler
        passes ``respect_backoff=True``."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            sub = repo.get_subscription(name)
        period = period or current_period(sub.spec, now)
        return self._deliver(
            sub, period, lambda: self._compose(sub, period, now), respect_backoff=respect_backoff
        )

    def send_due(self) -> list[DigestOutcome]:
        outcomes = []
        for name, period in self.due():
            try:
                outcomes.append(self.send(name, period, respect_backoff=True))
            except ConfigError:
                raise  # a missing secret fails every digest alike: say so once
            except NewsmonError as exc:  # e.g. removed meanwhile; the others still go out
                outcomes.append(DigestOutcome(name, period, "failed", error=str(exc)))
        return outcomes

    def preview(self, name: str) -> DigestPreview:
        """What the next digest holds so far: from the end of the last period until now."""
        now = self.clock.now()
        with self.store.transaction() as repo:
            sub = repo.get_subscription(name)
        last = current_period(sub.spec, now)
        period = Period(f"preview:{last.key}", last.end, now)
        content, articles = self._compose_with_articles(sub, period, now)
        recipient = sub.spec.emails[0] if sub.spec.emails else "nobody@example.invalid"
        token = "preview-token"
        if self.unsubscribe is not None:
            try:
                token = make_token(check_secret(self.unsubscribe.secret), sub.id, _bare(recipient))
            except ConfigError:
                pass  # a preview shows a placeholder link instead of failing
        email = self._render(
            content,
            sub,
            recipient,
            message_id_for(sub.id, period.key, self.message_id_domain),
            token,
        )
        return DigestPreview(
            sub, period, tuple(articles), email.html, email.text, email.subject, content.images
        )

    # ------------------------------------------------------------------ spike alerts

    def check_spikes(self) -> list[DigestOutcome]:
        """Detect current spikes of the actors that spike-alert subscriptions watch and
        send one alert per (subscription, spike)."""
        now = self.clock.now()
        cfg = self.settings.spikes
        with self.store.transaction() as repo:
            subs = [
                s
                for s in repo.list_subscriptions()
                if not s.paused and s.spec.spike_alerts and s.spec.actors
            ]
            names = sorted({a for s in subs for a in s.spec.actors}, key=str.casefold)
            mentions = repo.actor_mentions(names, now - cfg.history, now) if names else []
        outcomes = []
        for actor in names:
            for spike in detect_spikes(actor, mentions, now, cfg):
                for sub in subs:
                    if actor.casefold() in {a.casefold() for a in sub.spec.actors}:
                        outcomes.append(self._send_spike(sub, spike, now))
        return outcomes

    def _send_spike(self, sub: Subscription, spike: Spike, now: datetime) -> DigestOutcome:
        start = spike.start - timedelta(hours=spike.window_hours)
        period = Period(spike.key, start, now)
        focused = replace(sub, spec=replace(sub.spec, actors=(spike.actor,), schedule="immediate"))
        note = SpikeNote(spike.actor, _spike_headline(spike))

        def compose() -> DigestContent:
            return self._compose(focused, period, now, spike=note)

        return self._deliver(sub, period, compose, respect_backoff=True)

    # ------------------------------------------------------------------ unsubscribe

    def read_unsubscribe_token(self, token: str) -> tuple[int, str]:
        """(subscription id, recipient) of a genuine token, changing nothing; raises
        :class:`InvalidInput` for a bad or forged one, :class:`ConfigError` without a secret
        (a malformed token is refused as such even then)."""
        token_parts(token)
        return read_token(
            check_secret(self.unsubscribe.secret if self.unsubscribe else None), token
        )

    def unsubscribe_token(self, token: str) -> UnsubscribeResult:
        """Remove the token's recipient from its subscription; pause it when nobody is left.

        Idempotent: using a token twice reports ``removed=False`` the second time, also
        once the subscription is gone (then ``subscription`` is empty).
        """
        token_parts(token)  # malformed: InvalidInput, whether or not a secret is set
        secret = check_secret(self.unsubscribe.secret if self.unsubscribe else None)
        sub_id, recipient = read_token(secret, token)
        with self.store.transaction() as repo:
            try:
                sub = repo.get_subscription_by_id(sub_id)
            except NotFound:
                return UnsubscribeResult("", recipient, removed=False, paused=False)
            keep = tuple(e for e in sub.spec.emails if _bare(e).casefold() != recipient.casefold())
            removed = len(keep) != len(sub.spec.emails)
            if removed:
                repo.update_subscription(replace(sub.spec, emails=keep))
            paused = not keep
            if paused and not sub.paused:
                repo.set_subscription_paused(sub.name, True)
        return UnsubscribeResult(sub.name, recipient, removed, paused)

    # ------------------------------------------------------------------ internals

    def _deliver(
        self,
        sub: Subscription,
        period: Period,
        compose: Callable[[], DigestContent],
        *,
        respect_backoff: bool,
    ) -> DigestOutcome:
        name = sub.name
        secret = check_secret(self.unsubscribe.secret if self.unsubscribe else None)
        now = self.clock.now()
        owner = _owner()
        with self.store.transaction() as repo:
            run, leased = repo.lease_digest_run(
                sub.id,
                period.key,
                message_id_for(sub.id, period.key, self.message_id_domain),
                owner=owner,
                now=now,
                lease_until=now + self.settings.lease,
                period_start=period.start,
                period_end=period.end,
                respect_backoff=respect_backoff,
            )
        if not leased:
            status: OutcomeStatus = (
                "already_sent" if run.status in ("sent", "skipped") else "deferred"
            )
            return DigestOutcome(
                name,
                period,
                status,
                run.article_count,
                run.message_id,
                run.error if status == "deferred" else None,
            )
        try:
            content = compose()
        except NewsmonError as exc:
            self._failed(run, owner, str(exc))
            raise
        if content.entry_count == 0 or not sub.spec.emails:
            # An empty digest is noise; the run is closed so the period is not retried.
            with self.store.transaction() as repo:
                repo.mark_digest_skipped(run.id, now)
            return DigestOutcome(name, period, "skipped", 0, run.message_id)
        done = {d.casefold() for d in run.delivered}
        for recipient in sub.spec.emails:
            address = _bare(recipient)
            if address.casefold() in done:
                continue
            email = self._render(
                content,
                sub,
                recipient,
                recipient_message_id(run.message_id, address),
                make_token(secret, sub.id, address),
            )
            try:
                self.mailer.send(email)
            except MailError as exc:
                error = self._failed(run, owner, str(exc))
                return DigestOutcome(
                    name, period, "failed", content.article_count, run.message_id, error
                )
            with self.store.transaction() as repo:
                repo.record_delivery(run.id, address)
        with self.store.transaction() as repo:
            repo.mark_digest_sent(run.id, self.clock.now(), content.article_count)
        return DigestOutcome(name, period, "sent", content.article_count, run.message_id)

    def _failed(self, run: DigestRun, owner: str, error: str) -> str:
        gave_up = run.attempts >= self.settings.max_attempts
        retry_at = None if gave_up else self.clock.now() + self.settings.backoff(run.attempts)
        message = f"{error} (attempt {run.attempts}; " + (
            "giving up)" if gave_up else f"next try after {retry_at:%Y-%m-%d %H:%M} UTC)"
        )
        with self.store.transaction() as repo:
            repo.mark_digest_retry(run.id, owner, message, retry_at)
        return message

    def _compose(
        self, sub: Subscription, period: Period, now: datetime, spike: SpikeNote | None = None
    ) -> DigestContent:
        return self._compose_with_articles(sub, period, now, spike)[0]

    def _compose_with_articles(
        self, sub: Subscription, period: Period, now: datetime, spike: SpikeNote | None = None
    ) -> tuple[DigestContent, list[StoredArticle]]:
        with self.store.transaction() as repo:
            articles = list(repo.iter_articles(since=period.start, until=period.end))
        charts = sub.spec.schedule != "immediate" or spike is not None
        names = [spike.actor] if spike else list(sub.spec.actors)
        if not names:
            # No watched actors: the panel is about the actors the digest mentions most.
            names = _top_actor_names(articles, sub)
        mentions = []
        if names:
            since, until = mentions_window(period)
            with self.store.transaction() as repo:
                mentions = repo.actor_mentions(names, since, until)
        content = compose_digest(
            subscription=sub,
            period=period,
            articles=articles,
            generated_at=now,
            mentions=mentions,
            charts=charts,
            spike=spike,
            panel_actors=names,
            image_domain=self.message_id_domain,
        )
        return content, [a for a in articles if article_matches(a, sub.spec)]

    def _render(
        self,
        content: DigestContent,
        sub: Subscription,
        recipient: str,
        message_id: str,
        token: str,
    ) -> DigestEmail:
        config = self.unsubscribe or UnsubscribeConfig(secret="")
        link = unsubscribe_url(config.public_url, token) if config.public_url else None
        return render_email(
            content,
            sender=self.mail_from,
            recipient=recipient,
            message_id=message_id,
            unsubscribe_link=link,
            unsubscribe_command=f"newsmon subscriptions unsubscribe {token}",
            extra_headers=unsubscribe_headers(config, token),
        )


def inline_as_data_uris(html: str, images: Sequence[InlineImage]) -> str:
    """For a preview *file* only: point ``cid:`` images at ``data:`` URIs so a browser
    shows the charts. Never used for email (the sanitiser forbids ``data:`` there)."""
    for image in images:
        encoded = base64.b64encode(image.content).decode("ascii")
        html = html.replace(
            f'src="cid:{image.cid}"', f'src="data:image/{image.subtype};base64,{encoded}"'
        )
    return html


def _spike_headline(spike: Spike) -> str:
    if spike.kind == "volume":
        return (
            f"Coverage of {spike.actor}: {spike.observed} articles in {spike.window_hours} h "
            f"(usually about {spike.expected:.1f})"
        )
    return (
        f"{spike.actor}: {spike.negative_share:.0%} of coverage negative in "
        f"{spike.window_hours} h (usually {spike.baseline_negative_share:.0%})"
    )


def _top_actor_names(articles: Sequence[StoredArticle], sub: Subscription) -> list[str]:
    chosen = [a for a in articles if article_matches(a, sub.spec)]
    return [t.name for t in actor_overview(chosen)[:3]]


def _bare(address: str) -> str:
    return parseaddr(address)[1] or address


def _owner() -> str:
    return secrets.token_hex(8)
