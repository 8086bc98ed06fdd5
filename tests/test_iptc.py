"""The IPTC Media Topics classifier shipped in feeds/analysis/iptc/data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from feeds.analysis.iptc import MODEL_DIR, IptcClassifier
from feeds.errors import ConfigError
from tests.shared_data import shared_file
from worker.topics import iptc_classifier

CONFLICT, POLITICS = "medtop:16000000", "medtop:11000000"


@pytest.fixture(scope="module")
def model() -> IptcClassifier:
    return iptc_classifier()


def test_seed_article_is_about_war_and_politics(model: IptcClassifier) -> None:
    title, _, body = shared_file("seeds/000_30ea7d5ece656d38.txt").read_text().partition("\n")
    topics = model.classify(title, body)
    codes = [t.code for t in topics]
    assert {CONFLICT, POLITICS} <= set(codes)
    assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    assert all(0 < t.score <= 1 and t.label for t in topics)


@pytest.mark.parametrize(
    ("title", "text", "code"),
    [
        (
            "Earthquake kills dozens",
            "Rescuers searched collapsed buildings after the quake.",
            "medtop:03000000",
        ),
        (
            "Striker scores twice in cup final",
            "The club won the trophy after extra time.",
            "medtop:15000000",
        ),
        (
            "Central bank raises rates",
            "Inflation pushed the bank to lift borrowing costs.",
            "medtop:04000000",
        ),
        (
            "Storm warning for the coast",
            "Forecasters expect gales and heavy rain tonight.",
            "medtop:17000000",
        ),
    ],
)
def test_clear_cases(model: IptcClassifier, title: str, text: str, code: str) -> None:
    assert model.classify(title, text)[0].code == code


def test_empty_document_has_no_topics(model: IptcClassifier) -> None:
    assert model.classify("", "") == ()
    assert model.classify("  ", "... --") == ()  # no words, no topics


def test_shipped_files_match_their_checksums() -> None:
    lines = (MODEL_DIR / "SHA256SUMS").read_text().splitlines()
    assert lines
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((MODEL_DIR / name).read_bytes()).hexdigest() == digest, name
    taxonomy = json.loads((MODEL_DIR / "taxonomy.json").read_text())
    assert "CC BY 4.0" in taxonomy["licence"]
    top = [c for c, t in taxonomy["topics"].items() if t["parent"] is None]
    assert len(top) == 17


def test_missing_files_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        IptcClassifier.load(tmp_path)
