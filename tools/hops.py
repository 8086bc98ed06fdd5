"""Hops: how many module, folder and layer boundaries two CLI walks cross (offline).

The numbers behind docs/ARCHITECTURE.md, "Hops, before and after". Two walks run through
the real CLI against a throwaway SQLite database and a five-item RSS feed served on
127.0.0.1:

* walk 1, a feed URL to stored articles: ``feeds add URL``, ``poll --defer-analysis``;
* walk 2, stored articles to a digest: ``reanalyze --pending --no-progress``,
  ``subscriptions add hops --email hops@example.com --schedule daily``,
  ``digest preview hops --format text``.

Each command runs in a child process of its own (so one command's caches never hide the
next one's calls) under ``sys.setprofile`` and ``threading.setprofile``. A record is a call
(or generator resume) into a first-party module (``feeds/``, ``storage/``, ``worker/``)
whose *direct* caller frame is in a different first-party module: (caller module, caller
function, callee module, callee function). Calls between two modules under
``feeds/analysis/`` are left out; calls made by module bodies (import time) are kept apart
and not counted. Per walk:

* module hops: distinct (caller module, callee module) pairs;
* folder hops: those whose two modules are in different folders;
* layer hops: distinct ordered pairs of different layers (cli, use cases, core, storage,
  worker). The ``new`` mapping is for the tree since the restructuring (``worker/cli/``,
  ``feeds/usecases/``), ``old`` for the tree before it (d1fd856 and earlier).

Usage:

    .venv/bin/python tools/hops.py run [--repo PATH] [--out DIR] [--layout new|old|auto]
    .venv/bin/python tools/hops.py compare A/hops.json B/hops.json [--labels before after]

``run`` prints the counts and the layer pairs (with the module pairs and functions behind
them) and writes ``hops.json`` plus the raw records of each command (``walkN-I.json``) to
``--out`` (default: a new temporary directory). ``compare`` prints two ``hops.json`` side
by side as Markdown. To measure another commit, export it and point ``--repo`` at it:

    D=$(mktemp -d) && git archive d1fd856 | tar -x -C "$D"
    .venv/bin/python tools/hops.py run --repo "$D" --layout old --precreate "feeds list"

The children get ``PYTHONPATH=PATH``, which wins over this checkout's editable install;
each child checks that every first-party module it loaded came from PATH. Trees before
the restructuring have no ``init``; there ``feeds add`` creates the database inside walk 1
unless ``--precreate`` names an unmeasured command that creates it first (for d1fd856 the
counts are the same either way).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
FIRST_PARTY = ("feeds/", "storage/", "worker/")
# (caller module, caller function, callee module, callee function); modules are paths
# relative to the tree's root, functions qualified names.
Record = tuple[str, str, str, str]

# The settings every child gets, whatever the caller's environment holds (NEWSMON_* from
# the shell is dropped, so a stray NEWSMON_CONFIG cannot change a measurement).
CHILD_SETTINGS = {
    "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",  # the feed is served on loopback
    "NEWSMON_HOST_MIN_SPACING": "0",  # one host; no waiting between requests
    "NEWSMON_UNSUBSCRIBE_SECRET": "hops-measurement-secret-0123456789abcdef",  # digest links
}

# Runs the CLI in a child without the profiler (creating the database).
NEWSMON = "import sys; from worker.cli import main; sys.argv = ['newsmon', *sys.argv[1:]]; main()"


# --------------------------------------------------------------------------- layers

# Before the restructuring the use cases were spread over feeds/ and worker/.
OLD_USE_CASES = frozenset(
    {
        "feeds/pipeline.py",
        "feeds/delivery.py",
        "feeds/grouping.py",
        "feeds/analysis_stage.py",
        "feeds/identity.py",
        "feeds/user_topics.py",
        "worker/admin.py",
        "worker/actors.py",
    }
)


def outer_layer(module: str) -> str:
    """The layer of a module that is neither CLI nor use case (same in both layouts)."""
    for prefix, layer in (("feeds/", "core"), ("storage/", "storage"), ("worker/", "worker")):
        if module.startswith(prefix):
            return layer
    raise ValueError(module)


def layer_new(module: str) -> str:
    if module.startswith("worker/cli/"):
        return "cli"
    if module.startswith("feeds/usecases/"):
        return "use cases"
    return outer_layer(module)


def layer_old(module: str) -> str:
    # The CLI was worker/cli.py and worker/cli_*.py, all directly in worker/.
    if module == "worker/cli.py" or (module.startswith("worker/cli_") and module.count("/") == 1):
        return "cli"
    if module in OLD_USE_CASES:
        return "use cases"
    return outer_layer(module)


LAYERS: dict[str, Callable[[str], str]] = {"new": layer_new, "old": layer_old}


def resolve_layout(layout: str, repo: Path) -> str:
    """``auto`` is ``new`` where worker/cli/ is a package. A tree half-way through the
    restructuring fits neither mapping: set --layout by looking at it."""
    if layout != "auto":
        return layout
    return "new" if (repo / "worker" / "cli").is_dir() else "old"


def folder_of(module: str) -> str:
    return module.rsplit("/", 1)[0]


# --------------------------------------------------------------------------- one command (child)


def module_finder(root: Path) -> Callable[[str], str | None]:
    """A function from a code object's file name to its first-party module, else None."""

    @functools.cache  # called on every Python call: resolve each file name once
    def module_of(filename: str) -> str | None:
        try:
            rel = Path(filename).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            return None
        return rel if rel.startswith(FIRST_PARTY) and rel.endswith(".py") else None

    return module_of


def excluded(caller: str, callee: str) -> bool:
    # feeds/analysis/'s calls among its own modules did not change in the restructuring.
    return caller.startswith("feeds/analysis/") and callee.startswith("feeds/analysis/")


def stray_modules(root: Path) -> list[str]:
    """First-party modules loaded from outside ``root`` (e.g. through the editable install
    when the tree under measurement lacks them): their calls would go uncounted."""
    stray = []
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if name.split(".")[0] + "/" in FIRST_PARTY and filename:
            if not Path(filename).resolve().is_relative_to(root):
                stray.append(f"{name} ({filename})")
    return sorted(stray)


def record_command(root: Path, out: Path, argv: list[str]) -> int:
    """Run ``newsmon ARGV`` in this process under the profiler; write its records to OUT."""
    argv = argv[1:] if argv[:1] == ["--"] else argv
    module_of = module_finder(root)
    direct: set[Record] = set()
    import_time: set[Record] = set()
    on_main_thread: set[Record] = set()
    main_thread = threading.main_thread()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call":  # also fired when a generator resumes
            return
        callee = module_of(frame.f_code.co_filename)
        back = frame.f_back
        if callee is None or back is None:
            return
        caller = module_of(back.f_code.co_filename)
        if caller is None or caller == callee or excluded(caller, callee):
            return
        record = (caller, back.f_code.co_qualname, callee, frame.f_code.co_qualname)
        if back.f_code.co_name == "<module>":
            import_time.add(record)
            return
        direct.add(record)
        if threading.current_thread() is main_thread:
            on_main_thread.add(record)

    # Imported from the tree under measurement (PYTHONPATH), before profiling starts.
    main = importlib.import_module("worker.cli").main
    sys.argv = ["newsmon", *argv]
    status: object = 0
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        main()
    except SystemExit as exc:
        status = exc.code
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    stray = stray_modules(root)
    if stray:
        raise SystemExit(f"first-party modules from outside {root}: {', '.join(stray)}")
    data = {
        "argv": argv,
        "status": status if isinstance(status, int | None) else str(status),
        "direct": sorted(direct),
        "import_time": sorted(import_time),
        "on_main_thread": sorted(on_main_thread),
    }
    out.write_text(json.dumps(data, indent=1))
    return 0


# --------------------------------------------------------------------------- summary


def summarize(records: Iterable[Sequence[str]], layer_of: Callable[[str], str]) -> dict[str, Any]:
    module_pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for caller, caller_fn, callee, callee_fn in records:
        module_pairs[(caller, callee)].add(f"{caller_fn} -> {callee_fn}")
    folder_hops = {(a, b) for a, b in module_pairs if folder_of(a) != folder_of(b)}
    folder_pairs = {(folder_of(a), folder_of(b)) for a, b in folder_hops}
    layers: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
    for (a, b), functions in module_pairs.items():
        if layer_of(a) != layer_of(b):
            layers[(layer_of(a), layer_of(b))][f"{a} -> {b}"] = sorted(functions)
    return {
        "module_hops": len(module_pairs),
        "folder_hops": len(folder_hops),
        "distinct_folder_pairs": len(folder_pairs),
        "layer_hops_distinct_layer_pairs": len(layers),
        "layer_crossing_module_pairs": sum(len(v) for v in layers.values()),
        "layers": {f"{a} -> {b}": v for (a, b), v in sorted(layers.items())},
        "module_pairs": {f"{a} -> {b}": sorted(f) for (a, b), f in sorted(module_pairs.items())},
        "folder_crossing_module_pairs": sorted(f"{a} -> {b}" for a, b in folder_hops),
    }


# --------------------------------------------------------------------------- run (parent)

ITEMS = [
    (
        "Russia and Ukraine resume talks in Geneva",
        "Negotiators from Russia and Ukraine met in Geneva on Monday. The United Nations "
        "welcomed the talks, while the Kremlin said progress was slow.",
    ),
    (
        "European Union agrees new climate targets",
        "The European Union agreed on Tuesday to cut emissions faster. Germany and France "
        "praised the deal; critics said it was too weak.",
    ),
    (
        "China reports strong export growth",
        "China's exports rose sharply last month, official data showed, easing fears of a "
        "slowdown in the world's second-largest economy.",
    ),
    (
        "United States Senate passes budget bill",
        "The United States Senate passed a budget bill late on Wednesday after a long debate. "
        "The White House welcomed the vote.",
    ),
    (
        "Storm floods coastal towns in the United Kingdom",
        "A powerful storm flooded several coastal towns in the United Kingdom, forcing "
        "hundreds of residents to leave their homes.",
    ),
]


def write_feed(target: Path) -> None:
    """RSS 2.0, five items naming watchlist actors; fixed dates, so every run reads the same."""
    now = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        "<title>Hops Test News</title><link>https://hops-test.example/</link>"
        "<description>test feed</description>",
    ]
    for i, (title, text) in enumerate(ITEMS):
        link = f"https://hops-test.example/story/{i}"
        date = format_datetime(now - timedelta(hours=i), usegmt=True)
        parts.append(
            f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{escape(text)}</description><pubDate>{date}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts))


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the walks' requests are not news


@contextmanager
def serve_feed(www: Path) -> Iterator[str]:
    """Serve WWW/feed.xml on 127.0.0.1, on a port the OS picks; yield the feed's URL."""
    write_feed(www / "feed.xml")
    handler = functools.partial(QuietHandler, directory=str(www))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def walks(feed_url: str) -> dict[str, list[list[str]]]:
    return {
        "walk1": [["feeds", "add", feed_url], ["poll", "--defer-analysis"]],
        "walk2": [
            ["reanalyze", "--pending", "--no-progress"],
            ["subscriptions", "add", "hops", "--email", "hops@example.com", "--schedule", "daily"],
            ["digest", "preview", "hops", "--format", "text"],
        ],
    }


def child_env(repo: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update(CHILD_SETTINGS)
    env["NEWSMON_DATABASE_URL"] = f"sqlite:///{db}"
    env["PYTHONPATH"] = str(repo)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave the measured tree as it was
    return env


class Children:
    """Child processes on one tree. ``-P``: no script or current folder on sys.path, so only
    PYTHONPATH (the tree) and the interpreter's own paths supply modules."""

    def __init__(self, python: str, repo: Path, out: Path, env: dict[str, str]) -> None:
        self.python, self.repo, self.out, self.env = python, repo, out, env

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-P", *args],
            env=self.env,
            cwd=self.out,
            capture_output=True,
            text=True,
            check=False,
        )

    def newsmon(self, argv: list[str]) -> int:
        """An unmeasured command; its exit status."""
        return self._run(["-c", NEWSMON, *argv]).returncode

    def measure(self, raw: Path, argv: list[str]) -> dict[str, Any]:
        """A measured command: its records (also left in RAW) and the tails of its output."""
        raw.unlink(missing_ok=True)  # a stale file must not stand in for a failed child
        args = [str(SCRIPT), "one", "--repo", str(self.repo), str(raw), "--", *argv]
        proc = self._run(args)
        if not raw.exists():
            raise SystemExit(
                f"{shlex.join(argv)}: no records (exit {proc.returncode})\n{proc.stderr[-3000:]}"
            )
        data: dict[str, Any] = json.loads(raw.read_text())
        data["stdout_tail"], data["stderr_tail"] = proc.stdout[-1500:], proc.stderr[-1500:]
        return data


def create_database(children: Children, precreate: list[str]) -> dict[str, Any]:
    """Create the database before the walks, so that neither measures its creation."""
    created: dict[str, Any] = {"init_exit": children.newsmon(["init"])}
    # Older trees have no `init`: then `feeds add` creates it (measured) unless PRECREATE
    # names a command that does so unmeasured.
    if created["init_exit"] != 0 and precreate:
        created["precreate"] = {"argv": precreate, "exit": children.newsmon(precreate)}
    return created


def measure_walk(
    children: Children, walk: str, commands: list[list[str]], layer_of: Callable[[str], str]
) -> dict[str, Any]:
    runs, direct, on_main_thread = [], [], []
    for i, argv in enumerate(commands):
        data = children.measure(children.out / f"{walk}-{i}.json", argv)
        runs.append({k: data[k] for k in ("argv", "status", "stdout_tail", "stderr_tail")})
        direct += data["direct"]
        on_main_thread += data["on_main_thread"]
    return {
        "runs": runs,
        "summary": summarize(direct, layer_of),
        # Calls on other threads (fetch workers) included or not: how much they matter.
        "main_thread_only_summary": summarize(on_main_thread, layer_of),
    }


def print_walks(result: dict[str, Any]) -> None:
    for walk, w in result["walks"].items():
        s = w["summary"]
        print(
            f"== {walk}: module hops {s['module_hops']}, folder hops {s['folder_hops']}, "
            f"layer hops (distinct layer pairs) {s['layer_hops_distinct_layer_pairs']}, "
            f"layer-crossing module pairs {s['layer_crossing_module_pairs']}"
        )
        for r in w["runs"]:
            print(f"   {shlex.join(r['argv'])}: exit {r['status']}")
        for layer_pair, modules in s["layers"].items():
            print(f"   {layer_pair}")
            for module_pair, functions in modules.items():
                print(f"      {module_pair}: {'; '.join(functions)}")


def run(repo: Path, out: Path, layout: str, python: str, precreate: list[str]) -> int:
    if not (repo / "worker").is_dir():
        raise SystemExit(f"{repo} is not a newsmon tree (no worker/)")
    layout = resolve_layout(layout, repo)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "newsmon.db"
    for old in out.glob("newsmon.db*"):  # always a fresh database
        old.unlink()
    env = child_env(repo, db)
    children = Children(python, repo, out, env)
    result: dict[str, Any] = {
        "repo": str(repo),
        "layout": layout,
        "python": python,
        "env": {k: v for k, v in env.items() if k.startswith("NEWSMON_")},
        "walks": {},
    }
    with serve_feed(out / "www") as feed_url:
        result |= create_database(children, precreate)
        for walk, commands in walks(feed_url).items():
            result["walks"][walk] = measure_walk(children, walk, commands, LAYERS[layout])
    (out / "hops.json").write_text(json.dumps(result, indent=1))
    print_walks(result)
    print(f"results: {out / 'hops.json'} (layout {layout})")
    failed = [r for w in result["walks"].values() for r in w["runs"] if r["status"] != 0]
    for r in failed:
        print(f"FAILED: {shlex.join(r['argv'])}: exit {r['status']}\n{r['stderr_tail']}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- compare

COUNTS = [
    ("module_hops", "module hops"),
    ("folder_hops", "folder hops"),
    ("layer_hops_distinct_layer_pairs", "layer hops (distinct layer pairs)"),
    ("layer_crossing_module_pairs", "module hops crossing a layer"),
    ("distinct_folder_pairs", "distinct folder pairs"),
]


def compare(a_path: Path, b_path: Path, labels: Sequence[str]) -> None:
    """Markdown: the counts of both, then each walk's layer pairs with their module pairs."""
    a, b = (json.loads(p.read_text())["walks"] for p in (a_path, b_path))
    la, lb = labels
    print(f"| walk | count | {la} | {lb} |\n|---|---|---|---|")
    for walk in a:
        for key, name in COUNTS:
            print(
                f"| {walk[-1]} | {name} | {a[walk]['summary'][key]} | {b[walk]['summary'][key]} |"
            )
    print()
    for walk in a:
        sa, sb = a[walk]["summary"]["layers"], b[walk]["summary"]["layers"]
        print(f"### {walk}: layer pairs, side by side (module pairs; functions in hops.json)\n")
        print(f"| layer pair | {la} | {lb} |\n|---|---|---|")
        for pair in sorted(set(sa) | set(sb)):
            cells = [
                "<br>".join(f"`{m}`" for m in s.get(pair, {})) or "**—** (absent)" for s in (sa, sb)
            ]
            print(f"| **{pair}** | {cells[0]} | {cells[1]} |")
        print()


# --------------------------------------------------------------------------- command line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="measure both walks on one tree")
    p_run.add_argument("--repo", type=Path, default=ROOT, help="tree to measure (default: this)")
    p_run.add_argument("--out", type=Path, help="results folder (default: a new temporary one)")
    p_run.add_argument("--layout", choices=["new", "old", "auto"], default="auto")
    p_run.add_argument("--python", default=sys.executable, help="interpreter for the children")
    p_run.add_argument(
        "--precreate",
        default="",
        metavar="COMMAND",
        help='where the tree has no `init`, create the database with this, e.g. "feeds list"',
    )
    p_cmp = sub.add_parser("compare", help="two hops.json side by side, as Markdown")
    p_cmp.add_argument("a", type=Path)
    p_cmp.add_argument("b", type=Path)
    p_cmp.add_argument("--labels", nargs=2, metavar=("A", "B"))
    p_one = sub.add_parser("one", help="(internal) one command under the profiler")
    p_one.add_argument("--repo", type=Path, required=True)
    p_one.add_argument("raw", type=Path)
    p_one.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    if args.command == "one":
        return record_command(args.repo.resolve(), args.raw, args.argv)
    if args.command == "compare":
        compare(args.a, args.b, args.labels or (args.a.parent.name, args.b.parent.name))
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="hops-"))
    precreate = shlex.split(args.precreate)
    return run(args.repo.resolve(), out.resolve(), args.layout, args.python, precreate)


if __name__ == "__main__":
    sys.exit(main())
