"""The full all-MiniLM-L6-v2 transformer as a teacher for the static student (offline).

The transformer is too slow to run per article at analysis time (tens of milliseconds for
a full article on two cores), but it reads short texts far better than a bag of static
token vectors. So it is used once, offline, to label more training text:

1. ``python -m tools.iptc.teacher --out build/iptc/teacher.npz`` embeds (mean pooling,
   unit length, as sentence-transformers does for this model) every HuffPost item of the
   shared sample, our seed sentences and the IPTC topic names and definitions. A few
   minutes with two threads.
2. :func:`teacher_probabilities` fits a logistic regression in the transformer's space on
   the same weak labels the student has (mapped HuffPost sections, seeds, IPTC names) and
   returns its class probabilities for every HuffPost item. ``train.py`` turns them into
   extra training examples for the student, above all for the mixed sections (U.S. NEWS,
   WORLD NEWS, IMPACT) that no section label covers.

Hand-labelled evaluation items are embedded too (the file is keyed by line), but
:func:`teacher_probabilities` never fits on them and ``train.py`` never trains on them.
The ECB+ articles are only embedded with ``--ecbplus`` to measure the teacher itself; they
are development data and never become training text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from tools.iptc import datasets
from tools.iptc.datasets import Example

MAX_TOKENS = 256  # the model was trained on at most 256 word pieces
BATCH = 64
THREADS = 2


def _text(e: Example) -> str:
    return f"{e.title}. {e.text}" if e.text else e.title


def encoder_dir(name: str) -> Path:
    """The pinned encoder ``name`` (``minilm`` or ``mpnet``), verified file by file."""
    if name == "mpnet":
        from tools.encoders import mpnet_dir

        return mpnet_dir()
    from tools.iptc.distill import model_dir

    return model_dir()


def embed(texts: list[str], encoder: str = "minilm") -> np.ndarray:
    """Sentence embeddings of ``texts`` with a pinned transformer (mean pooling, unit
    length: how sentence-transformers pools both models)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(THREADS)
    path = encoder_dir(encoder)
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    # Sorting by length keeps padding (wasted work) small.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = tok(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
            out[rows] = pooled.numpy()
    return out


def teacher_probabilities(
    teacher: dict[str, np.ndarray], c: float = 4.0
) -> tuple[list[str], np.ndarray]:
    """(codes, probabilities per HuffPost line) from a head fitted in the teacher's space."""
    codes, clf = fit_teacher(teacher, c)
    return codes, clf.predict_proba(teacher["huffpost"]).astype(np.float32)


def fit_teacher(teacher: dict[str, np.ndarray], c: float = 4.0) -> tuple[list[str], Any]:
    """A logistic-regression head in the teacher's space.

    Fitted on: HuffPost items of the mapped sections in the student's training split,
    the seed sentences (weight 3) and the IPTC names, classes balanced. The tuning split
    and every hand-labelled item stay out of the fit.
    """
    from sklearn.linear_model import LogisticRegression

    rows = datasets.huffpost_rows()
    train_lines = datasets.huffpost_train_lines()
    x_parts, y, w = [], [], []
    for line in train_lines:
        x_parts.append(teacher["huffpost"][line])
        y.append(f"medtop:{datasets.SECTION_TO_IPTC[rows[line]['category']]}")
        w.append(1.0)
    for vec, ex in zip(teacher["seed"], datasets.seed_examples(), strict=True):
        x_parts.append(vec)
        y.append(ex.labels[0])
        w.append(3.0)
    for vec, ex in zip(teacher["iptc"], datasets.taxonomy_examples(), strict=True):
        x_parts.append(vec)
        y.append(ex.labels[0])
        w.append(1.0)
    codes = sorted(set(y))
    yi = np.array([codes.index(v) for v in y])
    counts = np.bincount(yi, minlength=len(codes))
    weights = np.array(w) * (len(yi) / (len(codes) * counts[yi]))
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(np.stack(x_parts), yi, sample_weight=weights)
    return codes, clf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--encoder",
        choices=("minilm", "mpnet"),
        default="minilm",
        help="the teacher: all-MiniLM-L6-v2, or all-mpnet-base-v2 from its pinned parts",
    )
    parser.add_argument(
        "--ecbplus",
        action="store_true",
        help="also embed the ECB+ development articles (to score the teacher)",
    )
    args = parser.parse_args()
    rows = datasets.huffpost_rows()
    groups = {
        "huffpost": [f"{r['headline']}. {r['short_description']}" for r in rows],
        "seed": [_text(e) for e in datasets.seed_examples()],
        "iptc": [_text(e) for e in datasets.taxonomy_examples()],
    }
    if args.ecbplus:
        groups["ecbplus"] = [_text(e) for e in datasets.ecbplus_test()]
    arrays = {}
    for name, texts in groups.items():
        start = time.process_time()
        arrays[name] = embed(texts, args.encoder)
        print(f"{name}: {len(texts)} texts, {time.process_time() - start:.0f} s CPU")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
