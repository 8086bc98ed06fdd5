"""The SMTP mailer against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from feeds.errors import ConfigError, InvalidInput, MailError
from feeds.models import DigestEmail
from tests.smtpserver import Collector, free_port
from worker.mailer import SmtpMailer, validate_address

# A self-signed certificate for 127.0.0.1 valid until 2126, used only by these tests so the
# STARTTLS path runs without generating keys (or needing any file outside the repository).
CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIUeZwpfJ8+Nm/MqvFV87eFyFIr/u8wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMbmV3c21vbiB0ZXN0MCAXDTI2MTEyNzAxMTcyN1oYDzIxMjYx
MTAzMDExNzI3WjAXMRUwEwYDVQQDDAxuZXdzbW9uIHRlc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAThty4n+I9ho5E7usN8LCE1XvScwSYEB+dIBNmaYwihShM7
dtkCfjCmnYfkih9+BQt6LM/fqflxzwinKBFb7tpQo28wbTAdBgNVHQ4EFgQUP709
8G2BuqqrJYoY1mJzso6GSeMwHwYDVR0jBBgwFoAUP7098G2BuqqrJYoY1mJzso6G
SeMwDwYDVR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3Qw
CgYIKoZIzj0EAwIDSAAwRQIgXHclyn4VQqgJ1bfyo2k8sQxKi6nUztxU1D9leW/N
PikCIQDYbfrCTcNE3918Zjr4Cx8tj1IYuKJRD8izlsBfbxd3gQ==
-----END CERTIFICATE-----
"""
KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrSt3vt3/lqV9ZaF4
X0Yq3KujW0e0VInNJ59uU8nAumihRANCAAThty4n+I9ho5E7usN8LCE1XvScwSYE
B+dIBNmaYwihShM7dtkCfjCmnYfkih9+BQt6LM/fqflxzwinKBFb7tpQ
-----END PRIVATE KEY-----
"""
PASSWORD = "s3cret-Pa55word"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    # handled=False lets aiosmtpd answer the failure itself (535).
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(tmp_path: Path) -> Iterator[tuple[Collector, int]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(CERT_PEM)
    key.write_text(KEY_PEM)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    handler = Collector()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def client_tls() -> ssl.SSLContext:
    return ssl.create_default_context(cadata=CERT_PEM)


def digest(**kw: Any) -> DigestEmail:
    base: dict[str, Any] = {
        "subject": "Daily digest 'Ukraine desk': 2 articles — Russia mostly negative",
        "sender": "Newsmon <digests@newsmon.example>",
        "recipients": ("Analyst One <one@desk.example>", "two@desk.example"),
        "html": "<html><body><h1>Digest</h1><p>Kremlin rejects talks</p></body></html>",
        "text": "Digest\n\n* Kremlin rejects talks\n  https://news.example/a\n",
        "message_id": "<digest.7.0123456789abcdef@newsmon.example>",
        "headers": {"Auto-Submitted": "auto-generated", "X-Newsmon-Period": "daily:2026-11-24"},
    }
    base.update(kw)
    return DigestEmail(**base)


def test_sends_multipart_alternative(smtp: tuple[Collector, int]) -> None:
    handler, port = smtp
    SmtpMailer("127.0.0.1", port, timeout=5).send(digest())

    assert len(handler.received) == 1
    got = handler.received[0]
    assert got.mail_from == "digests@newsmon.example"
    assert got.rcpt_tos == ["one@desk.example", "two@desk.example"]
    msg = got.message
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert "Kremlin rejects talks" in parts[0].get_content()
    assert "<h1>Digest</h1>" in parts[1].get_content()
    assert msg["Subject"] == "Daily digest 'Ukraine desk': 2 articles — Russia mostly negative"
    assert msg["From"] == "Newsmon <digests@newsmon.example>"
    assert msg["To"] == "Analyst One <one@desk.example>, two@desk.example"
    assert msg["Message-ID"] == "<digest.7.0123456789abcdef@newsmon.example>"
    assert msg["Date"] is not None
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Newsmon-Period"] == "daily:2026-11-24"
    assert msg["Bcc"] is None


def test_partial_refusal_still_delivers(smtp: tuple[Collector, int]) -> None:
    handler, port = smtp
    handler.refuse.add("two@desk.example")
    SmtpMailer("127.0.0.1", port, timeout=5).send(digest())
    assert handler.received[0].rcpt_tos == ["one@desk.example"]


def test_all_recipients_refused_is_mail_error(smtp: tuple[Collector, int]) -> None:
    handler, port = smtp
    handler.refuse.update({"one@desk.example", "two@desk.example"})
    with pytest.raises(MailError, match="refused every recipient"):
        SmtpMailer("127.0.0.1", port, timeout=5).send(digest())
    assert handler.received == []


def test_starttls_and_login(tls_smtp: tuple[Collector, int]) -> None:
    handler, port = tls_smtp
    mailer = SmtpMailer(
        "127.0.0.1",
        port,
        username="newsmon",
        password=PASSWORD,
        starttls=True,
        timeout=5,
        ssl_context=client_tls(),
    )
    mailer.send(digest())
    assert len(handler.received) == 1
    assert PASSWORD not in repr(mailer)


def test_wrong_password_is_mail_error_without_the_password(
    tls_smtp: tuple[Collector, int],
) -> None:
    _, port = tls_smtp
    wrong = "not-the-" + PASSWORD
    mailer = SmtpMailer(
        "127.0.0.1",
        port,
        username="newsmon",
        password=wrong,
        starttls=True,
        timeout=5,
        ssl_context=client_tls(),
    )
    with pytest.raises(MailError, match="login") as info:
        mailer.send(digest())
    assert wrong not in str(info.value)
    assert "\n" not in str(info.value)


def test_without_starttls_the_server_refuses(tls_smtp: tuple[Collector, int]) -> None:
    handler, port = tls_smtp
    with pytest.raises(MailError):
        SmtpMailer("127.0.0.1", port, timeout=5).send(digest())
    assert handler.received == []


def test_server_down_is_mail_error() -> None:
    port = free_port()  # nothing listens there once the probe socket is closed
    with pytest.raises(MailError, match=f"127.0.0.1:{port}") as info:
        SmtpMailer("127.0.0.1", port, timeout=2).send(digest())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "bad",
    [
        "Bob <a@b.c>\r\nBcc: x@y.z",
        "a@b.c\nBcc: x@y.z",
        "a@b.c, d@e.f",
        "Bob <a@b.c> <d@e.f>",
        "Smith, Bob <bob@x.example>",
        "no-at-sign.example",
        "Bob <a@b.c",
        "a@b.c (comment)",
        "a b@c.example",
        "a@bad..example",
        "",
    ],
)
def test_bad_addresses_are_rejected_before_connecting(bad: str) -> None:
    # Port 9 on loopback: if validation let anything through, the send would fail with
    # MailError instead of InvalidInput.
    mailer = SmtpMailer("127.0.0.1", 9, timeout=1)
    with pytest.raises(InvalidInput):
        mailer.send(digest(recipients=("ok@desk.example", bad)))
    with pytest.raises(InvalidInput):
        mailer.send(digest(sender=bad))
    with pytest.raises(InvalidInput):
        validate_address(bad)


@pytest.mark.parametrize(
    "kw",
    [
        {"subject": "Digest\r\nBcc: x@y.z"},
        {"message_id": "<a@b>\r\nBcc: x@y.z"},
        {"message_id": "no-brackets@b.example"},
        {"headers": {"X-Evil": "v\r\nBcc: x@y.z"}},
        {"headers": {"Bcc": "x@y.z"}},
        {"headers": {"Bad Name": "v"}},
        {"recipients": ()},
    ],
)
def test_header_injection_and_bad_fields_are_rejected(kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        SmtpMailer("127.0.0.1", 9, timeout=1).send(digest(**kw))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Bob <Bob@Example.ORG> ", "Bob <Bob@example.org>"),
        ("a@b.example", "a@b.example"),
        ("<a@b.example>", "a@b.example"),
        ('"Smith, Bob" <bob@x.example>', '"Smith, Bob" <bob@x.example>'),
        ("José <j@bücher.example>", "José <j@xn--bcher-kva.example>"),
    ],
)
def test_validate_address_normalises(raw: str, normalised: str) -> None:
    assert validate_address(raw) == normalised


def test_unicode_display_name_is_encoded(smtp: tuple[Collector, int]) -> None:
    handler, port = smtp
    email = replace(digest(), recipients=("Zoë Analyst <zoe@desk.example>",))
    SmtpMailer("127.0.0.1", port, timeout=5).send(email)
    assert handler.received[0].message["To"] == "Zoë Analyst <zoe@desk.example>"


def test_username_without_password_fails_before_connecting() -> None:
    with pytest.raises(MailError, match="no password"):
        SmtpMailer("127.0.0.1", 9, username="newsmon", timeout=1).send(digest())


def test_conflicting_tls_options_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        SmtpMailer("127.0.0.1", 25, ssl=True, starttls=True)
