"""Getting feeds: the HTTP adapter and the decisions around it.

``http`` is the httpx adapter behind :class:`feeds.ports.Fetcher` (conditional GET, limits,
the connect-time address check); ``policy`` the pure decider of when to poll next and of a
feed's health; ``politeness`` the per-host limits and the polite dispatcher; ``discover``
finds a page's feed; ``fulltext`` reads an article page's text; ``health`` summarises the
feed list for ``newsmon status``. See docs/FETCHING.md.
"""
