"""SMTP delivery of rendered digests (the :class:`feeds.ports.Mailer` adapter).

Design decisions:

* Every address is validated before anything is sent. Subscription addresses come from
  users, so a value such as ``"Bob <a@b.c>\\r\\nBcc: x@y.z"`` must never reach a header; we
  reject CR/LF anywhere, more than one address per field, and anything that does not
  survive a parse -> format -> parse round trip unchanged. The standard library's parser is
  lenient (it happily reads ``"a@b.c, d@e.f"`` as one address), hence the extra checks.
* The message is built with ``email.policy.SMTP`` (CRLF line ends, RFC-compliant folding)
  as ``multipart/alternative`` with the plain-text part first and the HTML part last, the
  order in which clients prefer the last part they can show.
* smtplib and socket failures become :class:`MailError` with a one-line message. The
  password is never part of a message: only the server's reply and the host are reported.
* Inline images (the digest's trend charts) travel in a ``multipart/related`` part next to
  the HTML, referenced by Content-ID, so no client has to fetch anything.
* If the server accepts some recipients and refuses others, the message *was* delivered;
  raising would make the caller retry and send duplicates to the accepted ones, so the
  refusals are logged instead.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl as ssl_module
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, getaddresses, parseaddr

from feeds.errors import ConfigError, InvalidInput, MailError
from feeds.models import DigestEmail

__all__ = ["SmtpMailer", "validate_address"]

log = logging.getLogger(__name__)

_FORBIDDEN = ("\r", "\n", "\0")
# RFC 5322 field names: printable ASCII except the colon.
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_CONTENT_ID = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+")
_SUBTYPE = re.compile(r"[a-z0-9.+-]+")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_CORE_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "content-type",
        "mime-version",
        "content-transfer-encoding",
    }
)


def validate_address(addr: str) -> str:
    """Check one email address (optionally with a display name) and return it normalised.

    ``"  Bob <Bob@Example.ORG> "`` becomes ``"Bob <Bob@example.org>"``. Raises
    :class:`InvalidInput` for CR/LF, several addresses, a missing ``@`` or anything the
    parser would read differently from how it is written.
    """
    return str(_parse(addr))


def _parse(addr: str) -> Address:
    if any(ch in addr for ch in _FORBIDDEN):
        raise InvalidInput(f"line breaks are not allowed in an email address: {addr!r}")
    raw = addr.strip()
    if not raw:
        raise InvalidInput("empty email address")
    if len(getaddresses([raw])) != 1:
        # The parser also splits malformed input ("a@@example.org"): only a list
        # separator means the user really gave several addresses.
        if any(sep in raw for sep in ",;"):
            raise InvalidInput(f"exactly one email address expected, got several: {raw!r}")
        raise InvalidInput(f"not an email address (expected user@domain): {raw!r}")
    _check_brackets(raw)
    name, spec = parseaddr(raw)
    if not spec or "@" not in spec:
        raise InvalidInput(f"not an email address (no user@domain part): {raw!r}")
    local, _, domain = spec.rpartition("@")
    if not _LOCAL_PART.fullmatch(local):
        # Only the unquoted ASCII form: quoted or internationalised local parts are legal
        # but rare, and many servers mishandle them.
        raise InvalidInput(f"not an email address (bad part before @): {raw!r}")
    domain = _check_domain(domain, raw)
    try:
        parsed = Address(display_name=name, username=local, domain=domain)
        rendered = str(parsed)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"not an email address: {raw!r} ({exc})") from exc
    # The round trip catches inputs the lenient parser "repaired": a second address hidden in
    # the display name, stray angle brackets, comments and the like.
    if parseaddr(rendered) != (name, f"{local}@{domain}") or len(getaddresses([rendered])) != 1:
        raise InvalidInput(f"ambiguous email address: {raw!r}")
    return parsed


def _check_brackets(raw: str) -> None:
    # The parser silently closes a missing ">" and turns "(comments)" into display names;
    # outside quoted display names we accept exactly "addr" or "name <addr>".
    bare = _QUOTED.sub('""', raw)
    opens, closes = bare.count("<"), bare.count(">")
    if (
        "(" in bare
        or ")" in bare
        or opens > 1
        or opens != closes
        or (opens and not (bare.endswith(">") and bare.index("<") < bare.index(">")))
    ):
        raise InvalidInput(f"not an email address (expected addr or Name <addr>): {raw!r}")


def _check_domain(domain: str, raw: str) -> str:
    domain = domain.lower()
    try:
        # IDNA turns an internationalised domain into the ASCII form DNS and SMTP use.
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidInput(f"not an email address (bad domain): {raw!r}") from exc
    labels = ascii_domain.split(".")
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"not an email address (bad domain): {raw!r}")
    return ascii_domain


def _check_header(name: str, value: str) -> None:
    if not _FIELD_NAME.fullmatch(name):
        raise InvalidInput(f"not a valid header name: {name!r}")
    if any(ch in value for ch in _FORBIDDEN):
        raise InvalidInput(f"line breaks are not allowed in the {name} header")


class SmtpMailer:
    """Send :class:`DigestEmail` values through one SMTP server.

    ``ssl=True`` speaks TLS from the first byte (usually port 465); ``starttls=True``
    upgrades a plain connection (usually port 587). ``ssl_context`` defaults to the system
    trust store with hostname checking.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        ssl: bool = False,
        timeout: float = 30.0,
        ssl_context: ssl_module.SSLContext | None = None,
    ) -> None:
        if ssl and starttls:
            raise ConfigError("choose either implicit TLS (ssl) or STARTTLS, not both")
        self.host = host
        self.port = port
        # An empty username (an unset environment variable, say) means "no login".
        self.username = username or None
        self._password = password
        self.starttls = starttls
        self.ssl = ssl
        self.timeout = timeout
        self._context = ssl_context

    def __repr__(self) -> str:
        # Deliberately without the password.
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"starttls={self.starttls}, ssl={self.ssl})"
        )

    def build_message(self, email: DigestEmail) -> tuple[EmailMessage, str, list[str]]:
        """The MIME message plus the envelope sender and recipients; validates everything."""
        sender = _parse(email.sender)
        if not email.recipients:
            raise InvalidInput("a digest needs at least one recipient")
        recipients = [_parse(r) for r in email.recipients]
        _check_header("Subject", email.subject)
        if not _MESSAGE_ID.fullmatch(email.message_id):
            raise InvalidInput(f"not a valid Message-ID: {email.message_id!r}")
        for name, value in email.headers.items():
            _check_header(name, value)
            if name.lower() in _CORE_HEADERS:
                raise InvalidInput(f"the {name} header is set by the mailer, not by the digest")

        msg = EmailMessage(policy=SMTP)
        msg["From"] = sender
        msg["To"] = recipients
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = email.message_id
        for name, value in email.headers.items():
            msg[name] = value
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        if email.inline_images:
            # multipart/alternative [text/plain, multipart/related [text/html, image/png…]]:
            # the images belong to the HTML part and are shown through "cid:" links.
            html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
            if not isinstance(html_part, EmailMessage):
                raise InvalidInput("the HTML part could not be found to attach images to")
            for image in email.inline_images:
                if not _CONTENT_ID.fullmatch(image.cid) or not _SUBTYPE.fullmatch(image.subtype):
                    raise InvalidInput(f"not a valid inline image id: {image.cid!r}")
                html_part.add_related(
                    image.content,
                    maintype="image",
                    subtype=image.subtype,
                    cid=f"<{image.cid}>",
                    filename=image.filename,
                    disposition="inline",
                )
        return msg, sender.addr_spec, [r.addr_spec for r in recipients]

    def send(self, email: DigestEmail) -> None:
        """Deliver ``email`` or raise :class:`MailError` (:class:`InvalidInput` if malformed)."""
        msg, envelope_from, envelope_to = self.build_message(email)
        if self.username is not None and self._password is None:
            # Checked here rather than in __init__ so a half-configured mailer does not stop
            # commands that never send mail.
            raise MailError(f"SMTP username {self.username!r} is set but no password is")
        try:
            refused = self._deliver(msg, envelope_from, envelope_to)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"SMTP login as {self.username!r} at {self._where()} was refused: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = "; ".join(f"{r}: {_reply(*v)}" for r, v in exc.recipients.items())
            raise MailError(f"{self._where()} refused every recipient ({codes})") from exc
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"{self._where()} answered {_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # OSError covers refused connections, DNS failures, timeouts and TLS errors.
            detail = _one_line(str(exc)) or type(exc).__name__
            raise MailError(f"could not send mail via {self._where()}: {detail}") from exc
        if refused:
            log.warning(
                "%s refused some recipients of %s: %s",
                self._where(),
                email.message_id,
                ", ".join(sorted(refused)),
            )

    # ----------------------------------------------------------------------- internals

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _tls_context(self) -> ssl_module.SSLContext:
        return self._context or ssl_module.create_default_context()

    def _deliver(
        self, msg: EmailMessage, envelope_from: str, envelope_to: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        smtp: smtplib.SMTP
        if self.ssl:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if self.username is not None and self._password is not None:  # checked in send()
                smtp.login(self.username, self._password)
            return smtp.send_message(msg, from_addr=envelope_from, to_addrs=envelope_to)


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {_one_line(message)}".strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())
