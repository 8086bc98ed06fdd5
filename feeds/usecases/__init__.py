"""The use cases: every driver (CLI, Celery tasks, the embedded scheduler) calls these.

A use case takes ports (a :class:`feeds.ports.Store`, a clock, an analyzer...), owns its
transactions and returns frozen values; the drivers parse arguments and print. Nothing
here opens a transaction on behalf of a driver that then reaches into the repository.

``feeds`` (the feed list, OPML import and ``feeds add`` on one path, status, pruning),
``subscriptions``, ``topics``, ``actors`` and ``stories`` are the administrative ones;
``analyze`` is the one analysis loop; the poll and digest use cases live on
:class:`feeds.usecases.pipeline.Pipeline`, which the composition root builds.
"""
