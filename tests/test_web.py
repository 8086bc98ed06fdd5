"""`newsmon web`: the JSON API, the dashboard's access rules and RFC 8058 unsubscribe.

The read side's use cases run on SQLite and PostgreSQL (the ``store`` fixture); the
server tests start the real ``newsmon web`` process on each database and talk HTTP to it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from feeds.digest.unsubscribe import make_token
from feeds.errors import InvalidInput
from feeds.reports import ArticleFilter
from feeds.usecases import insights
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.repository import SqlStore
from tests.services import PostgresServer
from tests.web_support import NEWSMON, PLAN, SECRET, TOKEN, WebServer, World, fill

# ------------------------------------------------------------------ use cases, both databases


@pytest.fixture
def world(store: SqlStore) -> World:
    return fill(store, datetime.now(UTC).replace(microsecond=0))


def _expected_series(name: str) -> dict[str, list[float]]:
    """Per UTC day: the scores toward ``name`` in PLAN (what the series must aggregate)."""
    now = datetime.now(UTC)
    days: dict[str, list[float]] = {}
    for hours, _, _, _, _, actors in PLAN:
        for actor, score in actors:
            if actor == name:
                day = (now - timedelta(hours=hours)).date().isoformat()
                days.setdefault(day, []).append(score)
    return days


def test_actor_series_counts_and_means_every_article(store: SqlStore, world: World) -> None:
    report = insights.actor_report(store, "Nordland", world.now, days=10)
    got = {p.start.date().isoformat(): p for p in report.series if p.articles}
    expected = _expected_series("Nordland")
    assert set(got) == set(expected)
    for day, scores in expected.items():
        point = got[day]
        assert point.articles == len(scores)
        assert point.mean == pytest.approx(sum(scores) / len(scores), abs=1e-4)
        assert point.negative == sum(s < -0.05 for s in scores)
        assert point.positive == sum(s > 0.05 for s in scores)
    # dense: one point per day of the window, oldest first
    starts = [p.start for p in report.series]
    assert starts == sorted(starts) and len(starts) in (10, 11)
    assert report.total is not None and report.total.articles == 7
    assert report.evidence and all("onerror" in s for e in report.evidence for s in e.sentences)
    assert [c.name for c in report.co_actors] == ["Sudmark"]


def test_story_evidence_quotes_each_actor(store: SqlStore, world: World) -> None:
    shelling = world.article_ids[[p[2] for p in PLAN].index("Nordland shells border town")]
    with store.transaction() as repo:
        story_id = repo.story_of(shelling)
    assert story_id is not None
    quoted = insights.story_evidence(store, story_id, per_actor=2)
    assert quoted and {name for name, _ in quoted} == {"Nordland"}
    assert len(quoted) <= 2 and all(e.score < -0.5 and e.sentences for _, e in quoted)
    scores = [e.score for _, e in quoted]
    assert scores == sorted(scores)  # the strongest reading first


def test_hourly_series_is_bounded(store: SqlStore, world: World) -> None:
    report = insights.actor_report(store, "Nordland", world.now, days=1, bucket="hour")
    assert sum(p.articles for p in report.series) == 4
    assert len(report.series) in (24, 25)
    with pytest.raises(InvalidInput, match="at most 31 days"):
        insights.actor_report(store, "Nordland", world.now, days=60, bucket="hour")
    with pytest.raises(InvalidInput, match="bucket"):
        insights.check_bucket("week", 7)


def test_overview_ranks_the_actor_that_moved(store: SqlStore, world: World) -> None:
    view = insights.overview(store, world.now, days=7)
    assert view.articles == len(PLAN)
    assert sum(p.articles for p in view.daily) == len(PLAN)
    assert view.movers[0].total.name == "Nordland"
    nordland = view.movers[0]
    assert nordland.total.articles == 4 and nordland.baseline_daily == pytest.approx(
        3 / 7, abs=0.01
    )
    assert nordland.sentiment_shift < -0.9  # from about +0.27 to -0.75
    assert {(s.id, s.articles) for s in view.stories} >= {(world.story_id, 3)}
    assert [f.title for f in view.failing_feeds] == ["Broken Outlet"]
    assert {t.code for t in view.topics} == {
        "medtop:16000000",
        "medtop:11000000",
        "medtop:15000000",
    }


def test_article_pages_follow_the_cursor_without_gaps(store: SqlStore, world: World) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        page = insights.list_articles(store, ArticleFilter(), cursor=cursor, limit=4)
        seen.extend(a.id for a in page.articles)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(world.article_ids) and len(seen) == len(set(seen))
    times = [insights.get_article(store, i).first_seen for i in seen]
    assert times == sorted(times, reverse=True)
    with pytest.raises(InvalidInput, match="cursor"):
        insights.list_articles(store, ArticleFilter(), cursor="not-a-cursor")


def test_article_filters(store: SqlStore, world: World) -> None:
    def ids(where: ArticleFilter, query: str | None = None) -> set[int]:
        page = insights.list_articles(store, where, query=query, limit=200)
        return {a.id for a in page.articles}

    by_title = {title: i for i, (_, _, title, *_) in zip(world.article_ids, PLAN, strict=True)}
    assert ids(ArticleFilter(topic="medtop:15000000")) == {by_title["Cup final ends in a draw"]}
    assert len(ids(ArticleFilter(actor="Sudmark"))) == 5
    assert len(ids(ArticleFilter(story_id=world.story_id))) == 3
    assert len(ids(ArticleFilter(feed_id=world.feed_ids[2]))) == 4
    assert ids(ArticleFilter(), query='"market hall" AND NOT toll') == {
        by_title["Quake kills twelve in Ardmore"],
        by_title["Ardmore earthquake: market hall destroyed"],
    }
    recent = ids(ArticleFilter(since=world.now - timedelta(hours=9)))
    assert len(recent) == 4
    with pytest.raises(InvalidInput):
        ids(ArticleFilter(), query="(unbalanced")


def test_limits_and_windows_are_capped(store: SqlStore, world: World) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        insights.list_articles(store, ArticleFilter(), limit=insights.MAX_LIMIT + 1)
    with pytest.raises(InvalidInput, match="days"):
        insights.overview(store, world.now, days=insights.MAX_DAYS + 1)


def test_statement_timeout_cancels_a_long_statement(
    request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    """The web server's engines cancel any one statement past the timeout, on both
    databases (PostgreSQL's statement_timeout; a progress handler on SQLite)."""
    engine = make_engine(sqlite_url, statement_timeout=0.2)
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )
    with pytest.raises(Exception, match="interrupted"), engine.connect() as conn:
        conn.execute(text(slow))
    with engine.connect() as conn:  # the next statement gets its own deadline
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    pg = make_engine(request.getfixturevalue("pg_url"), statement_timeout=0.2)
    with pytest.raises(Exception, match="statement timeout"), pg.connect() as conn:
        conn.execute(text("SELECT pg_sleep(3)"))
    pg.dispose()


def test_migration_fills_seen_at_of_existing_analyses(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "8_duplicate_index")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO article (id, content_hash, title, summary, content, categories, "
                "first_seen) VALUES (1, 'h', 't', '', '', '[]', '2026-11-02 10:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO article_actor (article_id, name, type, sentiment, score) "
                "VALUES (1, 'Nordland', 'country', 'negative', -0.5)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO article_topic (article_id, code, label, score) "
                "VALUES (1, 'medtop:11000000', 'politics', 0.7)"
            )
        )
    upgrade(engine)
    store = SqlStore(engine)
    now = datetime(2026, 11, 3, tzinfo=UTC)
    report = insights.actor_report(store, "Nordland", now, days=2)
    assert [(p.start.day, p.articles) for p in report.series if p.articles] == [(2, 1)]
    assert insights.topics(store, now, days=2)[0].articles == 1
    engine.dispose()


# ------------------------------------------------------------------ the server, both databases


@pytest.fixture
def server(store: SqlStore, world: World, tmp_path: Path) -> Iterator[WebServer]:
    url = store.engine.url.render_as_string(hide_password=False)
    web = WebServer(url, tmp_path)
    yield web
    web.close()


def _routes(client: httpx.Client, world: World) -> list[str]:
    """Every GET route of the OpenAPI document, with real ids filled in."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    fill_in = {
        "{article_id}": str(world.article_ids[0]),
        "{story_id}": str(world.story_id),
        "{name}": "Nordland",
        "{code}": "medtop:16000000",
    }
    routes = []
    for path in paths:
        for key, value in fill_in.items():
            path = path.replace(key, value)
        routes.append(path)
    return [*routes, "/api/v1/openapi.json"]


def test_every_api_route_wants_the_token(server: WebServer, world: World) -> None:
    with server.client() as api:
        routes = _routes(api, world)
        assert len(routes) >= 12
        for route in routes:
            assert api.get(route).status_code == 200, route
    with server.client(token=None) as anonymous, server.client(token="wrong" * 8) as wrong:
        for route in routes:
            for client in (anonymous, wrong):
                response = client.get(route)
                assert response.status_code == 401, route
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert "Authorization: Bearer" in response.json()["error"]
        assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_api_numbers_are_the_use_cases(server: WebServer, store: SqlStore, world: World) -> None:
    with server.client() as api:
        actor = api.get("/api/v1/actors/Nordland", params={"days": 10}).json()
        overview = api.get("/api/v1/overview").json()
        articles = api.get("/api/v1/articles", params={"limit": 5}).json()
        story = api.get(f"/api/v1/stories/{world.story_id}").json()
        stories = api.get("/api/v1/stories").json()["stories"]
        digests = api.get("/api/v1/digests").json()
        feeds = api.get("/api/v1/feeds").json()["feeds"]
        topic = api.get("/api/v1/topics/medtop:16000000", params={"days": 7}).json()
    report = insights.actor_report(store, "Nordland", datetime.now(UTC), days=10)
    assert [p["articles"] for p in actor["series"]][-5:] == [p.articles for p in report.series][-5:]
    assert actor["total"]["articles"] == 7 and actor["total"]["negative"] == 4
    assert overview["articles"] == len(PLAN) and overview["movers"][0]["name"] == "Nordland"
    assert overview["failing_feeds"][0]["health"] == "failing"
    assert len(articles["articles"]) == 5 and articles["next_cursor"]
    rest = httpx.get(
        f"{server.base}/api/v1/articles",
        params={"cursor": articles["next_cursor"], "limit": 50},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert len(rest["articles"]) == len(PLAN) - 5 and rest["next_cursor"] is None
    assert story["articles"] == 3 and len(story["timeline"]) == 3
    assert world.story_id in {s["id"] for s in stories} and stories[0]["timeline"]
    assert digests == {"digests": []}
    assert {f["title"] for f in feeds} >= {"Outlet 1", "Broken Outlet"}
    assert topic["articles"] == 7 and topic["latest"][0]["topics"]


def test_bad_requests_get_a_sentence_not_a_trace(server: WebServer, world: World) -> None:
    with server.client() as api:
        for route, params, status in [
            ("/api/v1/articles", {"cursor": "garbage"}, 400),
            ("/api/v1/articles", {"limit": 100000}, 400),
            ("/api/v1/articles", {"since": "yesterday"}, 400),
            ("/api/v1/articles", {"q": "(broken"}, 400),
            ("/api/v1/actors/Nordland", {"bucket": "hour", "days": 90}, 400),
            ("/api/v1/overview", {"days": 5000}, 400),
            ("/api/v1/stories/999999", {}, 404),
            ("/api/v1/articles/999999", {}, 404),
            # what a fuzzer found: ids past INTEGER, NUL, dates that overflow in UTC, deep
            # nesting, hourly series too long, unknown routes
            ("/api/v1/articles/99999999999999999999", {}, 400),
            ("/api/v1/articles", {"feed": 2**40}, 400),
            ("/api/v1/actors/a%00b", {}, 400),
            ("/api/v1/articles", {"topic": "\x00"}, 400),
            ("/api/v1/articles", {"since": "0001-01-01T00:00:00+05:00"}, 400),
            ("/api/v1/articles", {"until": "9999-12-31T23:59:59-05:00"}, 400),
            ("/api/v1/articles", {"q": "(" * 300 + "a" + ")" * 300}, 400),
            ("/api/v1/articles", {"q": "NOT " * 120 + "a"}, 400),
            ("/api/v1/nothing-here", {}, 404),
        ]:
            response = api.get(route, params=params)
            assert response.status_code == status, (route, params, response.text)
            message = response.json()["error"]
            assert message and "Traceback" not in message
            if status == 404:
                assert "database" not in message


def test_security_headers_and_body_limit(server: WebServer) -> None:
    with server.client() as api:
        response = api.get("/api/v1/overview")
        page = httpx.get(f"{server.base}/login")
    for r in (response, page):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "script-src" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
    big = httpx.post(f"{server.base}/login", content=b"token=" + b"x" * 200_000)
    assert big.status_code == 413
    assert big.headers["content-security-policy"]


def test_dashboard_login_sets_a_safe_cookie(server: WebServer) -> None:
    with httpx.Client(base_url=server.base, follow_redirects=False) as browser:
        first = browser.get("/actors/Nordland")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=%2Factors%2FNordland"
        wrong = browser.post("/login", data={"token": "nope", "next": "/"})
        assert wrong.status_code == 401 and "not the server" in wrong.text
        assert "set-cookie" not in wrong.headers
        ok = browser.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = browser.get("/actors/Nordland")
        assert page.status_code == 200 and 'data-chart="sentiment"' in page.text
        # behind a TLS proxy the server trusts (loopback by default) the cookie is Secure
        proxied = browser.post(
            "/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"}
        )
        assert "secure" in proxied.headers["set-cookie"].lower()
        assert "secure" not in cookie
        forged = httpx.get(f"{server.base}/", cookies={"newsmon_session": "v1.9999999999.forged"})
        assert forged.status_code == 303


def test_pages_escape_what_feeds_wrote(server: WebServer) -> None:
    with httpx.Client(base_url=server.base) as browser:
        browser.post("/login", data={"token": TOKEN, "next": "/"})
        pages = [
            browser.get("/").text,
            browser.get("/actors/Sudmark").text,
            browser.get("/actors/Nordland").text,
            browser.get("/search", params={"q": "escaping"}).text,
        ]
    for html in pages:
        assert "<script" not in html.lower()
        assert "<img" not in html.lower()
    # titles are feed markup: stripped as digests strip them, script content and all
    assert "&amp; bold claims" in pages[3] and "alert(" not in pages[3]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2]


def _subscription_emails(store: SqlStore, name: str) -> tuple[str, ...]:
    with store.transaction() as repo:
        return repo.get_subscription(name).spec.emails


def test_one_click_unsubscribe(server: WebServer, store: SqlStore, world: World) -> None:
    token = make_token(SECRET, world.subscription_id, world.emails[0])
    url = f"{server.base}/unsubscribe/{token}"
    shown = httpx.get(url)  # what a mail scanner does: nothing may change
    assert shown.status_code == 200 and "Unsubscribe?" in shown.text
    assert _subscription_emails(store, "morning") == world.emails
    wrong_body = httpx.post(url, content=b"yes please")
    assert wrong_body.status_code == 400
    assert _subscription_emails(store, "morning") == world.emails
    one_click = {"content-type": "application/x-www-form-urlencoded"}
    # RFC 8058: the POST SHOULD be multipart/form-data (urlencoded is allowed too)
    multipart = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        b"One-Click\r\n"
        b"--b0undary--\r\n"
    )
    done = httpx.post(
        url, content=multipart, headers={"content-type": "multipart/form-data; boundary=b0undary"}
    )
    assert done.status_code == 200 and "will no longer receive" in done.text
    assert _subscription_emails(store, "morning") == world.emails[1:]
    again = httpx.post(url, content=b"List-Unsubscribe=One-Click", headers=one_click)
    assert again.status_code == 200 and "already unsubscribed" in again.text
    assert _subscription_emails(store, "morning") == world.emails[1:]
    forged = make_token("another-secret-of-enough-length", world.subscription_id, world.emails[1])
    for bad in (forged, "v1.1.garbage.garbage", "nonsense", "v1.%C2%B2.QQ.QQ", "v1.%D9%A1.QQ.QQ"):
        response = httpx.post(
            f"{server.base}/unsubscribe/{bad}",
            content=b"List-Unsubscribe=One-Click",
            headers=one_click,
        )
        assert response.status_code == 400, bad
        assert httpx.get(f"{server.base}/unsubscribe/{bad}").status_code == 400
    assert _subscription_emails(store, "morning") == world.emails[1:]
    # the last recipient: the subscription is paused with nobody left; once an admin
    # removes it, its links keep answering calmly
    last = make_token(SECRET, world.subscription_id, world.emails[1])
    gone = httpx.post(
        f"{server.base}/unsubscribe/{last}",
        content=b"List-Unsubscribe=One-Click",
        headers=one_click,
    )
    assert gone.status_code == 200 and "will no longer receive" in gone.text
    with store.transaction() as repo:
        paused = repo.get_subscription("morning")
        assert paused.paused and paused.spec.emails == ()
        repo.remove_subscription("morning")
    again = httpx.post(
        f"{server.base}/unsubscribe/{last}",
        content=b"List-Unsubscribe=One-Click",
        headers=one_click,
    )
    assert again.status_code == 200 and "no longer exists" in again.text


# ------------------------------------------------------------------ the command


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [NEWSMON, "web", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_web_refuses_what_it_cannot_serve_safely(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    base = {"NEWSMON_DATABASE_URL": sqlite_url, "HOME": str(tmp_path), "NEWSMON_WEB_TOKEN": ""}
    exposed = _run(base, "--host", "0.0.0.0")
    assert exposed.returncode == 1 and "without NEWSMON_WEB_TOKEN" in exposed.stderr
    short = _run({**base, "NEWSMON_WEB_TOKEN": "short"}, "--host", "0.0.0.0")
    assert short.returncode == 1 and "shorter than 16" in short.stderr
    missing = _run({**base, "NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"})
    assert missing.returncode == 1 and "no database file" in missing.stderr


def test_unsubscribe_without_a_secret(sqlite_url: str, tmp_path: Path) -> None:
    """A server without NEWSMON_UNSUBSCRIBE_SECRET cannot check links: a malformed token is
    still a 400, a well-formed one a 503 page that says why (nothing changes either way)."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    web = WebServer(sqlite_url, tmp_path, token=None, secret=None)
    try:
        body = {"data": {"List-Unsubscribe": "One-Click"}}
        assert httpx.post(f"{web.base}/unsubscribe/nonsense", **body).status_code == 400
        assert httpx.get(f"{web.base}/unsubscribe/nonsense").status_code == 400
        well_formed = make_token(SECRET, 1, "ana@example.org")
        refused = httpx.post(f"{web.base}/unsubscribe/{well_formed}", **body)
        assert refused.status_code == 503 and "no signing secret" in refused.text
    finally:
        web.close()


def test_web_reports_a_taken_port(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    web = WebServer(sqlite_url, tmp_path, token=None)
    try:
        taken = _run(
            {"NEWSMON_DATABASE_URL": sqlite_url, "HOME": str(tmp_path)}, "--port", str(web.port)
        )
        assert taken.returncode == 1 and "cannot listen on" in taken.stderr
        # with no token, the server is open on loopback: the API answers without one
        with web.client(token=None) as api:
            assert api.get("/api/v1/overview").status_code == 200
    finally:
        web.close()


def test_a_dead_database_is_a_503_with_a_sentence(
    private_postgres: PostgresServer, tmp_path: Path
) -> None:
    engine = make_engine(private_postgres.url)
    upgrade(engine)
    engine.dispose()
    web = WebServer(private_postgres.url, tmp_path)
    try:
        private_postgres.stop()
        with web.client() as api:
            response = api.get("/api/v1/overview")
            health = api.get("/healthz")
        assert response.status_code == 503
        assert "database is unavailable" in response.json()["error"]
        assert health.status_code == 503
        private_postgres.start()
        with web.client() as api:  # and it recovers without a restart
            assert api.get("/api/v1/overview").status_code == 200
    finally:
        web.close()
