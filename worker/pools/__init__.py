"""Worker processes of the embedded mode, behind the core's pool ports.

``ingest`` prepares fetched feeds (:class:`feeds.ports.PreparePool`), ``analysis`` analyses
big batches (:class:`feeds.ports.AnalysisPool`); ``processes`` is their common life cycle.
The core never starts a process: the composition root (:mod:`worker.bootstrap`) builds
these and hands them to the use cases.
"""
