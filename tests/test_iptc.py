"""The IPTC Media Topics classifier shipped in feeds/analysis/iptc/data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from feeds.analysis.iptc import MODEL_DIR, IptcClassifier
from feeds.analysis.iptc.encoder import (
    DIMENSIONS,
    SentenceEncoder,
    opening,
    packaged_encoder_dir,
)
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


def test_the_encoder_files_match_their_checksums() -> None:
    folder = packaged_encoder_dir()
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    assert {line.split("  ")[1] for line in lines} == {"model.onnx", "tokenizer.json"}
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_scores_are_independent_so_an_article_can_have_two_likely_topics(
    model: IptcClassifier,
) -> None:
    title, _, body = shared_file("seeds/000_30ea7d5ece656d38.txt").read_text().partition("\n")
    scores = model.probabilities(model.features(title, body))
    # a one-vs-rest head: scores do not share one unit of probability
    assert scores.sum() > 1.05
    by_code = dict(zip(model.codes, scores, strict=True))
    assert by_code[CONFLICT] > 0.5 and by_code[POLITICS] > 0.3


def test_a_technology_company_story_is_technology_not_business(model: IptcClassifier) -> None:
    topics = model.classify(
        "Chipmaker unveils a faster processor for smartphones",
        "The new chip doubles graphics speed and uses less battery, the company said.",
    )
    assert topics[0].code == "medtop:13000000"


def test_the_encoder_reads_the_title_then_the_opening_of_the_text() -> None:
    assert opening("Quake hits city", "Rescuers dug.") == "Quake hits city. Rescuers dug."
    assert opening("Is it over?", "No.") == "Is it over? No."
    assert opening("", "Only text.") == "Only text."
    assert len(opening("T", "x" * 10_000)) < 700  # the tail is never tokenised


def test_an_embedding_is_unit_length_and_deterministic() -> None:
    encoder = SentenceEncoder()
    first = encoder.embed("Storm warning", "Gales are expected tonight.")
    assert first.shape == (DIMENSIONS,)
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-3
    assert np.array_equal(first, encoder.embed("Storm warning", "Gales are expected tonight."))


def test_a_head_that_needs_the_encoder_refuses_to_run_without_it(tmp_path: Path) -> None:
    for name in ("tokenizer.json", "vectors.npy", "head.npz", "taxonomy.json"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    with np.load(MODEL_DIR / "head.npz") as head:
        arrays = {k: head[k] for k in head.files if k != "encoder_tokens"}
    np.savez(tmp_path / "head.npz", **arrays)
    with pytest.raises(ConfigError, match="does not fit"):
        IptcClassifier.load(tmp_path)


def test_a_broken_encoder_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_bytes(
        (packaged_encoder_dir() / "tokenizer.json").read_bytes()
    )
    (tmp_path / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ConfigError, match="topic encoder"):
        SentenceEncoder(tmp_path)


def test_a_batch_gives_each_article_what_it_gets_alone(model: IptcClassifier) -> None:
    """Batched openings are padded to the longest and the padding masked out, so neither
    the batch's other articles nor its size change an article's topics."""
    title, _, body = shared_file("seeds/000_30ea7d5ece656d38.txt").read_text().partition("\n")
    docs = [
        (title, body),
        ("Storm", ""),  # a short opening beside long ones: the most padding
        ("", ""),  # nothing to read: no topics, and no row for the encoder
        ("Striker scores twice in cup final", "The club won the trophy after extra time."),
        ("Central bank raises rates", "Inflation pushed the bank to lift borrowing costs. " * 9),
    ] * 4  # 20 documents: more than one encoder batch
    alone = [model.classify(t, x) for t, x in docs]
    together = model.classify_many(docs)
    assert [[t.code for t in found] for found in together] == [
        [t.code for t in found] for found in alone
    ]
    for a, b in zip(alone, together, strict=True):
        assert [t.score for t in a] == pytest.approx([t.score for t in b], abs=0.002)
    assert together[2] == ()
    encoder = SentenceEncoder()
    rows = encoder.embed_many(docs[:5])
    for (t, x), row in zip(docs[:5], rows, strict=True):
        assert np.allclose(encoder.embed(t, x), row, atol=1e-5)
