"""Identity: when two entries are the same article, and when two articles tell one story.

``keys`` turns a fetched document into keyed entries (entry key, canonical URL, content
hash: :func:`feeds.dedup.keys.prepare_feed`, pure and picklable, the part of ingest a
worker process may run); ``guids`` decides per feed whether its GUIDs can be trusted;
``neardup`` finds near-copies (MinHash LSH) and ``stories`` decides which story an
article joins. Grouping uses no analysis output. The use case that applies the last two
is :mod:`feeds.usecases.group`. See docs/STORIES.md.
"""
