"""``newsmon web``: the dashboard, the JSON API and the unsubscribe endpoint (docs/WEB.md)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from feeds.errors import ConfigError
from worker.cli.output import err_console

__all__ = ["web"]

MIN_TOKEN_LENGTH = 16


def web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Reverse proxies whose X-Forwarded-Proto/-For are believed (comma-separated "
            "addresses, or '*'): behind a TLS proxy the session cookie is then Secure."
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve the dashboard and the JSON API (/api/v1) from the configured database."""
    # Imported here: the web stack is only paid for by the command that serves it.
    import uvicorn

    from worker import bootstrap
    from worker.web.app import create_app
    from worker.web.context import WebContext
    from worker.web.security import check_bind

    settings = bootstrap.current_settings()
    token = settings.web_token.get_secret_value().strip() if settings.web_token else None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"NEWSMON_WEB_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters; use a long "
            "random value (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    check_bind(host, token or None)
    _check_port(host, port)
    c = bootstrap.build_container(
        settings, create=False, statement_timeout=settings.web_query_timeout
    )
    ctx = WebContext(
        store=c.store,
        clock=c.pipeline.clock,
        token=token or None,
        seed_actors=tuple(bootstrap.seed_actors(settings)),
        digests=c.pipeline.digests(),
    )
    app = create_app(ctx, max_body_bytes=settings.web_max_body_bytes)
    shown = f"[{host}]" if ":" in host else host
    auth = "token required" if token else "no token: loopback only"
    err_console.print(f"newsmon web on http://{shown}:{port}/ ({auth})", markup=False)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=5,
        limit_concurrency=100,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line, before anything starts, when the port cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                "is another server using it? choose another --port"
            ) from None
