"""Digests, pure: which entries (a story each) a subscription gets, and the email that shows them.

``periods`` (a subscription's completed periods), ``select`` (one entry per story,
filters, importance), ``panel`` and ``chart`` (the actor panel and its trend charts),
``spikes`` (coverage spike detection), ``compose`` (the view a digest shows), ``render``
(Jinja templates in ``templates/``, Message-IDs), ``sanitize`` (the nh3 allow-list) and
``unsubscribe`` (HMAC tokens and headers). Sending is a port; the use case that leases,
sends and records is :mod:`feeds.usecases.deliver`. See docs/DIGESTS.md.
"""
