"""The throughput benchmark, side by side with lemon24/reader, in one run.

    .venv/bin/pip install -e '.[bench]'      # reader (pinned) and a profiler
    .venv/bin/python bench/run.py --feeds 200 --entries 50 [--distributed]

Generates N feeds x M entries (bench/corpus.py), serves them with a private nginx on
loopback (ETag, Last-Modified, gzip), then measures, each in its own process:

* newsmon embedded (SQLite): ``poll --all --defer-analysis`` (first poll, then an
  unchanged re-poll), ``reanalyze --pending``, a day's digest (``digest preview``), and a
  whole first poll with analysis on a fresh database;
* newsmon distributed (``--distributed``): 2 Celery worker processes on Redis and
  PostgreSQL, ``poll --all --enqueue --wait --defer-analysis``, then ``reanalyze``-free
  analysis by the same workers;
* reader with 4 threads polling the same URLs (first poll, unchanged re-poll).

Poll times are those the programs report for the pass itself (process start-up and
imports excluded, for both); peak RSS is the process's maximum resident set. Results are
printed as a Markdown table and written as JSON next to it (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import Nginx, generate_corpus  # noqa: E402
from bench.procstat import cpu_seconds  # noqa: E402

BIN = Path(sys.executable).parent


def measured(cmd: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Like :func:`run`, but through a helper so the peak RSS is this command's alone."""
    helper = (
        "import json,resource,subprocess,sys,time\n"
        "t=time.perf_counter();p=subprocess.run(sys.argv[1:],capture_output=True)\n"
        "w=time.perf_counter()-t\n"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024\n"
        "print(json.dumps({'rc':p.returncode,'out':p.stdout.decode(),'err':p.stderr.decode()[-3000:],"
        "'wall':w,'rss':r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", helper, *cmd], env=env, capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout)
    if data["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({data['rc']}):\n{data['err']}")
    return data["out"], data["wall"], data["rss"]


def newsmon_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEWSMON_DATABASE_URL=database_url,
        NEWSMON_ALLOW_PRIVATE_NETWORKS="true",
        NEWSMON_SEEDS_DIR=str(ROOT / "seeds"),
        # Every feed is on one loopback host; reader has no per-host limits either.
        NEWSMON_HOST_MIN_SPACING="0",
        NEWSMON_HOST_MAX_CONCURRENCY="8",
        NEWSMON_FETCH_CONCURRENCY="8",
        NEWSMON_UNSUBSCRIBE_SECRET="bench-secret-0123456789abcdef",
        NEWSMON_PUBLIC_URL="https://news.example.org/newsmon",
    )
    env.update(extra)
    return env


def opml(urls: list[str], path: Path) -> Path:
    body = "".join(f'<outline type="rss" text="f{n}" xmlUrl="{u}"/>' for n, u in enumerate(urls))
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><head/><body>{body}</body></opml>')
    return path


def bench_embedded(
    work: Path,
    urls: list[str],
    *,
    poll_only: bool = False,
    processes: int | None = None,
    name: str = "embedded",
) -> dict[str, Any]:
    newsmon = str(BIN / "newsmon")
    extra = {"NEWSMON_INGEST_PROCESSES": str(processes)} if processes else {}
    env = newsmon_env(f"sqlite:///{work / (name + '.db')}", **extra)
    subprocess.run(
        [newsmon, "feeds", "import", str(opml(urls, work / "feeds.opml"))],
        env=env,
        check=True,
        capture_output=True,
    )
    res: dict[str, Any] = {}
    stage = [sys.executable, str(ROOT / "bench" / "newsmon_stage.py")]
    for key, stage_name in (("first", "poll"), ("repoll", "poll"), ("analysis", "reanalyze")):
        if poll_only and key == "analysis":
            return res
        if key == "analysis":
            # The same pending articles analysed in one process, on a copy of the database,
            # so that the analysis worker processes are measured against it in this run.
            one = work / (name + "-one-process.db")
            for suffix in ("", "-wal"):  # a WAL left behind holds committed pages too
                if (work / (name + ".db" + suffix)).exists():
                    shutil.copyfile(work / (name + ".db" + suffix), str(one) + suffix)
            env1 = {
                **env,
                "NEWSMON_DATABASE_URL": f"sqlite:///{one}",
                "NEWSMON_ANALYSIS_PROCESSES": "1",
            }
            out, wall, rss = measured([*stage, stage_name], env1)
            res["analysis_one_process"] = {**json.loads(out), "wall": wall, "rss_mb": rss}
        out, wall, rss = measured([*stage, stage_name], env)
        res[key] = {**json.loads(out), "wall": wall, "rss_mb": rss}
    subprocess.run(
        [newsmon, "subscriptions", "add", "bench", "--email", "desk@example.org"],
        env=env,
        check=True,
        capture_output=True,
    )
    out, wall, rss = measured(
        [newsmon, "digest", "preview", "bench", "--output", str(work / "digest.html")], env
    )
    m = re.search(r"wrote (\d+) articles", out)
    res["digest"] = {
        "articles_in_digest": int(m.group(1)) if m else None,
        "wall": wall,
        "rss_mb": rss,
    }
    # The whole first poll with analysis, on a fresh database.
    env2 = newsmon_env(f"sqlite:///{work / 'embedded2.db'}")
    subprocess.run(
        [newsmon, "feeds", "import", str(work / "feeds.opml")],
        env=env2,
        check=True,
        capture_output=True,
    )
    out, wall, rss = measured([*stage, "poll-analyze"], env2)
    res["first_with_analysis"] = {**json.loads(out), "wall": wall, "rss_mb": rss}
    return res


def bench_reader(work: Path, urls: list[str], workers: int) -> dict[str, Any]:
    out, wall, rss = measured(
        [
            sys.executable,
            str(ROOT / "bench" / "reader_poll.py"),
            str(work / "reader.sqlite"),
            str(workers),
            *urls,
        ],
        dict(os.environ),
    )
    return {**json.loads(out), "wall": wall, "rss_mb": rss}


def bench_distributed(
    work: Path, urls: list[str], pg: str, redis_url: str, *, poll_only: bool = False
) -> dict[str, Any]:
    import redis
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from storage.db import make_engine
    from storage.repository import SqlStore

    server = make_url(pg)
    name = f"newsmon_bench_{os.getpid()}"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    redis.Redis.from_url(redis_url).flushdb()
    env = newsmon_env(
        url,
        NEWSMON_BROKER_URL=redis_url,
        NEWSMON_SCHEDULER_TICK_SECONDS="3600",
        NEWSMON_HOST_LIMITER="redis",
    )
    newsmon = str(BIN / "newsmon")
    subprocess.run(
        [newsmon, "feeds", "import", str(opml(urls, work / "feeds-d.opml"))],
        env=env,
        check=True,
        capture_output=True,
    )

    # The polls are measured with workers on the ingest queue alone, as a deployment with
    # separate stages runs them (docs/STAGES.md): the analysis tasks each poll queues
    # wait on their own queue and do not share the ingest workers' two processes.
    def start(*queues: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                newsmon,
                "worker",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "-Q",
                ",".join(queues),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def tree_cpu(parent: subprocess.Popen[bytes]) -> float:
        """CPU seconds so far of the Celery worker and its pool processes."""
        kids = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(parent.pid)], capture_output=True, text=True
        ).stdout.split()
        return cpu_seconds([parent.pid, *map(int, kids)])

    def children_rss(parent: subprocess.Popen[bytes]) -> list[float]:
        rss = subprocess.run(
            ["ps", "-o", "rss=", "--ppid", str(parent.pid)], capture_output=True, text=True
        ).stdout.split()
        return [int(r) / 1024 for r in rss]

    worker = start("ingest")
    res: dict[str, Any] = {}
    try:
        time.sleep(4)  # workers up and connected
        for key in ("first", "repoll"):
            started, cpu = time.perf_counter(), tree_cpu(worker)
            subprocess.run(
                [newsmon, "poll", "--all", "--enqueue", "--wait", "--defer-analysis"],
                env=env,
                check=True,
                capture_output=True,
            )
            # The workers' CPU for the pass: per task, what the estimate in SCALING.md needs.
            res[key] = {
                "seconds": time.perf_counter() - started,
                "worker_cpu_seconds": tree_cpu(worker) - cpu,
            }
        res["worker_child_rss_mb"] = children_rss(worker)
        if not poll_only:
            # Then two analysis processes drain what the first pass queued (its analysis
            # tasks wait in the analysis queue); timed from their start, start-up included.
            worker.terminate()
            worker.wait(timeout=60)
            started = time.perf_counter()
            worker = start("analysis", "celery")
            store = SqlStore(make_engine(url))
            while True:
                with store.transaction() as repo:
                    pending = len(repo.article_ids(pending=True))
                if not pending:
                    break
                time.sleep(0.25)
            res["drain_analysis"] = {"seconds": time.perf_counter() - started}
            with store.transaction() as repo:
                res["drain_analysis"]["articles"] = len(repo.article_ids())
            store.engine.dispose()
            res["analysis_worker_child_rss_mb"] = children_rss(worker)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return res


def report(r: dict[str, Any]) -> str:
    n, m = r["feeds"], r["entries"]
    e, rd = r["embedded"], r["reader"]
    lines = [
        f"corpus: {n} feeds x {m} entries, {r['feed_kb']:.0f} KB per feed "
        f"({r['syndicated']:.0%} syndicated copies); machine: {r['machine']}",
        f"item HTML: {'real-world markup' if r['real_world_markup'] else 'clean'}; "
        f"the lxml reader declines {r['fast_path_declined']} of {n} feeds",
        "",
        "| measure | newsmon | reader | newsmon / reader |",
        "|---|---|---|---|",
    ]

    def row(label: str, ours: float, theirs: float | None, unit: str) -> None:
        ratio = f"{ours / theirs:.1f}x" if theirs else "-"
        theirs_s = f"{theirs:,.1f} {unit}" if theirs is not None else "-"
        lines.append(f"| {label} | {ours:,.1f} {unit} | {theirs_s} | {ratio} |")

    first_r = n / rd["first"]
    row(
        "first poll, feeds/s (`poll --all --defer-analysis`)",
        n / e["first"]["seconds"],
        first_r,
        "feeds/s",
    )
    row("first poll, entries/s", n * m / e["first"]["seconds"], n * m / rd["first"], "entries/s")
    row("unchanged re-poll, feeds/s", n / e["repoll"]["seconds"], n / rd["repoll"], "feeds/s")
    # Per CPU-second of the polling process (all its threads): less sensitive to the
    # other load on a shared machine than wall time.
    if "cpu_seconds" in e["first"] and "first_cpu" in rd:
        row(
            "first poll, feeds per CPU-second",
            n / e["first"]["cpu_seconds"],
            n / rd["first_cpu"],
            "feeds/CPU-s",
        )
        row(
            "unchanged re-poll, feeds per CPU-second",
            n / e["repoll"]["cpu_seconds"],
            n / rd["repoll_cpu"],
            "feeds/CPU-s",
        )
    if e["first"].get("processes", 1) > 1 and "first_cpu" in rd:
        row(
            f"first poll, feeds per CPU-second incl. the {e['first'].get('processes')} "
            "worker processes",
            n / e["first"]["total_cpu_seconds"],
            n / rd["first_cpu"],
            "feeds/CPU-s",
        )
    for key, one in sorted(r.items()):
        if not key.startswith("embedded_p"):
            continue
        label = f"{one['first'].get('processes')} ingest process(es)"
        row(f"first poll, feeds/s, {label}", n / one["first"]["seconds"], first_r, "feeds/s")
        row(
            f"first poll, feeds per CPU-second (all processes), {label}",
            n / one["first"].get("total_cpu_seconds", one["first"]["cpu_seconds"]),
            n / rd["first_cpu"],
            "feeds/CPU-s",
        )
        row(
            f"unchanged re-poll, feeds/s, {label}",
            n / one["repoll"]["seconds"],
            n / rd["repoll"],
            "feeds/s",
        )
    row("peak RSS of the polling process", e["first"]["rss_mb"], rd["rss_mb"], "MB")
    if "analysis" in e:
        a = e["analysis"]
        one = e.get("analysis_one_process")
        if one is not None:
            row(
                "analysis alone in one process (`NEWSMON_ANALYSIS_PROCESSES=1`), articles/s",
                one["articles"] / one["seconds"],
                None,
                "articles/s",
            )
            row(
                "same, articles per CPU-second",
                one["articles"] / one["cpu_seconds"],
                None,
                "articles/CPU-s",
            )
        row(
            f"analysis alone (`reanalyze --pending`, {a.get('processes', 1)} analysis "
            "process(es), models loaded), articles/s",
            a["articles"] / a["seconds"],
            None,
            "articles/s",
        )
        row(
            "same, articles per CPU-second (all processes)",
            a["articles"] / a.get("total_cpu_seconds", a["cpu_seconds"]),
            None,
            "articles/CPU-s",
        )
        row("peak RSS with models loaded (reanalyze, calling process)", a["rss_mb"], None, "MB")
        for i, mb in enumerate(a.get("worker_rss_mb", [])):
            row(f"peak RSS of analysis worker {i + 1}", mb, None, "MB")
        w = e["first_with_analysis"]
        row("whole first poll with analysis, feeds/s", n / w["seconds"], first_r, "feeds/s")
        row(
            "digest of the day (`digest preview`, wall incl. start-up), s",
            e["digest"]["wall"],
            None,
            "s",
        )
    if "distributed" in r:
        d = r["distributed"]
        row(
            "distributed (2 workers) first poll, feeds/s (wall incl. queueing)",
            n / d["first"]["seconds"],
            first_r,
            "feeds/s",
        )
        row(
            "distributed unchanged re-poll, feeds/s",
            n / d["repoll"]["seconds"],
            n / rd["repoll"],
            "feeds/s",
        )
        for key, label in (("first", "first poll"), ("repoll", "unchanged re-poll")):
            if "worker_cpu_seconds" in d[key]:
                row(
                    f"distributed {label}, worker CPU per feed (all worker processes)",
                    1000 * d[key]["worker_cpu_seconds"] / n,
                    None,
                    "ms",
                )
        if "drain_analysis" in d:
            row(
                "distributed analysis (2 worker processes, start-up incl.), articles/s",
                d["drain_analysis"]["articles"] / d["drain_analysis"]["seconds"],
                None,
                "articles/s",
            )
    lines.append("")
    lines.append(
        f"stored: newsmon {e['first']['new']} articles (syndicated copies once), "
        f"reader {rd['entries']} entries; re-poll not modified: newsmon "
        f"{e['repoll']['not_modified']}/{n}, reader {rd['unchanged']}/{n}"
    )
    return "\n".join(lines)


def fast_path_declined(docroot: Path, paths: list[str]) -> int:
    """How many corpus feeds the lxml reader leaves to feedparser (as nginx labels them)."""
    from feeds.parse.lxml_reader import fast_parse

    return sum(
        fast_parse(
            (docroot / p.lstrip("/")).read_bytes(),
            url="http://127.0.0.1" + p,
            content_type="application/rss+xml",
        )
        is None
        for p in paths
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--syndicated", type=float, default=0.2)
    ap.add_argument("--reader-workers", type=int, default=4)
    ap.add_argument("--distributed", action="store_true", help="Also Celery on Redis + PG.")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    ap.add_argument("--json", type=Path, help="Also write the raw results here.")
    ap.add_argument(
        "--poll-only",
        action="store_true",
        help="Only the polls (first and unchanged), no analysis or digest.",
    )
    ap.add_argument(
        "--real-world-markup",
        action="store_true",
        help="Write item HTML as outlets do: bare ampersands, entity soup, tags in "
        "capitals, a lone '<', titles in CDATA, one feed in ten in a legacy encoding.",
    )
    ap.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    ap.add_argument(
        "--compare-processes",
        type=int,
        nargs="*",
        default=[],
        help="Also poll with these NEWSMON_INGEST_PROCESSES (embedded, polls "
        "only), next to the default.",
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    work.chmod(0o755)  # nginx's workers may run as another user (when started by root)
    try:
        paths = generate_corpus(
            work / "www",
            feeds=args.feeds,
            entries=args.entries,
            syndicated=args.syndicated,
            real_world=args.real_world_markup,
        )
        size = (work / "www" / paths[0].lstrip("/")).stat().st_size / 1024
        results: dict[str, Any] = {
            "real_world_markup": args.real_world_markup,
            "fast_path_declined": fast_path_declined(work / "www", paths),
            "feeds": args.feeds,
            "entries": args.entries,
            "syndicated": args.syndicated,
            "feed_kb": size,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}",
        }
        with Nginx(work / "nginx", work / "www") as nginx:
            urls = [nginx.base + p for p in paths]
            results["reader"] = bench_reader(work, urls, args.reader_workers)
            results["embedded"] = bench_embedded(work, urls, poll_only=args.poll_only)
            for count in args.compare_processes:
                results[f"embedded_p{count}"] = bench_embedded(
                    work, urls, poll_only=True, processes=count, name=f"embedded_p{count}"
                )
            if args.distributed:
                try:
                    results["distributed"] = bench_distributed(
                        work, urls, args.postgres, args.redis, poll_only=args.poll_only
                    )
                except (subprocess.CalledProcessError, OSError) as exc:
                    # Keep the embedded and reader results of a long run.
                    print(f"distributed run failed: {exc}", file=sys.stderr)
        print(report(results))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
