"""Train the IPTC head and write the model files the classifier loads (offline).

    python -m tools.iptc.distill --out build/iptc/vectors.npz     # once, needs torch
    python -m tools.iptc.train --vectors build/iptc/vectors.npz   # writes the model files
    python -m tools.iptc.train --vectors build/iptc/vectors.npz --evaluate-only

Steps: token weights from document frequencies in the training texts; document vectors
with the run-time code (:class:`feeds.analysis.iptc.classifier.IptcClassifier`);
multinomial logistic regression (scikit-learn) with classes balanced; prototypes of
second-level topics; evaluation on the tuning and test sets (see ``datasets.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from feeds.analysis.iptc import MODEL_DIR
from feeds.analysis.iptc.classifier import IptcClassifier
from tools.iptc import datasets
from tools.iptc.datasets import Example

SOURCE_WEIGHT = {"huffpost": 1.0, "iptc": 1.0, "seed": 3.0, "keywords": 1.0}
C = 1.0


def tokenizer() -> Tokenizer:
    from tools.iptc.distill import model_dir

    return Tokenizer.from_file(str(model_dir() / "tokenizer.json"))


def token_weights(tok: Tokenizer, texts: list[str], vocab: int) -> np.ndarray:
    """Smoothed inverse document frequency; unseen tokens get the median weight."""
    df: Counter[int] = Counter()
    tok.no_truncation()
    tok.no_padding()
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        df.update(set(enc.ids))
    n = len(texts)
    weights = np.zeros(vocab, dtype=np.float32)
    for token, count in df.items():
        weights[token] = math.log((n + 1) / (count + 1))
    seen = weights > 0
    weights[~seen] = float(np.median(weights[seen]))
    return weights


def embed_all(model: IptcClassifier, examples: list[Example]) -> np.ndarray:
    return np.stack([model.embed(e.title, e.text) for e in examples])


def evaluate(model: IptcClassifier, examples: list[Example]) -> dict[str, float]:
    codes = model.codes
    top1 = top2 = 0
    pairs: list[tuple[str, str]] = []
    for e in examples:
        probs = model.probabilities(model.embed(e.title, e.text))
        order = [codes[i] for i in np.argsort(-probs)]
        top1 += order[0] in e.labels
        top2 += bool(set(order[:2]) & set(e.labels))
        gold = order[0] if order[0] in e.labels else e.labels[0]
        pairs.append((gold, order[0]))
    return {
        "n": len(examples),
        "top1": top1 / len(examples),
        "top2": top2 / len(examples),
        "macro_f1": macro_f1(pairs),
    }


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro-F1 over the classes present in the gold labels."""
    classes = sorted({g for g, _ in pairs})
    scores = []
    for c in classes:
        tp = sum(1 for g, p in pairs if g == c and p == c)
        fp = sum(1 for g, p in pairs if g != c and p == c)
        fn = sum(1 for g, p in pairs if g == c and p != c)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def child_prototypes(
    model: IptcClassifier, taxonomy: dict[str, dict[str, object]]
) -> tuple[list[str], np.ndarray]:
    """A unit vector per second-level topic: its name, definition and descendants' names."""
    codes, protos = [], []
    for code, row in taxonomy.items():
        if row["level2"] != code:
            continue
        texts = [(str(row["label"]), str(row["definition"]))]
        texts += [
            (str(r["label"]), "")
            for c, r in taxonomy.items()
            if r["level2"] == code and c != code
        ]
        vec = np.mean([model.embed(t, d) for t, d in texts], axis=0)
        codes.append(code)
        protos.append(vec / np.linalg.norm(vec))
    return codes, np.stack(protos).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--evaluate-only", action="store_true")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    tok = tokenizer()
    vectors = np.load(args.vectors)["vectors"].astype(np.float32)
    train_hp, tune = datasets.huffpost_split()
    train = (
        train_hp
        + datasets.taxonomy_examples()
        + datasets.seed_examples()
        + datasets.keyword_examples()
    )
    weights = token_weights(tok, [f"{e.title} {e.text}" for e in train], vectors.shape[0])
    taxonomy = datasets.iptc_taxonomy()
    top_codes = sorted({e.labels[0] for e in train})

    blank = np.zeros((vectors.shape[1], len(top_codes)), dtype=np.float32)
    embedder = IptcClassifier(
        tok, vectors, weights, blank, np.zeros(len(top_codes), np.float32), tuple(top_codes),
        {c: str(taxonomy[c]["label"]) for c in top_codes},
    )
    x = embed_all(embedder, train)
    y = np.array([top_codes.index(e.labels[0]) for e in train])
    sample_weight = np.array([SOURCE_WEIGHT[e.source] for e in train])
    counts = Counter(y.tolist())
    sample_weight *= np.array([len(y) / (len(counts) * counts[k]) for k in y])
    clf = LogisticRegression(C=C, max_iter=3000)
    clf.fit(x, y, sample_weight=sample_weight)

    child_codes, protos = child_prototypes(embedder, taxonomy)
    keep = [i for i, c in enumerate(child_codes) if taxonomy[c]["level1"] in top_codes]
    head = {
        "codes": np.array(top_codes),
        "weights": clf.coef_.T.astype(np.float32),
        "bias": clf.intercept_.astype(np.float32),
        "token_weights": weights.astype(np.float16),
        "child_codes": np.array([child_codes[i] for i in keep]),
        "child_prototypes": protos[keep],
    }
    used = set(top_codes) | set(head["child_codes"].tolist())
    tax_json = {
        "source": "IPTC NewsCodes Media Topics, https://cv.iptc.org/newscodes/mediatopic/",
        "licence": "CC BY 4.0 (IPTC); only the codes, labels and parents used here",
        "topics": {
            c: {"label": taxonomy[c]["label"], "parent": taxonomy[c]["level1"] if c not in
                top_codes else None}
            for c in sorted(used)
        },
    }
    model = IptcClassifier.from_arrays(tok, vectors.astype(np.float16), head, tax_json)

    report = {
        "tune (HuffPost held-out, weak labels)": evaluate(model, tune),
        "huffpost-news (hand-labelled)": evaluate(model, datasets.huffpost_news_test()),
        "ecbplus (hand-labelled, full articles)": evaluate(model, datasets.ecbplus_test()),
        "huffpost-final (held-out, hand-labelled)": evaluate(
            model, datasets.huffpost_news_test("huffpost_news_final.tsv")
        ),
    }
    for name, scores in report.items():
        print(f"{name:42} " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else
                                          f"{k}={v}" for k, v in scores.items()))
    seed = datasets.seed_article()
    print("seed article:", [(t.code, t.label, t.score) for t in model.classify(seed.title,
                                                                              seed.text)])
    if args.evaluate_only:
        return
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", vectors.astype(np.float16))
    np.savez_compressed(out / "head.npz", **head)
    (out / "taxonomy.json").write_text(json.dumps(tax_json, indent=1) + "\n", encoding="utf-8")
    from tools.iptc.distill import model_dir

    shutil.copyfile(model_dir() / "tokenizer.json", out / "tokenizer.json")
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())
            if p.suffix in {".npy", ".npz", ".json"}}
    (out / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    (out / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
