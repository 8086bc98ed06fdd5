"""The use cases that read or write files for the CLI: the JSON Lines export and stand-alone
analysis. The rest of the administration lives in :mod:`feeds.usecases`.

They only sequence ports (the repository, the analyzer); no SQL lives here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from feeds.errors import InvalidInput
from feeds.formats.export import analysis_json
from feeds.models import AnalysisResult, Document, TargetSpan
from feeds.ports import Analyzer
from feeds.usecases.export import export_articles as export_jsonl
from worker.bootstrap import Container

# Documents handed to the analyzer at once: its topic encoder reads them as one batch.
ANALYZE_BATCH = 64


@contextmanager
def _open(target: str | Path | None, mode: str) -> Iterator[IO[str]]:
    if target in (None, "-"):
        yield sys.stdin if "r" in mode else sys.stdout
        return
    try:
        with open(target, mode, encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        raise InvalidInput(f"cannot open {target}: {exc.strerror}") from None


def export_articles(c: Container, since: datetime | None, output: Path | None) -> int:
    if output is None:
        return export_jsonl(c.store, since, sys.stdout.write)
    _check_writable(output)
    # Write to a temporary name and rename, so a failed export never leaves half a file.
    # Errors name the file the user gave: the temporary one is ours.
    tmp = output.with_name(output.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            count = export_jsonl(c.store, since, out.write)
        tmp.replace(output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {output}: {exc.strerror}") from None
    return count


def _check_writable(output: Path) -> None:
    if output.is_dir():
        raise InvalidInput(f"--output {output} is a directory; give a file name")
    if not output.parent.is_dir():
        raise InvalidInput(f"cannot write {output}: the directory {output.parent} does not exist")


def _document(line_no: int, raw: str) -> tuple[Any, Document, list[TargetSpan] | None]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"input line {line_no}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise InvalidInput(f"input line {line_no}: expected an object with a string 'text'")
    title = obj.get("title") or ""
    if not isinstance(title, str):
        raise InvalidInput(f"input line {line_no}: 'title' must be a string")
    targets = None
    if "targets" in obj:
        try:
            targets = [TargetSpan(int(t["from"]), int(t["to"])) for t in obj["targets"]]
        except (TypeError, KeyError, ValueError):
            raise InvalidInput(
                f'input line {line_no}: \'targets\' must be a list of {{"from": int, "to": int}}'
            ) from None
    return obj.get("id"), Document(str(obj.get("id")), title, obj["text"]), targets


def analyze_stream(analyzer: Analyzer, source: str, target: str) -> int:
    """Read every line first, so a bad line N fails before anything is written."""
    with _open(source, "r") as inp:
        lines = [(n, raw) for n, raw in enumerate(inp, 1) if raw.strip()]
    parsed = [_document(n, raw) for n, raw in lines]
    analyses: list[AnalysisResult] = []
    for start in range(0, len(parsed), ANALYZE_BATCH):  # the models read batches
        chunk = parsed[start : start + ANALYZE_BATCH]
        analyses.extend(analyzer.analyze_many([doc for _, doc, _ in chunk]))
    results = []
    for n, (doc_id, doc, targets), result in zip(
        (n for n, _ in lines), parsed, analyses, strict=True
    ):
        try:
            spans = analyzer.target_sentiment(doc.text, targets) if targets is not None else None
        except InvalidInput as exc:
            raise InvalidInput(f"input line {n}: {exc}") from None
        results.append(analysis_json(doc_id, result, spans))
    with _open(target, "w") as out:
        for obj in results:
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return len(results)
