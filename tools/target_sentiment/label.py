"""Let the trained teacher label harvested mentions with soft probabilities (step 3).

Reads the mentions of :mod:`tools.target_sentiment.harvest`, runs the teacher
(``train.py --teacher`` output: ``model.pt`` on the pinned mpnet; or, with ``--onnx``, the
exported accurate model that ships in ``model_large/``, so that labelling needs neither the
1.3 GB checkpoint nor a rerun of the teacher's training), and writes one line per
mention with the teacher's probabilities (negative, neutral, positive) and a loss weight
for the student. Sentences whose mentions the teacher reads with *different* classes get
``--differ-weight``: the student is weakest where one sentence treats two actors apart.
The output keeps the mention's text; ``--public`` also writes the committed form, which
carries only a key per mention (:func:`mention_key`), its source, the probabilities and the
weight: the text stays in the shared data it came from (HuffPost's licence keeps it out of
the repository), and training joins the labels back onto a fresh harvest by key. So the
student can be retrained in minutes without the teacher::

    python -m tools.target_sentiment.label --teacher build/teacher/run1 \
        --mentions build/teacher/mentions.jsonl --out build/teacher/soft.jsonl \
        --public tools/target_sentiment/soft_labels.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np


def mention_key(sentence: str, start: int, end: int, others: list) -> str:  # type: ignore[type-arg]
    """A stable key of one harvested mention (its sentence, span and other targets)."""
    raw = json.dumps([sentence, start, end, [list(o) for o in others]], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def publish(labelled: Path, public: Path) -> None:
    """The committed form of ``labelled``: keys instead of text."""
    with public.open("w", encoding="utf-8") as out:
        for line in labelled.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            key = mention_key(r["sentence"], r["start"], r["end"], r["others"])
            row = {
                "key": key,
                "source": r.get("source", ""),
                "probs": r["probs"],
                "weight": r["weight"],
            }
            out.write(json.dumps(row) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--teacher", type=Path, help="folder with model.pt (PyTorch)")
    which.add_argument(
        "--onnx", type=Path, help="folder with model.onnx and tokenizer.json (run-time form)"
    )
    parser.add_argument(
        "--encoder", type=Path, default=None, help="base model folder (default: the mpnet)"
    )
    parser.add_argument("--mentions", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--public", type=Path, default=None, help="also write the textless form")
    parser.add_argument("--differ-weight", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.mentions.read_text(encoding="utf-8").splitlines()]
    began = time.time()
    if args.onnx:
        weights = args.onnx / "model.onnx"
        probs = _onnx_probabilities(args.onnx, rows, args.threads)
    else:
        weights = args.teacher / "model.pt"
        probs = _torch_probabilities(args.teacher, args.encoder, rows, args.threads)
    classes: dict[str, set[int]] = {}
    for r, p in zip(rows, probs, strict=True):
        classes.setdefault(r["sentence"], set()).add(int(p.argmax()))
    with args.out.open("w", encoding="utf-8") as out:
        for r, p in zip(rows, probs, strict=True):
            differ = len(classes[r["sentence"]]) > 1
            line = {
                **r,
                "probs": [round(float(x), 4) for x in p],
                "weight": args.differ_weight if differ else 1.0,
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    if args.public:
        publish(args.out, args.public)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    print(
        json.dumps(
            {
                "mentions": len(rows),
                "seconds": round(time.time() - began),
                "teacher_sha256": digest,  # model.pt or model.onnx
                "share_negative_neutral_positive": [
                    round(float((probs.argmax(-1) == c).mean()), 3) for c in range(3)
                ],
            }
        )
    )
    return 0


def _torch_probabilities(
    teacher: Path,
    encoder_dir: Path | None,
    rows: list[dict],
    threads: int,  # type: ignore[type-arg]
) -> np.ndarray:
    import torch

    from tools.encoders import mpnet_dir
    from tools.target_sentiment import train

    torch.set_num_threads(threads)
    folder = encoder_dir or mpnet_dir()
    model = train.TargetClassifier(folder, 0.0)
    model.load_state_dict(torch.load(teacher / "model.pt", map_location="cpu"))
    encoder = train.Encoder(folder / "tokenizer.json")
    pad_id = encoder.tok.token_to_id("<pad>") or 0
    items = [
        (*encoder.encode(r["sentence"], r["start"], r["end"], r["others"]), 1, 1.0, False, False)
        for r in rows
    ]
    return train.probabilities(model, items, pad_id)


def _onnx_probabilities(folder: Path, rows: list[dict], threads: int) -> np.ndarray:  # type: ignore[type-arg]
    from feeds.analysis.targeted.onnx_model import OnnxTargetSentiment
    from feeds.models import TargetInSentence

    model = OnnxTargetSentiment(folder, threads=threads)
    out = np.zeros((len(rows), 3), dtype=np.float32)
    step = 2000  # progress now and then: a large harvest takes minutes
    for k in range(0, len(rows), step):
        chunk = rows[k : k + step]
        targets = [
            TargetInSentence(
                r["sentence"], r["start"], r["end"], tuple(tuple(o) for o in r["others"])
            )
            for r in chunk
        ]
        for j, p in enumerate(model.predict(targets)):
            out[k + j] = (p.negative, p.neutral, p.positive)
        print(time.strftime("%H:%M:%S"), f"labelled {k + len(chunk)}/{len(rows)}", flush=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
