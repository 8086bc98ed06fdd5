"""Rendering a composed digest into the email of one recipient, and its Message-IDs.

The HTML body comes from the Jinja templates in ``templates/`` and passes the allow-list
sanitiser (:mod:`feeds.digest.sanitize`); the text part comes from its own template. The
Message-ID of a digest is fixed by (subscription, period) and each recipient's copy by
(subscription, period, recipient), so a retried send repeats the same identifiers.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import TYPE_CHECKING

from feeds.digest.chart import CHART_HEIGHT, CHART_WIDTH
from feeds.digest.compose import DigestContent
from feeds.digest.panel import TREND_DAYS
from feeds.digest.sanitize import clean_body, plain_text, safe_link
from feeds.errors import InvalidInput
from feeds.models import (
    DigestEmail,
)

if TYPE_CHECKING:
    from jinja2 import Environment

_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")

__all__ = ["message_id_for", "recipient_message_id", "render_email"]


def render_email(
    content: DigestContent,
    *,
    sender: str,
    recipient: str | tuple[str, ...],
    message_id: str,
    unsubscribe_link: str | None = None,
    unsubscribe_command: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> DigestEmail:
    """The message for one recipient (or, for previews, a tuple of them)."""
    recipients = (recipient,) if isinstance(recipient, str) else recipient
    context = {
        "c": content,
        "subject": content.subject,
        "subscription_name": plain_text(content.subscription.name),
        "unsubscribe_link": safe_link(unsubscribe_link),
        "unsubscribe_command": unsubscribe_command,
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "trend_days": TREND_DAYS,
    }
    env = _environment()
    body = clean_body(env.get_template("digest_body.html.j2").render(context))
    html = env.get_template("digest.html.j2").render({**context, "body": body})
    text = env.get_template("digest.txt.j2").render(context)
    headers = {
        # RFC 3834: tells autoresponders not to answer a machine-generated message.
        "Auto-Submitted": "auto-generated",
        "X-Newsmon-Subscription": str(content.subscription.id),
        "X-Newsmon-Period": content.period.key,
    }
    headers.update(extra_headers or {})
    return DigestEmail(
        subject=content.subject,
        sender=sender,
        recipients=recipients,
        html=html,
        text=text,
        message_id=message_id,
        headers=headers,
        inline_images=content.images,
    )


def message_id_for(subscription_id: int, period_key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt at one digest."""
    if not _DOMAIN.fullmatch(domain) or ".." in domain:
        raise InvalidInput(f"not a usable Message-ID domain: {domain!r}")
    digest = hashlib.sha1(period_key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"<digest.{subscription_id}.{digest[:16]}@{domain.lower()}>"


def recipient_message_id(run_message_id: str, recipient: str) -> str:
    """The Message-ID of one recipient's copy: the run's, tagged with the recipient.

    Stable per (subscription, period, recipient), so every retry of that copy carries the
    same id and mail clients collapse duplicates.
    """
    local, _, domain = run_message_id.strip("<>").partition("@")
    tag = hashlib.sha1(recipient.casefold().encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"<{local}.{tag[:10]}@{domain}>"


@cache
def _environment() -> Environment:
    # Jinja is imported when a digest is first rendered, not by every command that builds
    # the pipeline (issue 21, start-up and footprint).
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("feeds.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
