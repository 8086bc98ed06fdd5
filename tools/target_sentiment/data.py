"""The NewsMTSC training file as rows, the held-out split, and name swapping.

Shared by training and by the tools that need the split without PyTorch (harvesting).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

LABELS = {2.0: 0, 4.0: 1, 6.0: 2}  # negative, neutral, positive
NAMES = ("negative", "neutral", "positive")


def article_of(gid: str) -> str:
    return "_".join(gid.split("_")[:3])


def held_out(article: str, tenths: int) -> bool:
    digest = hashlib.sha256(article.encode()).digest()
    return digest[0] % 10 < tenths


def load(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        sentence = item["sentence_normalized"]
        targets = item["targets"]
        spans = [(t["from"], t["to"]) for t in targets]
        differ = len({t["polarity"] for t in targets}) > 1
        for target in targets:
            own = (target["from"], target["to"])
            rows.append(
                {
                    "article": article_of(target["Input.gid"]),
                    "sentence": sentence,
                    "start": target["from"],
                    "end": target["to"],
                    "others": [span for span in spans if span != own],
                    "label": LABELS[target["polarity"]],
                    "multi": len(targets) > 1,
                    "differ": differ,
                }
            )
    return rows


# a mention that is a bare name: up to four capitalised words ("Trump", "Nancy Pelosi")
_NAME = re.compile(r"[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}")


def name_pool(rows: list[dict[str, Any]]) -> list[str]:
    """Distinct mentions that are bare names, for :func:`swap_names`."""
    names = {r["sentence"][r["start"] : r["end"]] for r in rows}
    return sorted(n for n in names if _NAME.fullmatch(n))


def swap_names(
    rows: list[dict[str, Any]], pool: list[str], share: float, rng: random.Random
) -> list[dict[str, Any]]:
    """The rows with a ``share`` of their named mentions replaced by random names of the pool.

    The label stays: the tone toward a mention comes from what the sentence says about it,
    not from who it is. Trained this way the model cannot lean on a name's usual tone (which
    reads one tone for every actor of a sentence); it has to read the marked context.
    Other targets after the mention move with it; one that overlaps it is dropped.
    """
    out = []
    for r in rows:
        s, e = r["start"], r["end"]
        if share <= 0 or not _NAME.fullmatch(r["sentence"][s:e]) or rng.random() >= share:
            out.append(r)
            continue
        name = rng.choice(pool)
        shift = len(name) - (e - s)
        others = [
            (a + shift, b + shift) if a >= e else (a, b) for a, b in r["others"] if b <= s or a >= e
        ]
        sentence = r["sentence"][:s] + name + r["sentence"][e:]
        out.append({**r, "sentence": sentence, "end": s + len(name), "others": others})
    return out
