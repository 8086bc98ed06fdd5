"""Speed of the IPTC topic classifier alone, and of the query matcher.

    python bench/bench_topics.py [--articles N] [--compare OLD_MODEL_DIR] [--batch 25]
    python bench/bench_topics.py --encoder-sweep

``--compare`` times a second set of model files (e.g. the previous model, written out
with ``git show``) in the same run, interleaved, so the ratio survives a noisy machine.
Throughput with two processes (each its own model, as analysis workers have) is reported
as articles per second of wall time.

Reads full articles (ECB+) and short items (HuffPost) from the shared data folder
(``NEWSMON_SHARED_DIR``, default ``../shared``) and reports milliseconds per document,
single-threaded and with two threads (the tokenizer and NumPy release the GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from feeds.analysis.iptc import MODEL_DIR, IptcClassifier
from feeds.query import Searchable, matches, parse

SHARED = Path(os.environ.get("NEWSMON_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def documents(limit: int) -> dict[str, list[tuple[str, str]]]:
    ecb = []
    for line in (SHARED / "data/ecbplus/dev.jsonl").read_text().splitlines():
        title, _, body = json.loads(line)["text"].partition("\n")
        ecb.append((title, body))
    huffpost = SHARED / "data/huffpost/News_Category_Dataset_v3_first10000.json"
    rows = map(json.loads, huffpost.read_text().splitlines()[:limit])
    hp = [(row["headline"], row["short_description"]) for row in rows]
    seed = (SHARED / "seeds/000_30ea7d5ece656d38.txt").read_text()
    seed_title, _, seed_body = seed.partition("\n")
    return {
        "full articles (ECB+)": ecb[:limit],
        "short items (HuffPost)": hp,
        "seed article x50": [(seed_title, seed_body)] * 50,
    }


def cpu_ms(fn, docs) -> float:  # type: ignore[no-untyped-def]
    """Process CPU time per document: what a busy, shared machine cannot inflate."""
    fn(*docs[0])
    start = time.process_time()
    for doc in docs:
        fn(*doc)
    return (time.process_time() - start) * 1000 / len(docs)


def cpu_ms_batched(model: IptcClassifier, docs: list[tuple[str, str]], batch: int) -> float:
    """The same, with the documents handed over ``batch`` at a time (``classify_many``)."""
    model.classify_many(docs[:batch])
    start = time.process_time()
    for i in range(0, len(docs), batch):
        model.classify_many(docs[i : i + batch])
    return (time.process_time() - start) * 1000 / len(docs)


def per_doc_ms(fn, docs, threads: int) -> float:  # type: ignore[no-untyped-def]
    fn(*docs[0])  # warm up
    start = time.perf_counter()
    if threads == 1:
        for doc in docs:
            fn(*doc)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda d: fn(*d), docs))
    return (time.perf_counter() - start) * 1000 / len(docs)


_loaded: dict[str, IptcClassifier] = {}  # per worker process: loaded once, as a worker does


def _worker(args: tuple[str, list[tuple[str, str]], int]) -> int:
    folder, docs, batch = args
    model = _loaded.get(folder)
    if model is None:
        model = _loaded[folder] = IptcClassifier.load(Path(folder))
    if batch == 1:
        for doc in docs:
            model.classify(*doc)
    else:
        for i in range(0, len(docs), batch):
            model.classify_many(docs[i : i + batch])
    return len(docs)


def per_second(folder: Path, docs: list[tuple[str, str]], processes: int, batch: int) -> float:
    """Articles per second of wall time, ``processes`` workers each with its own model,
    loaded (and warmed up on one article) before the clock starts."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        # one warm-up task per worker; a barrier makes sure each worker takes exactly one
        barrier = ctx.Manager().Barrier(processes)
        pool.map(_warm, [(str(folder), docs[:1], barrier)] * processes, chunksize=1)
        shares = [(str(folder), docs[k::processes], batch) for k in range(processes)]
        start = time.perf_counter()
        done = sum(pool.map(_worker, shares, chunksize=1))
        return done / (time.perf_counter() - start)


def _warm(args: tuple[str, list[tuple[str, str]], Any]) -> int:
    folder, docs, barrier = args
    _worker((folder, docs, 1))
    barrier.wait()
    return 1


def encoder_sweep() -> None:
    """CPU per article of the encoder alone, by word pieces read and by batch size."""
    import numpy as np

    from feeds.analysis.iptc.encoder import SentenceEncoder

    session = SentenceEncoder()._session  # the shipped graph, one intra-op thread
    rng = np.random.default_rng(0)
    for tokens, batch in [(16, 1), (24, 1), (32, 1), (48, 1), (64, 1), (128, 1)] + [
        (32, b) for b in (4, 8, 16)
    ]:
        ids = rng.integers(1000, 20000, (batch, tokens), dtype=np.int64)
        feed = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        session.run(None, feed)
        start = time.process_time()
        for _ in range(20):
            session.run(None, feed)
        ms = (time.process_time() - start) * 1000 / 20 / batch
        print(f"encoder: {tokens} word pieces, batch {batch}: CPU {ms:.2f} ms/article")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--compare", type=Path, help="another model folder to time alongside")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--batch",
        type=int,
        default=25,
        help="documents per classify_many call (the analysis pool hands each worker 25 of "
        "a 200-article batch)",
    )
    parser.add_argument(
        "--encoder-sweep", action="store_true", help="time the encoder alone, then stop"
    )
    args = parser.parse_args()
    if args.encoder_sweep:
        encoder_sweep()
        return
    folders = {"shipped": MODEL_DIR}
    if args.compare:
        folders["compared"] = args.compare
    models = {}
    for label, folder in folders.items():
        start = time.perf_counter()
        models[label] = IptcClassifier.load(folder)
        print(f"load {label}: {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"load average {os.getloadavg()}")
    sets = documents(args.articles)
    for name, docs in sets.items():
        words = sum(len(t.split()) + len(b.split()) for t, b in docs) / len(docs)
        for label, model in models.items():
            one = per_doc_ms(model.classify, docs, 1)
            cpu = cpu_ms(model.classify, docs)
            cpu_batched = cpu_ms_batched(model, docs, args.batch)
            rate = per_second(folders[label], docs, args.processes, 1)
            rate_batched = per_second(folders[label], docs, args.processes, args.batch)
            print(
                f"classify {name} [{label}]: {len(docs)} docs, {words:.0f} words avg: "
                f"wall {one:.2f} ms/doc (1 thread); CPU {cpu:.2f} ms/doc one at a time, "
                f"{cpu_batched:.2f} in batches of {args.batch}; with {args.processes} "
                f"processes {rate:.0f} docs/s one at a time, {rate_batched:.0f} in batches"
            )
    node = parse('(sanction* OR embargo) AND (russia OR "european union") NOT title:sport*')
    docs = sets["full articles (ECB+)"]
    searchables = [Searchable(t, b) for t, b in docs]
    start = time.perf_counter()
    for s in searchables:
        matches(node, s)
    print(
        f"query match, full articles: {(time.perf_counter() - start) * 1000 / len(docs):.3f} "
        "ms/doc (includes word splitting)"
    )


if __name__ == "__main__":
    main()
