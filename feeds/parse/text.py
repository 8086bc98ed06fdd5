"""HTML and plain feed text to the plain text everything downstream reads.

Paragraph and line breaks survive as blank lines and newlines because the analysers split
sentences; ``<p>One</p><p>Two</p>`` must not become ``OneTwo``. Both feed readers (and the
full-text fetcher) use these helpers, so their output cannot drift apart.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# --------------------------------------------------------------------------- HTML to text

WARNING_MAX = 300  # characters of a parser's complaint that are kept

# Elements that start a new paragraph. Anything not listed is inline and adds no break.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "center", "dd", "details",
        "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main",
        "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot",
        "thead", "tr", "ul",
    }
)  # fmt: skip
# Elements whose content is never prose for a reader.
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "svg", "math", "iframe",
     "object", "select", "textarea", "button"}
)  # fmt: skip
# Table cells are inline in the flow but must not glue their words together.
_CELL_TAGS = frozenset({"td", "th"})


class _TextExtractor(HTMLParser):
    """Collects text as paragraphs of lines; see :func:`html_to_text`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._paragraphs: list[str] = []
        self._lines: list[str] = []
        self._pieces: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    # -- structure

    def _end_line(self) -> bool:
        """Close the current line; True when it held any text."""
        pieces = self._pieces
        if not pieces:
            return False
        # Most lines are one run of text: no need to join a list of one.
        line = " ".join((pieces[0] if len(pieces) == 1 else "".join(pieces)).split())
        self._pieces = []
        if line:
            self._lines.append(line)
            return True
        return False

    def _end_paragraph(self) -> None:
        self._end_line()
        if self._lines:
            self._paragraphs.append("\n".join(self._lines))
            self._lines = []

    # -- HTMLParser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            # "<br><br>" is the poor man's paragraph; a lone <br> is a line break.
            if not self._end_line() and self._lines:
                self._end_paragraph()
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _CELL_TAGS:
            self._pieces.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Self-closing forms (<br/>, <hr/>) open and close at once; a skipped element
        # written as <svg/> must not leave the skip depth raised.
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            # Preformatted text keeps its line structure (but not its indentation).
            first, *rest = data.split("\n")
            self._pieces.append(first)
            for line in rest:
                self._end_line()
                self._pieces.append(line)
            return
        self._pieces.append(data)

    def text(self) -> str:
        self._end_paragraph()
        return "\n\n".join(self._paragraphs)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment or document.

    Tags are dropped, entities unescaped, script/style content removed and whitespace
    collapsed. Block elements (``p``, ``div``, ``li``, headings …) and double ``<br>``
    separate paragraphs with a blank line; a single ``<br>`` becomes a newline. The result
    has no leading or trailing whitespace and never two blank lines in a row.
    """
    if not html:
        return ""
    text = _plain_markup_text(html)
    if text is not None:
        return text
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


# A tag written plainly: a name, attributes with simple values, an optional closing slash.
# html.parser reads such a tag exactly as written, so markup made only of these (and text)
# can be tokenised with one regular expression instead of html.parser's general machinery,
# several times faster, with the same callbacks in the same order. Anything else
# (comments, declarations, a stray "<", unusual attribute syntax) goes to html.parser.
_PLAIN_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[a-zA-Z_][-:.a-zA-Z_0-9]*"
    r"(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'=<>`/]+))?)*)"
    r"\s*(/?)>"
)
# What may follow "<" when it opens a tag, an end tag, a comment, a declaration or a
# processing instruction (html.parser's cases); after anything else "<" is text.
_MARKUP_AFTER_LT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!?")
# html.parser's raw-text elements end at their own end tag only (as in Python 3.11).
_RAW_TEXT_END = {tag: re.compile(rf"</\s*{tag}\s*>", re.IGNORECASE) for tag in ("script", "style")}


def _plain_markup_text(markup: str) -> str | None:
    """:func:`html_to_text` of markup made of plain tags and text; None for anything else."""
    out = _TextExtractor()
    find = markup.find
    pos = 0
    while True:
        lt = find("<", pos)
        chunk = markup[pos:] if lt < 0 else markup[pos:lt]
        if chunk:
            # html.parser (convert_charrefs) unescapes each run of text between tags.
            if "&" in chunk:
                chunk = unescape(chunk)
            if out._skip_depth or out._pre_depth:
                out.handle_data(chunk)
            else:
                out._pieces.append(chunk)  # handle_data's common case, without the call
        if lt < 0:
            return out.text()
        match = _PLAIN_TAG.match(markup, lt)
        if match is None:
            if lt + 1 < len(markup) and markup[lt + 1] not in _MARKUP_AFTER_LT:
                # "growth < 2%": html.parser passes a "<" that opens nothing on as text.
                out.handle_data("<")
                pos = lt + 1
                continue
            return None
        closing, name, attrs, slash = match.groups()
        tag = name.lower()
        pos = match.end()
        if closing:
            if attrs or slash:
                return None
            out.handle_endtag(tag)
        elif slash:
            out.handle_startendtag(tag, [])
        else:
            out.handle_starttag(tag, [])
            raw_end = _RAW_TEXT_END.get(tag)
            if raw_end is not None:
                found = raw_end.search(markup, pos)
                if found is None:
                    return None
                out.handle_data(markup[pos : found.start()])  # raw, like html.parser
                out.handle_endtag(tag)
                pos = found.end()


def plain_to_text(text: str) -> str:
    """Normalise text that is already plain: same whitespace rules as :func:`html_to_text`."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line:
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    if lines:
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def detail_to_text(value: object, content_type: object) -> str:
    """Text of a feedparser text construct, honouring its declared type."""
    if not isinstance(value, str) or not value:
        return ""
    kind = content_type.lower() if isinstance(content_type, str) else "text/html"
    if kind == "text/plain":
        return plain_to_text(value)
    return html_to_text(value)


def single_line(text: str) -> str:
    return " ".join(text.split())


def optional_line(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = single_line(value)
    return cleaned or None


def describe_error(exc: object) -> str:
    if isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {single_line(str(exc))}".rstrip(": ")
    else:
        text = single_line(str(exc)) if exc else "unknown error"
    return text[:WARNING_MAX]
