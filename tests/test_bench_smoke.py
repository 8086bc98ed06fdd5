"""The benchmark's corpus generator and nginx config writer work (no timing here), and the
fast text normaliser agrees with its definition."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate_corpus, nginx_config
from feeds.dedup.keys import normalise_text
from feeds.parse import parse_feed


def test_corpus_has_full_content_and_shared_wire_copies(tmp_path: Path) -> None:
    paths = generate_corpus(tmp_path, feeds=3, entries=10, syndicated=0.3)
    assert paths == ["/feeds/0.xml", "/feeds/1.xml", "/feeds/2.xml"]
    parsed = [parse_feed((tmp_path / p.lstrip("/")).read_bytes(), url="http://x/") for p in paths]
    assert all(len(f.entries) == 10 for f in parsed)
    assert all(len(e.content) > 2000 for f in parsed for e in f.entries)  # content:encoded
    links = [{e.link for e in f.entries if e.link and "wire.example" in e.link} for f in parsed]
    assert all(len(w) == 3 for w in links)
    assert generate_corpus(tmp_path / "again", feeds=3, entries=10, syndicated=0.3) == paths
    assert (tmp_path / "again/feeds/1.xml").read_bytes() == (tmp_path / "feeds/1.xml").read_bytes()


def test_nginx_config_is_private_loopback_with_validators_and_gzip(tmp_path: Path) -> None:
    conf = nginx_config(tmp_path / "prefix", tmp_path / "www", 18080)
    assert "listen 127.0.0.1:18080;" in conf and f"root {tmp_path / 'www'};" in conf
    assert "gzip on;" in conf and "application/rss+xml" in conf and "etag on;" in conf
    assert f"pid {tmp_path / 'prefix' / 'nginx.pid'};" in conf


def _reference(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="<&")))
def test_normalise_text_matches_its_per_character_definition(text: str) -> None:
    assert normalise_text(text) == _reference(text)


def test_the_analysis_benchmark_builds_its_generated_articles() -> None:
    # bench/analysis_texts.py calls the corpus's private story maker: a change of its
    # signature broke the benchmark once without any test noticing
    from bench.analysis_texts import generated_docs

    docs = generated_docs(3)
    assert [d.id for d in docs] == ["0", "1", "2"]
    assert all(d.title and len(d.text) > 1000 and "<" not in d.text for d in docs)
    assert [d.text for d in generated_docs(3)] == [d.text for d in docs]  # seeded


def test_web_bench_fills_serves_and_reports(tmp_path: Path) -> None:
    """bench/bench_web.py end to end at a tiny size: migrated fixture, real server, table."""
    import secrets
    import subprocess
    import sys

    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL

    admin = make_url(POSTGRES_URL).set(database="postgres").render_as_string(hide_password=False)
    out = tmp_path / "web.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_web",
            *("--articles", "3000", "--days", "10", "--feeds", "12", "--actors", "250"),
            *("--requests", "3", "--warmup", "1", "--explain", "--explain-ms", "1000"),
            *("--database", f"newsmon_bench_smoke_{secrets.token_hex(4)}"),
            *("--admin-url", admin, "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = out.read_text()
    assert "3,000 articles" in table
    for route in ("/api/v1/overview", "/api/v1/actors/", "`GET /`", "`GET /actors/"):
        assert route in table
    assert "dropped database" in result.stdout


def test_ingest_floor_runs_at_a_tiny_size() -> None:
    """bench/ingest_floor.py end to end on 2 feeds: every step timed, feedparser beside it."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "ingest_floor.py"), "--feeds", "2", "--entries", "3",
         "--real-world-markup"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert "2 feeds x 3 entries, real-world markup; 6 items" in out
    assert "| **floor: the four together** |" in out and "feedparser alone / floor" in out
