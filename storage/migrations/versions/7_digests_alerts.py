"""Digests and alerts: subscription filters, and the digest run as a leased outbox row.

Revision ID: 7_digests_alerts
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.coltypes import UTCDateTime

revision: str = "7_digests_alerts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(sa.Column("queries", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("sentiments", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("outlets", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("spike_alerts", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("digest_run") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("period_start", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("period_end", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("delivered", sa.Text(), nullable=False, server_default="[]"))
        batch.create_index("ix_digest_run_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("digest_run") as batch:
        batch.drop_index("ix_digest_run_created_at")
        for name in (
            "delivered",
            "period_end",
            "period_start",
            "lease_expires_at",
            "lease_owner",
            "next_attempt_at",
            "attempts",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("subscription") as batch:
        for name in ("spike_alerts", "outlets", "sentiments", "queries"):
            batch.drop_column(name)
