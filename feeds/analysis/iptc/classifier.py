"""The IPTC Media Topics classifier: MiniLM reads the opening, static vectors the body.

How an article is scored
------------------------
1. The title and the text are cut into WordPiece tokens with all-MiniLM-L6-v2's own
   tokenizer (lower case, accents kept as the model was trained).
2. Each token has a static vector, distilled once from the full transformer (see
   ``tools/iptc/distill.py``), and a weight that damps very common tokens. The document
   vector is the weighted mean of its tokens' vectors; title tokens count
   :data:`TITLE_WEIGHT` times, and only the first :data:`MAX_BODY_TOKENS` tokens of the
   text are read (the lede carries the topic; the tail repeats or wanders).
3. The full transformer (:mod:`.encoder`) reads the headline and the start of the lede,
   where word order matters most; its sentence embedding is appended to the static one.
   A model trained without it (no ``encoder_tokens`` in ``head.npz``) reads the bag only.
4. A linear head, one logistic regression per top-level topic (trained by
   ``tools/iptc/train.py``), turns the joined vector into one score per topic. Scores are
   independent, so an article can be likely conflict *and* likely politics, and are
   calibrated on hand-labelled news (``calibration`` in ``head.npz``: one slope and offset
   for all topics) so that a score of 0.8 is right about 80 % of the time; the reliability
   table is in docs/BENCHMARKS.md. A head without ``calibration`` is the earlier
   multinomial one, read with a softmax.
5. Second-level topics: each top-level topic's children have a prototype vector built from
   their IPTC names and our seed phrases. A child is reported only when its parent is
   reported with at least :data:`CHILD_PARENT_MIN` and the article is clearly closer to
   that child than to its siblings (see :meth:`IptcClassifier._children`).

The output is multi-label: the best topic always, then every other topic whose
probability reaches :data:`MIN_SCORE`, best first.

Cost: one tokenisation (Rust) and a gather-and-sum over at most a few hundred rows for
the static part; the encoder's 32 word pieces are most of the rest, which is why
:meth:`IptcClassifier.classify_many` runs it on a batch of articles at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from feeds.analysis.iptc.encoder import SentenceEncoder
from feeds.errors import ConfigError
from feeds.models import TopicScore

TITLE_WEIGHT = 2.0
MAX_BODY_TOKENS = 512
# Text beyond this many characters is not even tokenised: 512 word pieces of English take
# about 2,400 characters, so the cut never shortens what is read, only the tokeniser's work.
MAX_BODY_CHARS = 3200
MIN_SCORE = 0.2
CHILD_PARENT_MIN = 0.5
CHILD_MIN_SIMILARITY = 0.55
CHILD_MARGIN = 0.06
SCORE_DECIMALS = 3

FloatArray = npt.NDArray[np.float32]

FILES = ("tokenizer.json", "vectors.npy", "head.npz", "taxonomy.json")


@dataclass(frozen=True, slots=True)
class _Child:
    code: str
    label: str
    parent: int  # row of the parent in the head's classes
    prototype: FloatArray


class IptcClassifier:
    """Loads its files once; thread-safe for reading, so one instance serves a process."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        vectors: FloatArray,
        token_weights: FloatArray,
        weights: FloatArray,
        bias: FloatArray,
        codes: tuple[str, ...],
        labels: dict[str, str],
        children: tuple[_Child, ...] = (),
        encoder: SentenceEncoder | None = None,
        calibration: tuple[float, float] | None = None,
        min_score: float = MIN_SCORE,
    ) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._vectors = vectors
        self._token_weights = token_weights
        self._weights = weights
        self._bias = bias
        self.codes = codes
        self.labels = labels
        self._children = children
        self._encoder = encoder
        self._calibration = calibration
        self._min_score = min_score
        if (encoder is None) != (weights.shape[0] == vectors.shape[1]):
            raise ConfigError(
                "the IPTC head does not fit its inputs: "
                f"{weights.shape[0]} weights per topic for {vectors.shape[1]} static dimensions"
                + (" and an encoder" if encoder else " without an encoder")
            )

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, directory: Path, encoder_dir: Path | None = None) -> IptcClassifier:
        """Read the model files written by ``tools/iptc/train.py`` from ``directory``
        (the encoder from ``encoder_dir``, by default the one shipped beside it)."""
        missing = [name for name in FILES if not (directory / name).is_file()]
        if missing:
            raise ConfigError(f"IPTC model files missing in {directory}: {', '.join(missing)}")
        try:
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
            vectors = np.load(directory / "vectors.npy")
            with np.load(directory / "head.npz") as head:
                arrays = {key: head[key] for key in head.files}
            taxonomy = json.loads((directory / "taxonomy.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load the IPTC model in {directory}: {exc}") from exc
        encoder = None
        if "encoder_tokens" in arrays:
            encoder = SentenceEncoder(encoder_dir, max_tokens=int(arrays["encoder_tokens"]))
        return cls.from_arrays(tokenizer, vectors, arrays, taxonomy, encoder)

    @classmethod
    def from_arrays(
        cls,
        tokenizer: Tokenizer,
        vectors: npt.NDArray[Any],
        head: dict[str, npt.NDArray[Any]],
        taxonomy: dict[str, Any],
        encoder: SentenceEncoder | None = None,
    ) -> IptcClassifier:
        codes = tuple(str(c) for c in head["codes"])
        labels = {str(k): str(v["label"]) for k, v in taxonomy["topics"].items()}
        unknown = [c for c in codes if c not in labels]
        if unknown:
            raise ConfigError(f"IPTC head uses codes missing from the taxonomy: {unknown}")
        children: list[_Child] = []
        if "child_codes" in head:
            for code, proto in zip(head["child_codes"], head["child_prototypes"], strict=True):
                code = str(code)
                parent = str(taxonomy["topics"][code]["parent"])
                children.append(
                    _Child(code, labels[code], codes.index(parent), proto.astype(np.float32))
                )
        return cls(
            tokenizer,
            vectors.astype(np.float32),  # 31 MB; widening rows per call would cost more
            head["token_weights"].astype(np.float32),
            head["weights"].astype(np.float32),
            head["bias"].astype(np.float32),
            codes,
            labels,
            tuple(children),
            encoder,
            (float(head["calibration"][0]), float(head["calibration"][1]))
            if "calibration" in head
            else None,
            float(head["min_score"]) if "min_score" in head else MIN_SCORE,
        )

    # ------------------------------------------------------------------ use

    def embed(self, title: str, text: str) -> FloatArray:
        """The unit-length document vector (zeros for a document without tokens)."""
        title_ids = self._tokenizer.encode(title, add_special_tokens=False).ids if title else []
        body = text[:MAX_BODY_CHARS]
        body_ids = self._tokenizer.encode(body, add_special_tokens=False).ids if body else []
        ids = np.asarray(title_ids + body_ids[:MAX_BODY_TOKENS], dtype=np.int64)
        if ids.size == 0:
            return np.zeros(self._vectors.shape[1], dtype=np.float32)
        weights = self._token_weights[ids]
        weights[: len(title_ids)] *= TITLE_WEIGHT
        vector: FloatArray = weights @ self._vectors[ids]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def features(self, title: str, text: str) -> FloatArray:
        """What the head reads: the static vector, then the encoder's (when it has one)."""
        row: FloatArray = self._joined(self.embed(title, text)[None, :], [(title, text)])[0]
        return row

    def _joined(self, vectors: FloatArray, docs: Sequence[tuple[str, str]]) -> FloatArray:
        """Rows of static vectors, each followed by its document's encoder embedding."""
        if self._encoder is None:
            return vectors
        return np.concatenate([vectors, self._encoder.embed_many(docs)], axis=1)

    def probabilities(self, features: FloatArray) -> FloatArray:
        """One score per topic: calibrated and independent (one-vs-rest head), or a softmax
        (the earlier multinomial head). ``features`` is one row or a matrix of rows."""
        logits = features @ self._weights + self._bias
        if self._calibration is not None:
            slope, offset = self._calibration
            scores: FloatArray = 1.0 / (1.0 + np.exp(-(slope * logits + offset)))
            return scores
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        probs: FloatArray = exp / exp.sum(axis=-1, keepdims=True)
        return probs

    def classify(self, title: str, text: str) -> tuple[TopicScore, ...]:
        """Top-level topics (and strong second-level ones), best first."""
        return self.classify_many([(title, text)])[0]

    def classify_many(self, docs: Sequence[tuple[str, str]]) -> list[tuple[TopicScore, ...]]:
        """:meth:`classify` for each (title, text), in order, with one encoder run per
        batch of openings instead of one per article (the same topics, fewer CPU cycles)."""
        found: list[tuple[TopicScore, ...]] = [() for _ in docs]
        readable: list[int] = []
        vectors: list[FloatArray] = []
        for i, (title, text) in enumerate(docs):
            if not any(ch.isalnum() for ch in title) and not any(ch.isalnum() for ch in text):
                continue  # nothing to read: no words, no topics
            vector = self.embed(title, text)
            if vector.any():
                readable.append(i)
                vectors.append(vector)
        if not readable:
            return found
        static = np.stack(vectors)
        probs = self.probabilities(self._joined(static, [docs[i] for i in readable]))
        for row, i in enumerate(readable):
            found[i] = self._topics(static[row], probs[row])
        return found

    def _topics(self, vector: FloatArray, probs: FloatArray) -> tuple[TopicScore, ...]:
        order = np.argsort(-probs, kind="stable")
        chosen = [int(order[0])] + [int(i) for i in order[1:] if probs[i] >= self._min_score]
        topics = [self._score(self.codes[i], float(probs[i])) for i in chosen]
        topics.extend(self._strong_children(vector, probs, chosen))
        topics.sort(key=lambda t: (-t.score, t.code))
        return tuple(topics)

    def _score(self, code: str, score: float) -> TopicScore:
        return TopicScore(code=code, label=self.labels[code], score=round(score, SCORE_DECIMALS))

    def _strong_children(
        self, vector: FloatArray, probs: FloatArray, chosen: list[int]
    ) -> list[TopicScore]:
        """Second-level topics where the evidence is strong.

        A child needs (1) its parent reported with probability >= CHILD_PARENT_MIN,
        (2) cosine similarity >= CHILD_MIN_SIMILARITY to its prototype, and (3) a lead of
        CHILD_MARGIN over the best sibling. Its score is the parent's probability times
        how far the similarity clears the bar, so a child never outranks its parent.
        """
        found: list[TopicScore] = []
        for parent in chosen:
            if probs[parent] < CHILD_PARENT_MIN:
                continue
            siblings = [c for c in self._children if c.parent == parent]
            if not siblings:
                continue
            sims = np.array([float(vector @ c.prototype) for c in siblings])
            order = np.argsort(-sims)
            best = int(order[0])
            runner_up = float(sims[order[1]]) if len(siblings) > 1 else -1.0
            if sims[best] >= CHILD_MIN_SIMILARITY and sims[best] - runner_up >= CHILD_MARGIN:
                strength = min(1.0, (sims[best] - CHILD_MIN_SIMILARITY) / 0.2 + 0.5)
                found.append(self._score(siblings[best].code, float(probs[parent]) * strength))
        return found
