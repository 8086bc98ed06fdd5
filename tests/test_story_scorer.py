"""The learned same-event scorer (feeds/dedup/scorer.py) and its fitting tool."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feeds.dedup import scorer, stories
from feeds.dedup.stories import PairEvidence, qualifies
from tools.stories import fit_scorer


def test_the_probability_never_falls_with_more_evidence() -> None:
    base = PairEvidence(terms=0.3, names=0.2, agree=0, hours=10.0)
    p = scorer.same_event_probability(base)
    assert 0.0 < p < 1.0
    for better in (
        PairEvidence(0.5, 0.2, 0, 10.0),
        PairEvidence(0.3, 0.6, 0, 10.0),
        PairEvidence(0.3, 0.2, 2, 10.0),
        PairEvidence(0.3, 0.2, 0, 0.0),
    ):
        assert scorer.same_event_probability(better) >= p


def test_learned_mode_ranks_by_probability(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = PairEvidence(terms=0.25, names=0.5, agree=1, hours=0.0)
    monkeypatch.setattr(stories, "LEARNED", True)
    ok, rank = qualifies(pair)
    assert rank == scorer.same_event_probability(pair)
    assert ok == (rank >= scorer.SCORER_THRESHOLD)


def _rows(path: Path, rng: np.random.Generator, n: int) -> Path:
    rows = []
    for _ in range(n):
        same = bool(rng.random() < 0.4)
        terms = rng.normal(0.45 if same else 0.2, 0.1)
        names = rng.normal(0.5 if same else 0.1, 0.15)
        # hours apart made (wrongly) *more* common among same-event pairs: the fit must not
        # learn that waiting makes a match likelier
        hours = rng.exponential(30 if same else 10)
        rows.append({"terms": terms, "names": names, "agree": 0, "hours": hours, "same": same})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_fit_keeps_the_signs_and_separates_the_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x, y = fit_scorer.load([_rows(tmp_path / "pairs.jsonl", rng, 2000)])
    w = fit_scorer.fit(x, y)
    terms, names, agree, hours, bias = w
    assert terms > 0 and names > 0
    assert agree == 0  # never varies in these rows: nothing to learn, and no wrong sign
    assert hours == 0  # its unconstrained weight would be positive: held at zero
    p = 1 / (1 + np.exp(-(x @ w[:-1] + bias)))
    assert ((p >= 0.5) == (y == 1)).mean() > 0.9


def test_the_fit_tool_writes_weights_the_replay_reads(tmp_path: Path) -> None:
    pairs = _rows(tmp_path / "pairs.jsonl", np.random.default_rng(5), 500)
    out = tmp_path / "scorer.json"
    assert fit_scorer.main([str(pairs), "--out", str(out)]) == 0
    fitted = json.loads(out.read_text())
    assert len(fitted["weights"]) == len(scorer.WEIGHTS) and fitted["pairs"] == 500
