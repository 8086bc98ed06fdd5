"""``newsmon analyze`` time against document size: linear growth, then the budget's cap.

    .venv/bin/python bench/analyze_size.py [--shared ../shared] [--repeat 3]

One document per size (16 KB … 10 MB of text made by repeating the seed article, so every
size has the same density of actors and sentences) goes through the installed command as
a user runs it, once per repeat, sizes interleaved; reported per size: median wall seconds
and median CPU seconds of the child process, and where analysis stopped reading
(``text_cut_at``). The command's start-up (loading the models) is in every figure; the
16 KB row shows it. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (16_000, 64_000, 256_000, 1_000_000, 10_000_000)


def run(newsmon: Path, source: Path) -> tuple[float, float, dict]:  # type: ignore[type-arg]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    out = subprocess.run(
        [str(newsmon), "analyze", "--input", str(source)], capture_output=True, check=True
    ).stdout
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    newsmon = Path(sys.executable).parent / "newsmon"
    seed = (args.shared / "seeds/000_30ea7d5ece656d38.txt").read_text(encoding="utf-8")
    rows: dict[int, list[tuple[float, float, dict]]] = {n: [] for n in SIZES}  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for n in SIZES:
            body = (seed * (n // len(seed) + 1))[:n]
            files[n] = Path(tmp) / f"{n}.jsonl"
            files[n].write_text(json.dumps({"id": n, "title": "Size", "text": body}) + "\n")
        for _ in range(args.repeat):
            for n in SIZES:
                rows[n].append(run(newsmon, files[n]))
    print("| text size | wall s (median) | CPU s (median) | text_cut_at | actors |")
    print("|---|---|---|---|---|")
    for n in SIZES:
        wall = statistics.median(r[0] for r in rows[n])
        cpu = statistics.median(r[1] for r in rows[n])
        result = rows[n][0][2]
        cut = result.get("text_cut_at", "–")
        print(f"| {n / 1000:,.0f} KB | {wall:.2f} | {cpu:.2f} | {cut} | {len(result['actors'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
