"""The reference: lemon24/reader polling the benchmark's feeds (run by bench/run.py).

    python bench/reader_poll.py DB_PATH WORKERS URL...

Prints one JSON object: seconds for the first poll and for an unchanged re-poll, and the
entries stored. Needs the ``bench`` extra.
"""

from __future__ import annotations

import json
import sys
import time

from reader import make_reader


def main() -> None:
    db, workers, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    reader = make_reader(db)
    for url in urls:
        reader.add_feed(url)
    # scheduled=False: every feed now, whatever reader's own schedule says (like --all).
    started, cpu = time.perf_counter(), time.process_time()
    reader.update_feeds(workers=workers, scheduled=False)
    first = time.perf_counter() - started
    first_cpu = time.process_time() - cpu
    entries = reader.get_entry_counts().total
    started, cpu = time.perf_counter(), time.process_time()
    results = list(reader.update_feeds_iter(workers=workers, scheduled=False))
    again = time.perf_counter() - started
    again_cpu = time.process_time() - cpu
    unchanged = sum(1 for r in results if r.value is None)
    errors = sum(1 for f in reader.get_feeds() if f.last_exception)
    reader.close()
    print(
        json.dumps(
            {
                "first": first,
                "repoll": again,
                "entries": entries,
                "errors": errors,
                "unchanged": unchanged,
                "first_cpu": first_cpu,
                "repoll_cpu": again_cpu,
            }
        )
    )


if __name__ == "__main__":
    main()
