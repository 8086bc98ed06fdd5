"""Subscriptions and the digest outbox (leased runs, per-recipient deliveries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    or_,
    select,
    update,
)

from feeds.errors import AlreadyExists, NotFound, StorageError
from feeds.models import (
    DigestRun,
    Subscription,
    SubscriptionSpec,
)
from storage import convert
from storage.coltypes import dump_strings, load_strings
from storage.repository.base import RepositoryBase, no_subscription
from storage.tables import (
    DIGEST_RUN,
    SUBSCRIPTION,
)


class DigestRows(RepositoryBase):
    def add_subscription(self, spec: SubscriptionSpec, now: datetime) -> Subscription:
        new_id = self._session.execute(
            self._insert(SUBSCRIPTION)
            .values(name=spec.name, paused=False, created_at=now, **_spec_columns(spec))
            .on_conflict_do_nothing(index_elements=[SUBSCRIPTION.c.name])
            .returning(SUBSCRIPTION.c.id)
        ).scalar_one_or_none()
        if new_id is None:
            raise AlreadyExists(f"a subscription named {spec.name!r} already exists")
        return self.get_subscription(spec.name)

    def get_subscription(self, name: str) -> Subscription:
        row = self._one_or_none(select(SUBSCRIPTION).where(SUBSCRIPTION.c.name == name))
        if row is None:
            raise no_subscription(name)
        return convert.subscription(row)

    def list_subscriptions(self) -> list[Subscription]:
        rows = self._rows(select(SUBSCRIPTION).order_by(SUBSCRIPTION.c.name))
        return [convert.subscription(r) for r in rows]

    def remove_subscription(self, name: str) -> None:
        """Delete the subscription and its digest history."""
        sub_id = self._session.execute(
            select(SUBSCRIPTION.c.id).where(SUBSCRIPTION.c.name == name)
        ).scalar_one_or_none()
        if sub_id is None:
            raise no_subscription(name)
        self._session.execute(delete(DIGEST_RUN).where(DIGEST_RUN.c.subscription_id == sub_id))
        self._session.execute(delete(SUBSCRIPTION).where(SUBSCRIPTION.c.id == sub_id))

    def get_subscription_by_id(self, subscription_id: int) -> Subscription:
        row = self._one_or_none(select(SUBSCRIPTION).where(SUBSCRIPTION.c.id == subscription_id))
        if row is None:
            raise NotFound(
                f"no subscription with id {subscription_id} (see `newsmon subscriptions list`)"
            )
        return convert.subscription(row)

    def update_subscription(self, spec: SubscriptionSpec) -> Subscription:
        """Replace the schedule, recipients and filters of the subscription ``spec.name``."""
        self._update_one(
            SUBSCRIPTION,
            SUBSCRIPTION.c.name == spec.name,
            lambda: no_subscription(spec.name),
            **_spec_columns(spec),
        )
        return self.get_subscription(spec.name)

    def set_subscription_paused(self, name: str, paused: bool) -> None:
        self._update_one(
            SUBSCRIPTION, SUBSCRIPTION.c.name == name, lambda: no_subscription(name), paused=paused
        )

    # ------------------------------------------------------------------ digests

    def mark_digest_sent(self, run_id: int, sent_at: datetime, article_count: int) -> None:
        self._update_run(
            run_id,
            status="sent",
            sent_at=sent_at,
            article_count=article_count,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )

    def mark_digest_failed(self, run_id: int, error: str) -> None:
        self._update_run(run_id, status="failed", error=error)

    def _update_run(self, run_id: int, **values: Any) -> None:
        def missing() -> NotFound:
            return NotFound(f"no digest run with id {run_id}")

        self._update_one(DIGEST_RUN, DIGEST_RUN.c.id == run_id, missing, **values)

    def list_digest_runs(self, subscription_id: int | None = None) -> list[DigestRun]:
        stmt = select(DIGEST_RUN).order_by(DIGEST_RUN.c.created_at, DIGEST_RUN.c.id)
        if subscription_id is not None:
            stmt = stmt.where(DIGEST_RUN.c.subscription_id == subscription_id)
        return [convert.digest_run(r) for r in self._rows(stmt)]

    def lease_digest_run(
        self,
        subscription_id: int,
        period_key: str,
        message_id: str,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        respect_backoff: bool = True,
    ) -> tuple[DigestRun, bool]:
        """Create the outbox row if needed and try to lease it to ``owner``.

        Returns the row and whether the lease was granted. It is granted when the run is
        not finished (``pending``, or ``failed`` with a retry due), nobody holds an
        unexpired lease, and - with ``respect_backoff`` - its retry time has come. The
        lease is one conditional ``UPDATE``, so two senders can never both get it.
        """
        self._open_run(subscription_id, period_key, message_id, now, period_start, period_end)
        retryable: ColumnElement[bool] = DIGEST_RUN.c.status.in_(("pending", "failed"))
        if respect_backoff:
            retryable = or_(
                DIGEST_RUN.c.status == "pending",
                and_(DIGEST_RUN.c.status == "failed", DIGEST_RUN.c.next_attempt_at <= now),
            )
        leased = self._session.execute(
            update(DIGEST_RUN)
            .where(
                DIGEST_RUN.c.subscription_id == subscription_id,
                DIGEST_RUN.c.period_key == period_key,
                retryable,
                or_(DIGEST_RUN.c.lease_expires_at.is_(None), DIGEST_RUN.c.lease_expires_at <= now),
            )
            .values(
                lease_owner=owner,
                lease_expires_at=lease_until,
                attempts=DIGEST_RUN.c.attempts + 1,
            )
            .returning(DIGEST_RUN.c.id)
        ).scalar_one_or_none()
        row = self._run_row(subscription_id, period_key)
        if row is None:
            raise StorageError(f"digest run {subscription_id}/{period_key} vanished")
        return convert.digest_run(row), leased is not None

    def _open_run(
        self,
        subscription_id: int,
        period_key: str,
        message_id: str,
        now: datetime,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
    ) -> None:
        """Insert the pending run of (subscription, period) unless it exists; NotFound for
        a subscription that does not."""
        self.get_subscription_by_id(subscription_id)
        self._session.execute(
            self._insert(DIGEST_RUN)
            .values(
                subscription_id=subscription_id,
                period_key=period_key,
                status="pending",
                message_id=message_id,
                created_at=now,
                article_count=0,
                attempts=0,
                period_start=period_start,
                period_end=period_end,
                delivered="[]",
            )
            .on_conflict_do_nothing(
                index_elements=[DIGEST_RUN.c.subscription_id, DIGEST_RUN.c.period_key]
            )
        )

    def _run_row(self, subscription_id: int, period_key: str) -> Any:
        return self._one_or_none(
            select(DIGEST_RUN).where(
                DIGEST_RUN.c.subscription_id == subscription_id,
                DIGEST_RUN.c.period_key == period_key,
            )
        )

    def record_delivery(self, run_id: int, recipient: str) -> None:
        """Note that ``recipient`` got this run's message (a retry skips them)."""
        current = self._session.execute(
            select(DIGEST_RUN.c.delivered).where(DIGEST_RUN.c.id == run_id)
        ).scalar_one_or_none()
        if current is None:
            raise NotFound(f"no digest run with id {run_id}")
        done = list(load_strings(current))
        if recipient not in done:
            done.append(recipient)
        self._update_run(run_id, delivered=dump_strings(done))

    def mark_digest_retry(
        self, run_id: int, owner: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt and release the lease; ``None`` means "give up"."""
        self._session.execute(
            update(DIGEST_RUN)
            .where(DIGEST_RUN.c.id == run_id, DIGEST_RUN.c.lease_owner == owner)
            .values(
                status="failed",
                error=error,
                next_attempt_at=next_attempt_at,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    def mark_digest_skipped(self, run_id: int, now: datetime) -> None:
        self._update_run(
            run_id,
            status="skipped",
            sent_at=now,
            article_count=0,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )

    def recent_digest_runs(
        self, since: datetime, keys: Sequence[str] | None = None
    ) -> list[DigestRun]:
        """Runs created at or after ``since`` (only those with these period ``keys`` when
        given), plus every run still open: pending, or failed with a retry planned."""
        recent: ColumnElement[bool] = DIGEST_RUN.c.created_at >= since
        if keys is not None:
            recent = and_(recent, DIGEST_RUN.c.period_key.in_(list(dict.fromkeys(keys))[:900]))
        stmt = (
            select(DIGEST_RUN)
            .where(
                or_(
                    recent,
                    DIGEST_RUN.c.status == "pending",
                    and_(
                        DIGEST_RUN.c.status == "failed",
                        DIGEST_RUN.c.next_attempt_at.is_not(None),
                    ),
                )
            )
            .order_by(DIGEST_RUN.c.created_at, DIGEST_RUN.c.id)
        )
        return [convert.digest_run(r) for r in self._rows(stmt)]


def _spec_columns(spec: SubscriptionSpec) -> dict[str, Any]:
    """The columns of what the user asked for: everything of ``spec`` but its name."""
    return {
        "emails": dump_strings(spec.emails),
        "schedule": spec.schedule,
        "at": spec.at,
        "tz": spec.tz,
        "weekday": spec.weekday,
        "topics": dump_strings(spec.topics),
        "actors": dump_strings(spec.actors),
        "queries": dump_strings(spec.queries),
        "sentiments": dump_strings(spec.sentiments),
        "outlets": dump_strings(spec.outlets),
        "spike_alerts": spec.spike_alerts,
    }
