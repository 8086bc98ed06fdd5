"""The topic classifier's sentence encoder: all-MiniLM-L6-v2 as one int8 ONNX graph.

It reads the opening of an article (the title, then the text) up to :data:`MAX_TOKENS`
word pieces and returns the unit-length sentence embedding, pooled as
sentence-transformers pools this model. The cost grows with the word pieces read (on two
shared cores about 0.3 ms each, docs/BENCHMARKS.md), so the encoder reads the
headline and lede only; the bag of static token vectors in :mod:`.classifier` covers the
rest of the body at almost no cost.

The graph is built by ``tools/iptc/export_encoder.py`` from the pinned, unchanged
pre-trained model (provenance in ``minilm/MODEL.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Tokenizer

from feeds.errors import ConfigError

# Word pieces read per article, [CLS] and [SEP] included: a headline and the start of
# the lede. The head records the value it was trained with (``encoder_tokens``); 32 read
# as well as 48 or 64 on the development sets at two thirds of the cost (BENCHMARKS).
MAX_TOKENS = 32
# Characters tokenised at most: even 128 word pieces of English take under 600.
MAX_CHARS = 600
DIMENSIONS = 384
# Openings read in one run of the graph: 16 rows of 32 word pieces fill the int8 kernels
# (4-16 measured alike, docs/BENCHMARKS.md) while a batch's padding stays small.
BATCH = 16


def packaged_encoder_dir() -> Path:
    return Path(str(resources.files("feeds.analysis.iptc") / "minilm"))


def opening(title: str, text: str) -> str:
    """What the encoder reads: the title as a sentence, then the text."""
    title, text = title.strip(), text[:MAX_CHARS].strip()
    if title and text:
        end = "" if title[-1] in ".!?:" else "."
        return f"{title}{end} {text}"
    return title or text


class SentenceEncoder:
    """Loads the graph once; one intra-op thread per process (workers scale by process)."""

    def __init__(self, directory: Path | None = None, *, max_tokens: int = MAX_TOKENS) -> None:
        folder = directory or packaged_encoder_dir()
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 -- both libraries raise bare Exceptions
            raise ConfigError(f"cannot load the topic encoder from {folder}: {exc}") from None
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens)

    def embed(self, title: str, text: str) -> npt.NDArray[np.float32]:
        """The unit-length embedding of the article's opening."""
        row: npt.NDArray[np.float32] = self.embed_many([(title, text)])[0]
        return row

    def embed_many(self, docs: Sequence[tuple[str, str]]) -> npt.NDArray[np.float32]:
        """One row per (title, text), in order: the openings read :data:`BATCH` at a time.

        A batch is padded to its longest opening and the padding masked out, and the
        graph's activation scales are fixed, so each row equals what :meth:`embed` gives
        for that document alone (to float rounding); batching only fills the int8
        kernels better (about 1.3 times the articles per CPU-second, docs/BENCHMARKS.md).
        """
        rows = np.empty((len(docs), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(docs), BATCH):
            chunk = docs[start : start + BATCH]
            encodings = self._tokenizer.encode_batch([opening(t, x) for t, x in chunk])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, encoding in enumerate(encodings):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            rows[start : start + len(chunk)] = self._session.run(["embedding"], feed)[0]
        return rows
