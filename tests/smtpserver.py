"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every envelope it is given."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd looks up
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        msg = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@dataclass
class FlakyCollector(Collector):
    """A collector that fails at random, the way real mail servers do now and then.

    Each transaction fails with probability ``failure_rate`` (seeded, so a test is
    repeatable): half of the failures refuse the sender with 421, half answer the data with
    451 - both *before* accepting the message. ``lose_replies`` = N makes the next N data
    commands keep the message and still answer 451, as when a connection drops after the
    server accepted it: the sender cannot tell, retries, and the message arrives twice.
    """

    failure_rate: float = 0.0
    seed: int = 0
    lose_replies: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._rng.random() < self.failure_rate / 2:
            self.failures += 1
            return "421 4.3.2 too busy, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.lose_replies > 0:
            self.lose_replies -= 1
            self.failures += 1
            await super().handle_DATA(server, session, envelope)
            return "451 4.3.0 temporary failure, try again"
        if self._rng.random() < self.failure_rate / 2:
            self.failures += 1
            return "451 4.3.0 temporary failure, try again"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def flaky_smtp() -> Iterator[tuple[FlakyCollector, int]]:
    """A real SMTP server on loopback that refuses about 40% of transactions (seeded)."""
    handler = FlakyCollector(failure_rate=0.4, seed=7)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
