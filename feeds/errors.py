"""One exception tree for the whole project.

::

    NewsmonError                 base; ``str(err)`` is a one-line message for the user
     ├── ConfigError             settings or input files are wrong
     ├── FetchError              a feed or page could not be fetched
     │    ├── FetchTimeout       connect/read timeout or the overall deadline passed
     │    ├── HTTPStatusError    the server answered with a non-success status
     │    ├── BodyTooLarge       the (decompressed) body passed the size cap
     │    ├── BlockedAddress     the URL resolves to a private address and that is not allowed
     │    └── RedirectLoop       redirects came back to a URL already visited
     ├── ParseError              bytes that are not a feed we can read
     │    └── UnsafeDocument     the document declares entities that would expand unboundedly
     ├── StorageError            the database failed or is unreachable
     │    └── NotFound           a feed, subscription … with that id or name does not exist
     ├── AlreadyExists           a unique name or URL is taken
     ├── MailError               SMTP delivery failed
     └── InvalidInput            a value from the user is malformed (address, query, time zone)

Third-party exceptions (httpx, SQLAlchemy, smtplib) are wrapped at the boundary that
raised them, so callers never need to know those libraries.
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose."""


class ConfigError(NewsmonError):
    pass


class FetchError(NewsmonError):
    pass


class FetchTimeout(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        # Seconds the server asked us to wait (Retry-After), when it said so.
        self.retry_after = retry_after


class BodyTooLarge(FetchError):
    pass


class BlockedAddress(FetchError):
    """Refused by our own address policy (private networks), not by the server."""


class UnknownHost(FetchError):
    """The name does not exist (DNS says so), as opposed to a resolver that failed."""


class RedirectLoop(FetchError):
    pass


class ParseError(NewsmonError):
    pass


class UnsafeDocument(ParseError):
    pass


class StorageError(NewsmonError):
    pass


class StorageConflict(StorageError):
    """A concurrent transaction won a lock or serialization race (PostgreSQL aborted this
    one: a deadlock or a serialization failure). Nothing of the aborted transaction was
    kept, so running the same unit of work again is safe."""


class NotFound(StorageError):
    pass


class MissingDatabase(StorageError):
    """The database a command should read is not there (or holds no newsmon schema).

    Only commands that add something create a database: a mistyped URL must not turn
    into a fresh, empty one that looks like lost data."""


class AlreadyExists(NewsmonError):
    pass


class MailError(NewsmonError):
    pass


class InvalidInput(NewsmonError):
    pass
