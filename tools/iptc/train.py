"""Train the IPTC head and write the model files the classifier loads (offline).

    python -m tools.iptc.distill --out build/iptc/vectors.npz     # once, needs torch
    python -m tools.iptc.train --vectors build/iptc/vectors.npz   # writes the model files
    python -m tools.iptc.teacher --out build/iptc/teacher.npz     # once, needs torch
    python -m tools.iptc.train --vectors build/iptc/vectors.npz --teacher build/iptc/teacher.npz
    python -m tools.iptc.train ... --evaluate-only                # development sets only

Steps: token weights from document frequencies in the training texts; document vectors
with the run-time code (:class:`feeds.analysis.iptc.classifier.IptcClassifier`);
multinomial logistic regression (scikit-learn) with classes balanced; prototypes of
second-level topics; evaluation on the development sets (see ``datasets.py``).

With ``--teacher``, HuffPost items of the mixed sections (and, softly, of the mapped
ones) are added with the class probabilities of the full transformer (see ``teacher.py``):
one training row per class the teacher gives at least :data:`TEACHER_MIN_PROB`, weighted
by that probability. The held-out sets are scored only when the model files are written
(not with ``--evaluate-only``), so that comparing settings never looks at them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from feeds.analysis.iptc import MODEL_DIR
from feeds.analysis.iptc.classifier import IptcClassifier
from tools.iptc import datasets
from tools.iptc.datasets import Example

SOURCE_WEIGHT = {
    "huffpost": 1.0,
    "iptc": 1.0,
    "seed": 3.0,
    "keywords": 1.0,
    "teacher": 1.0,
    "ecbplus": 1.0,
}
C = 1.0
TEACHER_MIN_PROB = 0.2
TEACHER_C = 0.25  # strong regularisation transfers best to news outside HuffPost's sections
# The head is trained with classes balanced; this much of log(teacher prior over general
# news) is added back to its bias, since news is not uniform over the 17 topics.
PRIOR = 0.5
# How much a mapped HuffPost item's own section label counts against the teacher's reading
# of it (1.0: the section only; 0.0: the teacher only).
SECTION_SHARE = 0.5


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


def evaluate(model: IptcClassifier, examples: list[Example]) -> dict[str, float]:
    codes = model.codes
    top1 = top2 = 0
    pairs: list[tuple[str, str]] = []
    for e in examples:
        probs = model.probabilities(model.features(e.title, e.text))
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


def one_vs_rest(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, n: int, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """One binary logistic regression per topic, each topic's rows weighing as much as all
    the others together: (weights [dims, n], bias [n]).

    Independent per-topic scores are what multi-label output needs: an article about a
    war's politics can be likely conflict *and* likely politics, which a softmax, whose
    scores share one unit of mass, can only say by halving both.
    """
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((x.shape[1], n), dtype=np.float32)
    bias = np.zeros(n, dtype=np.float32)
    for k in range(n):
        positive = y == k
        w = weights.copy()
        w[positive] *= weights.sum() / (2 * weights[positive].sum())
        w[~positive] *= weights.sum() / (2 * weights[~positive].sum())
        clf = LogisticRegression(C=c, max_iter=3000).fit(x, positive.astype(int), sample_weight=w)
        coef[:, k] = clf.coef_[0]
        bias[k] = clf.intercept_[0]
    return coef, bias


def fit_calibration(
    logits: np.ndarray, examples: list[Example], codes: list[str]
) -> tuple[float, float]:
    """Platt scaling shared by all topics: P(topic acceptable) = sigmoid(a * logit + b),
    fitted on every (item, topic) pair of a hand-labelled set, whose acceptable sets are
    multi-label."""
    from sklearn.linear_model import LogisticRegression

    target = np.array([[c in e.labels for c in codes] for e in examples], dtype=int)
    platt = LogisticRegression(C=100.0).fit(logits.reshape(-1, 1), target.reshape(-1))
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def choose_min_score(probs: np.ndarray, examples: list[Example], codes: list[str]) -> float:
    """The reporting threshold for topics after the first that gives the best F1 between
    the reported topics and the acceptable ones on a hand-labelled set."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.2, 0.81, 0.05):
        tp = fp = fn = 0
        for p, e in zip(probs, examples, strict=True):
            order = np.argsort(-p)
            shown = {codes[order[0]]} | {codes[k] for k in order[1:] if p[k] >= threshold}
            tp += len(shown & set(e.labels))
            fp += len(shown - set(e.labels))
            fn += len(set(e.labels) - shown)
        f1 = 2 * tp / (2 * tp + fp + fn)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = round(float(threshold), 2), f1
    return best


def reliability(model: IptcClassifier, examples: list[Example]) -> list[dict[str, float]]:
    """Every reported topic (score >= MIN_SCORE) binned by score: how often it is acceptable."""
    from feeds.analysis.iptc.classifier import MIN_SCORE

    bins = [(MIN_SCORE, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 1.01)]
    hits = {b: [0, 0, 0.0] for b in bins}
    for e in examples:
        probs = model.probabilities(model.features(e.title, e.text))
        for k, p in enumerate(probs):
            for low, high in bins:
                if low <= p < high:
                    hits[(low, high)][0] += 1
                    hits[(low, high)][1] += model.codes[k] in e.labels
                    hits[(low, high)][2] += float(p)
    return [
        {"from": low, "to": min(high, 1.0), "n": n, "mean_score": s / n, "right": ok / n}
        for (low, high), (n, ok, s) in hits.items()
        if n
    ]


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
            (str(r["label"]), "") for c, r in taxonomy.items() if r["level2"] == code and c != code
        ]
        vec = np.mean([model.embed(t, d) for t, d in texts], axis=0)
        codes.append(code)
        protos.append(vec / np.linalg.norm(vec))
    return codes, np.stack(protos).astype(np.float32)


def teacher_rows(
    path: Path, mode: str, section_share: float, teacher_c: float
) -> tuple[list[Example], list[str], list[float], dict[str, float]]:
    """Training rows from the teacher's probabilities, and the teacher's class prior.

    ``mode``: "mixed" labels the mixed sections only; "all" also blends the teacher's
    reading into the mapped sections' items (their section label keeps ``section_share``).
    The prior is the teacher's mean probability over the mixed sections: what general news
    looks like, estimated without any hand label.
    """
    from tools.iptc.teacher import teacher_probabilities

    with np.load(path) as npz:
        teacher = {k: npz[k] for k in npz.files}
    codes, probs = teacher_probabilities(teacher, teacher_c)
    rows = datasets.huffpost_rows()
    excluded = {int(i) for i in datasets.evaluation_lines()}
    excluded |= set(datasets.huffpost_tune_lines())
    train_lines = set(datasets.huffpost_train_lines())
    examples: list[Example] = []
    labels: list[str] = []
    weights: list[float] = []
    mixed = []
    for line, row in enumerate(rows):
        if line in excluded:
            continue
        is_mixed = row["category"] in datasets.MIXED_SECTIONS
        if is_mixed:
            mixed.append(line)
            share = 1.0
        elif mode == "all" and line in train_lines:
            share = 1.0 - section_share
        else:
            continue
        ex = Example(row["headline"], row["short_description"], (), "teacher")
        for k in np.flatnonzero(probs[line] >= TEACHER_MIN_PROB):
            examples.append(ex)
            labels.append(codes[int(k)])
            weights.append(share * float(probs[line, k]))
    prior = probs[mixed].mean(axis=0)
    return examples, labels, weights, {c: float(p) for c, p in zip(codes, prior, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, required=True)
    parser.add_argument("--teacher", type=Path, help="embeddings from tools.iptc.teacher")
    parser.add_argument("--teacher-mode", choices=("mixed", "all"), default="all")
    parser.add_argument("--teacher-c", type=float, default=TEACHER_C)
    parser.add_argument("--section-share", type=float, default=SECTION_SHARE)
    parser.add_argument(
        "--no-keywords", action="store_true", help="leave out the keyword weak labels"
    )
    parser.add_argument("--c", type=float, default=C)
    parser.add_argument("--seed-weight", type=float, default=SOURCE_WEIGHT["seed"])
    parser.add_argument(
        "--prior",
        type=float,
        default=PRIOR,
        help="add this times log(teacher prior) to the head's bias",
    )
    parser.add_argument("--balance", choices=("count", "mass"), default="mass")
    parser.add_argument("--title-weight", type=float, default=None)
    parser.add_argument(
        "--encoder",
        type=Path,
        help="the sentence encoder folder (model.onnx, tokenizer.json) to read openings with",
    )
    parser.add_argument("--encoder-tokens", type=int, default=32)
    parser.add_argument(
        "--head", choices=("ovr", "softmax"), default="ovr", help="one-vs-rest or multinomial"
    )
    parser.add_argument(
        "--no-ecbplus", action="store_true", help="leave ECB+ topics 1-10 out of training"
    )
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--evaluate-only", action="store_true")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    if args.title_weight is not None:
        import feeds.analysis.iptc.classifier as classifier_module

        classifier_module.TITLE_WEIGHT = args.title_weight
    source_weight = dict(SOURCE_WEIGHT, seed=args.seed_weight)
    tok = tokenizer()
    vectors = np.load(args.vectors)["vectors"].astype(np.float32)
    train_hp, tune = datasets.huffpost_split()
    train = train_hp + datasets.taxonomy_examples() + datasets.seed_examples()
    if not args.no_keywords:
        train += datasets.keyword_examples()
    ecb_train, ecb_held_out = datasets.ecbplus_split()
    if not args.no_ecbplus:
        train += ecb_train
    labels = [e.labels[0] for e in train]
    row_weights = [source_weight[e.source] for e in train]
    if args.teacher and args.teacher_mode == "all":
        row_weights = [
            w * args.section_share if e.source == "huffpost" else w
            for w, e in zip(row_weights, train, strict=True)
        ]
    idf_texts = [f"{e.title} {e.text}" for e in train]
    prior: dict[str, float] = {}
    if args.teacher:
        t_examples, t_labels, t_weights, prior = teacher_rows(
            args.teacher, args.teacher_mode, args.section_share, args.teacher_c
        )
        train += t_examples
        labels += t_labels
        row_weights += t_weights
        idf_texts += list(dict.fromkeys(f"{e.title} {e.text}" for e in t_examples))
    weights = token_weights(tok, idf_texts, vectors.shape[0])
    taxonomy = datasets.iptc_taxonomy()
    top_codes = sorted(set(labels))

    encoder = None
    width = vectors.shape[1]
    if args.encoder:
        from feeds.analysis.iptc.encoder import DIMENSIONS, SentenceEncoder

        encoder = SentenceEncoder(args.encoder, max_tokens=args.encoder_tokens)
        width += DIMENSIONS
    blank = np.zeros((width, len(top_codes)), dtype=np.float32)
    embedder = IptcClassifier(
        tok,
        vectors,
        weights,
        blank,
        np.zeros(len(top_codes), np.float32),
        tuple(top_codes),
        {c: str(taxonomy[c]["label"]) for c in top_codes},
        encoder=encoder,
    )
    cache: dict[tuple[str, str], np.ndarray] = {}
    for e in train:
        if (e.title, e.text) not in cache:
            cache[(e.title, e.text)] = embedder.features(e.title, e.text)
    x = np.stack([cache[(e.title, e.text)] for e in train])
    y = np.array([top_codes.index(code) for code in labels])
    sample_weight = np.array(row_weights)
    # Classes balanced by their total weight, so a class with many weak rows does not win
    # by count.
    mass = np.bincount(
        y, weights=None if args.balance == "count" else sample_weight, minlength=len(top_codes)
    )
    sample_weight *= mass.sum() / (len(top_codes) * mass[y])
    extra: dict[str, np.ndarray] = {}
    if args.head == "softmax":
        clf = LogisticRegression(C=args.c, max_iter=3000)
        clf.fit(x, y, sample_weight=sample_weight)
        coef, bias = clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32)
    else:
        # per-topic balance is done inside; undo the multinomial balancing above
        coef, bias = one_vs_rest(x, y, np.array(row_weights), len(top_codes), args.c)
    if args.prior and prior:
        bias = bias + np.float32(args.prior) * np.log(
            np.array([prior[c] for c in top_codes], dtype=np.float32)
        )
    if args.head == "ovr":
        # Calibration on the hand-labelled development set (never a training item).
        calibration = datasets.huffpost_news_test()
        raw = np.stack([embedder.features(e.title, e.text) for e in calibration]) @ coef + bias
        slope, offset = fit_calibration(raw, calibration, top_codes)
        probs = 1 / (1 + np.exp(-(slope * raw + offset)))
        extra["calibration"] = np.array([slope, offset], dtype=np.float32)
        extra["min_score"] = np.float32(choose_min_score(probs, calibration, top_codes))
        print("calibration", extra["calibration"], "min score", extra["min_score"])

    child_codes, protos = child_prototypes(embedder, taxonomy)
    keep = [i for i, c in enumerate(child_codes) if taxonomy[c]["level1"] in top_codes]
    head = {
        "codes": np.array(top_codes),
        "weights": coef,
        "bias": bias,
        "token_weights": weights.astype(np.float16),
        "child_codes": np.array([child_codes[i] for i in keep]),
        "child_prototypes": protos[keep],
        **extra,
    }
    if encoder is not None:
        head["encoder_tokens"] = np.int32(args.encoder_tokens)
    used = set(top_codes) | set(head["child_codes"].tolist())
    tax_json = {
        "source": "IPTC NewsCodes Media Topics, https://cv.iptc.org/newscodes/mediatopic/",
        "licence": "CC BY 4.0 (IPTC); only the codes, labels and parents used here",
        "topics": {
            c: {
                "label": taxonomy[c]["label"],
                "parent": taxonomy[c]["level1"] if c not in top_codes else None,
            }
            for c in sorted(used)
        },
    }
    model = IptcClassifier.from_arrays(tok, vectors.astype(np.float16), head, tax_json, encoder)

    report: dict[str, Any] = {
        "tune (HuffPost held-out, weak labels)": evaluate(model, tune),
        "huffpost-news (hand-labelled)": evaluate(model, datasets.huffpost_news_test()),
        "ecbplus (hand-labelled, full articles)": evaluate(model, datasets.ecbplus_test()),
        "ecbplus topics 11-20 (not trained on)": evaluate(model, ecb_held_out),
    }
    if not args.evaluate_only:
        # Held-out: scored once, when the settings are fixed and the files are written.
        report["huffpost-final (held-out, hand-labelled)"] = evaluate(
            model, datasets.huffpost_news_test("huffpost_news_final.tsv")
        )
        report["huffpost-holdout2 (held-out, hand-labelled)"] = evaluate(
            model, datasets.huffpost_news_test("huffpost_news_holdout2.tsv")
        )
        held_out = (
            datasets.huffpost_news_test("huffpost_news_final.tsv")
            + datasets.huffpost_news_test("huffpost_news_holdout2.tsv")
            + ecb_held_out
        )
        report["reliability (held-out sets together)"] = reliability(model, held_out)
    for name, scores in report.items():
        if isinstance(scores, list):
            for row in scores:
                print(f"{name:44} " + "  ".join(f"{k}={v:.3f}" for k, v in row.items()))
            continue
        print(
            f"{name:44} "
            + "  ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in scores.items()
            )
        )
    seed = datasets.seed_article()
    print(
        "seed article:", [(t.code, t.label, t.score) for t in model.classify(seed.title, seed.text)]
    )
    if args.evaluate_only:
        return
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", vectors.astype(np.float16))
    np.savez_compressed(out / "head.npz", **head)
    (out / "taxonomy.json").write_text(json.dumps(tax_json, indent=1) + "\n", encoding="utf-8")
    from tools.iptc.distill import model_dir

    shutil.copyfile(model_dir() / "tokenizer.json", out / "tokenizer.json")
    (out / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n")
    # Last, so that the checksums cover every file written above.
    sums = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.iterdir())
        if p.suffix in {".npy", ".npz", ".json"}
    }
    (out / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
