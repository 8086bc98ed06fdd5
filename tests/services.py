"""Private Redis and PostgreSQL servers that a fault-injection test may kill and restart.

The shared servers other test sessions use are never touched: each fixture starts its own
``redis-server`` or PostgreSQL cluster on a free loopback port in a temporary directory,
and removes it afterwards. PostgreSQL refuses to run as root, so when the tests run as root
the cluster belongs to the ``postgres`` account and its commands run as that user.

    private_redis     a :class:`RedisServer`: ``url(db)``, ``restart()``, ``kill()``, ``start()``
    private_postgres  a :class:`PostgresServer`: ``url``, ``restart(fast=...)``,
                      ``kill_connections()``, ``crash()``
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.smtpserver import free_port

PG_BIN = Path(os.environ.get("NEWSMON_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def _stop(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float = 30.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RedisServer:
    """A ``redis-server``; ``persistent``: an append-only file synced on every write (the
    deployment's setting), else nothing survives a restart."""

    def __init__(self, directory: Path, *, persistent: bool = True) -> None:
        self.port = free_port()
        self.directory = directory
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)

    def restart(self, down_for: float = 0.0) -> None:
        self.kill()
        time.sleep(down_for)
        self.start()


def _pg_user() -> tuple[list[str], int | None, int | None]:
    """How to run PostgreSQL's programs: as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return [], None, None
    account = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], account.pw_uid, account.pw_gid


class PostgresServer:
    """A throw-away PostgreSQL cluster (fsync off: its data need not survive the machine)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.prefix, uid, gid = _pg_user()
        if uid is not None and gid is not None:
            os.chown(directory, uid, gid)
        subprocess.run(
            [
                *self.prefix,
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *self.prefix,
                str(PG_BIN / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
                "-c",
                "full_page_writes=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)
        self._psql("SELECT 1", retries=100)

    def _psql(self, sql: str, *, retries: int = 1) -> str:
        for attempt in range(retries):
            done = subprocess.run(
                [
                    str(PG_BIN / "psql") if (PG_BIN / "psql").exists() else "psql",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-At",
                    "-c",
                    sql,
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode == 0:
                return done.stdout
            if attempt + 1 < retries:
                time.sleep(0.1)
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")

    def kill_connections(self) -> int:
        """Terminate every client backend (what a failover or an admin's kill does)."""
        out = self._psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return int(out.strip() or 0)

    def stop(self, *, fast: bool = True) -> None:
        # SIGINT: fast shutdown (clients cut off); SIGQUIT: immediate, like a crash.
        if self.proc is None or self.proc.poll() is not None:
            return
        sig = signal.SIGINT if fast else signal.SIGQUIT
        # The postmaster runs as postgres under runuser: signal it through its pid file.
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, sig)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.proc.wait()

    def restart(self, *, fast: bool = True, down_for: float = 0.0) -> None:
        self.stop(fast=fast)
        time.sleep(down_for)
        self.start()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A Redis server of this test's own, which it may kill and restart."""
    directory = Path(tempfile.mkdtemp(prefix="newsmon-redis-"))
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test's own, which it may restart or cut off."""
    directory = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    directory.chmod(0o755)
    server = PostgresServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop(fast=False)
        shutil.rmtree(directory, ignore_errors=True)
