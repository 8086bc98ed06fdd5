"""Build the topic classifier's run-time sentence encoder from all-MiniLM-L6-v2 (offline).

    python -m tools.iptc.export_encoder --out build/iptc/encoder
    cp build/iptc/encoder/model.onnx build/iptc/encoder/tokenizer.json \
        feeds/analysis/iptc/minilm/

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns
``embedding``: the mean of the last layer over the real word pieces, scaled to unit length,
exactly how sentence-transformers pools this model. The transformer is the pinned,
unchanged pre-trained model (``tools.iptc.distill.model_dir`` checks its files); nothing
is fine-tuned, so the encoder keeps what it learned from its billion training pairs and
only the small head on top (``tools/iptc/train.py``) is ours.

The graph is written by the same builder as the target-sentiment model
(``tools/target_sentiment/graph.py``): fused int8 kernels, weights per output column,
activation scales fixed by calibration on HuffPost training items, so an article's
embedding does not depend on what else is in its batch. The script prints how far the
int8 embeddings are from the float ones on held-back items.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from tokenizers import Tokenizer

from feeds.analysis.targeted.encoding import pack
from tools.iptc import datasets
from tools.iptc.distill import model_dir
from tools.target_sentiment import graph

# Calibration items are read to 128 word pieces, more than the run-time setting, so the
# fixed activation ranges also cover a longer opening should a head be trained on one.
MAX_TOKENS = 128
CALIBRATION_ITEMS = 400


def _weights(folder: Path) -> dict[str, np.ndarray]:
    """The pinned model's weights under the names the graph builder reads."""
    from safetensors.numpy import load_file

    return {
        f"encoder.{k}": v.astype(np.float32)
        for k, v in load_file(folder / "model.safetensors").items()
    }


def _texts(lines: list[int]) -> list[str]:
    rows = datasets.huffpost_rows()
    return [f"{rows[i]['headline']}. {rows[i]['short_description']}" for i in lines]


def _rows(tok: Tokenizer, texts: list[str]) -> list[tuple[list[int], list[int], list[int]]]:
    out = []
    for enc in tok.encode_batch(texts):
        out.append((enc.ids, [0] * len(enc.ids), [0] * len(enc.ids)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    folder = model_dir()
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    w = _weights(folder)
    # calibration: training items only (never an evaluation line)
    lines = datasets.huffpost_train_lines()
    random.Random(7).shuffle(lines)
    calibration = _rows(tok, _texts(lines[:CALIBRATION_ITEMS]))
    ranges = graph.calibrate(w, calibration, sentence=True)
    args.out.mkdir(parents=True, exist_ok=True)
    float_model = graph.build_graph(w, sentence=True)
    int8 = args.out / "model.onnx"
    onnx.save(graph.build_graph(w, ranges, sentence=True), str(int8))
    shutil.copy(folder / "tokenizer.json", args.out / "tokenizer.json")

    check = _rows(tok, _texts(datasets.huffpost_tune_lines()[:200]))
    sessions = [
        onnxruntime.InferenceSession(m, providers=["CPUExecutionProvider"])
        for m in (float_model.SerializeToString(), str(int8))
    ]
    cosines = []
    for row in check:
        feed = pack([row])
        del feed["target_mask"]
        a, b = (s.run(["embedding"], feed)[0][0] for s in sessions)
        cosines.append(float(a @ b))
    print(
        f"{int8}: {int8.stat().st_size} bytes; cosine int8 vs float on 200 tune items: "
        f"mean {np.mean(cosines):.4f}, min {np.min(cosines):.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
