"""The fine-tuned target-sentiment classifier, run with ONNX Runtime (no training stack).

The model folder holds ``model.onnx`` (int8-quantised) and ``tokenizer.json``; the
committed one lives next to this module (see ``model/MODEL.md`` for how it was made).
Each process runs the model on one intra-op thread: measured on two shared cores, one
thread per worker process degrades far less under load than two threads fighting
another busy process, and Celery scales by processes anyway.

Inputs are built by :func:`~feeds.analysis.targeted.encoding.marked_pair`, the same
function the training script uses. Targets are sorted by length and run in batches of up
to :data:`_BATCH`, so padding stays small. The model's activations are quantised with
fixed, calibrated scales (``tools/target_sentiment/graph.py``), so a target reads the
same alone or in any batch; with the earlier per-run scales a reading depended on its
neighbours and the model had to run one target at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from feeds.analysis.targeted.encoding import (
    INPUTS,
    MAX_TOKENS,
    Row,
    encode_pair,
    marked_pair,
    pack,
)
from feeds.errors import ConfigError
from feeds.models import MentionSentiment, TargetInSentence

_BATCH = 8  # measured: about 15-25 % less CPU per target than one by one, no gain past 8


def packaged_model_dir() -> Path:
    """The folder of the fast model committed with the project (MiniLM, ``model/``)."""
    return Path(str(resources.files("feeds.analysis.targeted") / "model"))


def large_model_dir() -> Path:
    """The folder of the accurate model committed with the project (mpnet, ``model_large/``)."""
    return Path(str(resources.files("feeds.analysis.targeted") / "model_large"))


class OnnxTargetSentiment:
    """Implements :class:`feeds.ports.TargetSentimentModel`; build once per process."""

    def __init__(
        self, model_dir: Path | None = None, *, threads: int = 1, batch: int = _BATCH
    ) -> None:
        """``batch``: targets per run; 1 for a model with per-run (dynamic) activation
        scales, whose readings would otherwise depend on their neighbours."""
        folder = model_dir or packaged_model_dir()
        self._batch = batch
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 -- both libraries raise bare Exceptions
            raise ConfigError(
                f"cannot load the target-sentiment model from {folder}: {exc}"
            ) from None
        # a graph may not take every input (MPNet has no segment ids)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")

    def predict(self, targets: Sequence[TargetInSentence]) -> list[MentionSentiment]:
        """Class probabilities toward each target, in input order."""
        encoded = [self._encode(t) for t in targets]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
        out: list[MentionSentiment | None] = [None] * len(encoded)
        for k in range(0, len(order), self._batch):
            group = order[k : k + self._batch]
            probs = self._run([encoded[i] for i in group])
            for i, row in zip(group, probs, strict=True):
                out[i] = MentionSentiment(float(row[0]), float(row[1]), float(row[2]))
        return [p for p in out if p is not None]

    def _encode(self, target: TargetInSentence) -> Row:
        pair = marked_pair(target.sentence, target.start, target.end, target.others)
        return encode_pair(self._tokenizer, pair)

    def _run(self, rows: Sequence[Row]) -> np.ndarray:
        if len(rows) == 1:  # a lone target needs no padding: skip the mask bookkeeping
            one = [np.array([x], dtype=np.int64) for x in rows[0]]
            arrays = dict(zip(INPUTS, (one[0], np.ones_like(one[0]), one[1], one[2]), strict=True))
        else:
            arrays = pack(rows)
        feed = {name: value for name, value in arrays.items() if name in self._inputs}
        logits = np.asarray(self._session.run(["logits"], feed)[0], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]
