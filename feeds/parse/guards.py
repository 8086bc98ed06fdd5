"""Refusing documents before a parser sees them: the entity-expansion bound.

expat refuses billion-laughs amplification, but when the strict parse fails feedparser falls
back to a lenient parser that substitutes declared entities without any limit (a 78 KiB feed
can grow past a gigabyte). So every ``<!ENTITY`` declaration is read first and the size the
document would have with all of its references expanded is computed without expanding
anything; past :data:`MAX_ENTITY_EXPANSION` characters, or with recursive entities, the
document is refused with :class:`feeds.errors.UnsafeDocument`. Harmless declarations (an
``&nbsp;`` or two) pass. External entities are never fetched.
"""

from __future__ import annotations

import re

from feeds.errors import UnsafeDocument

# Characters that all entity references of one document may expand to, together.
MAX_ENTITY_EXPANSION = 1_000_000

_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+(%\s+)?([^\s"'%&;<>]+)\s+(?:"([^"]*)"|'([^']*)'|(SYSTEM|PUBLIC)\b)""",
    re.IGNORECASE,
)
_REFERENCE = re.compile(rb"([&%])([^\s&%;<>\"']+);")


def check_entities(content: bytes, limit: int = MAX_ENTITY_EXPANSION) -> None:
    """Raise :class:`UnsafeDocument` when declared entities would expand past ``limit``.

    Sizes are computed, never built: each entity's expanded length is its literal length
    plus the expanded lengths of the entities it references (memoised), and the document's
    total is the sum over every reference outside the declarations.
    """
    if not re.search(rb"<!ENTITY", content, re.IGNORECASE):
        return
    values: dict[bytes, bytes] = {}
    for match in _ENTITY_DECL.finditer(content):
        prefix = b"%" if match.group(1) else b"&"
        value = match.group(3) if match.group(3) is not None else match.group(4)
        # External entities (SYSTEM/PUBLIC) are never fetched: they expand to nothing.
        values.setdefault(prefix + match.group(2), value if value is not None else b"")

    sizes: dict[bytes, int] = {}
    visiting: set[bytes] = set()

    def size(name: bytes) -> int:
        if name in sizes:
            return sizes[name]
        if name in visiting:
            raise UnsafeDocument("unsafe document: an entity refers to itself; refusing to parse")
        visiting.add(name)
        value = values[name]
        total = len(value)
        for ref in _REFERENCE.finditer(value):
            key = ref.group(1) + ref.group(2)
            if key in values:
                total += size(key) - len(ref.group(0))
            if total > limit:
                break
        visiting.discard(name)
        sizes[name] = min(total, limit + 1)
        return sizes[name]

    body = _ENTITY_DECL.sub(b"", content)
    total = len(body)
    for ref in _REFERENCE.finditer(body):
        key = ref.group(1) + ref.group(2)
        if key in values:
            total += size(key)
        if total > limit + len(content):
            raise UnsafeDocument(
                f"unsafe document: its entities expand to more than {limit} characters "
                "(an entity-expansion bomb); refusing to parse"
            )
    for key in values:  # a bomb declared but never referenced is still a bomb
        if size(key) > limit:
            raise UnsafeDocument(
                f"unsafe document: entity {key.decode('latin-1')!r} expands to more than "
                f"{limit} characters (an entity-expansion bomb); refusing to parse"
            )
