"""Feed bytes to :class:`feeds.models.ParsedFeed`, with every text field as plain text.

feedparser does the hard part (RSS 0.9x/1.0/2.0, Atom, encodings, dates, recovering from
broken XML). This module decides what to keep and in what shape:

* **Plain text only.** Everything downstream (dedup hashes, topic rules, sentiment, digest
  emails) wants text, not markup, so HTML is turned into text here, once. Paragraph and
  line breaks survive as blank lines and newlines because the analysers split sentences;
  ``<p>One</p><p>Two</p>`` must not become ``OneTwo``.
* **Bytes in, never a path or a URL.** feedparser treats a *string* argument as a URL to
  fetch or a file name to open, and even tries bytes as a file name; the body is handed
  over as a stream so that a response that happens to read ``/etc/passwd`` stays data.
  The fetching itself belongs to :mod:`feeds.fetch`, which bounds time and size.
* **Broken but useful beats strict.** Many real feeds are not well-formed XML. When
  feedparser recovers entries anyway they are returned with ``warning`` set; only a
  document in which no feed can be found at all raises :class:`feeds.errors.ParseError`.
* **Entity expansion is bounded before feedparser sees the document.** expat refuses
  billion-laughs amplification, but when the strict parse fails feedparser falls back to a
  lenient parser that substitutes declared entities without any limit (a 78 KiB feed can
  grow past a gigabyte). So every ``<!ENTITY`` declaration is read first and the size the
  document would have with all of its references expanded is computed without expanding
  anything; past :data:`MAX_ENTITY_EXPANSION` characters, or with recursive entities, the
  document is refused with :class:`feeds.errors.UnsafeDocument`. Harmless declarations
  (an ``&nbsp;`` or two) pass. External entities are never fetched.
* **JSON Feed** (1.0 and 1.1) is recognised by its content type or a leading ``{`` and
  read with the standard library's ``json``; the size cap of the fetcher bounds it.
* **Scheduling hints** travel with the result: RSS ``<ttl>`` and ``<skipHours>``.

Where each part lives: ``dispatch`` (which reader reads a document, charset repair),
``lxml_reader`` (the strict fast path), ``feedparser_reader`` (everything else), ``jsonfeed``,
``text`` (HTML to text), ``guards`` (the entity bound) and ``hints`` (ttl, skipHours).
"""

from feeds.parse.dispatch import parse_feed
from feeds.parse.guards import MAX_ENTITY_EXPANSION, check_entities
from feeds.parse.text import html_to_text

__all__ = ["MAX_ENTITY_EXPANSION", "check_entities", "html_to_text", "parse_feed"]
