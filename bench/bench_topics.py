"""Speed of the IPTC topic classifier alone, and of the query matcher.

    python bench/bench_topics.py [--articles N]

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    model = IptcClassifier.load(MODEL_DIR)
    print(f"load: {(time.perf_counter() - start) * 1000:.0f} ms; load average {os.getloadavg()}")
    sets = documents(args.articles)
    for name, docs in sets.items():
        words = sum(len(t.split()) + len(b.split()) for t, b in docs) / len(docs)
        one = per_doc_ms(model.classify, docs, 1)
        two = per_doc_ms(model.classify, docs, 2)
        cpu = cpu_ms(model.classify, docs)
        print(
            f"classify {name}: {len(docs)} docs, {words:.0f} words avg: "
            f"wall {one:.2f} ms/doc (1 thread), {two:.2f} ms/doc (2 threads); "
            f"CPU {cpu:.2f} ms/doc"
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
