"""The ASGI application: the API, the dashboard, unsubscribe, and what wraps them all.

:func:`create_app` takes a ready :class:`worker.web.context.WebContext`; `newsmon web`
(:mod:`worker.cli.web`) builds one from the settings and serves the app with uvicorn.

Around every request, outermost first:

* **Body limit**: a request body over ``NEWSMON_WEB_MAX_BODY_BYTES`` gets 413 before any
  handler reads it (by its ``Content-Length``, or by counting a chunked body).
* **Security headers** (:data:`worker.web.security.SECURITY_HEADERS`) on every response.
* **Errors**: our exceptions become a status and one sentence (JSON under ``/api/``, a
  page elsewhere): bad input 400, unknown ids 404, a database that is down or too slow
  503. Nothing else of an exception reaches the client.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.errors import ConfigError, InvalidInput, NewsmonError, NotFound, StorageError
from worker.web import api, pages
from worker.web.context import LoginRequired, WebContext
from worker.web.security import SECURITY_HEADERS

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("newsmon.web")


def create_app(ctx: WebContext, *, max_body_bytes: int = 64 * 1024) -> FastAPI:
    app = FastAPI(
        title="newsmon",
        version="1",
        summary="Media monitoring: articles, stories, actors and their sentiment, topics.",
        # The interactive docs load scripts from a CDN and run inline code: not here.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by api.openapi, behind the token
    )
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            with ctx.store.transaction() as repo:
                repo.count_tombstones()  # any cheap read: is the database there?
        except StorageError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.add_exception_handler(NewsmonError, _newsmon_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    _document(app)
    return app


def _document(app: FastAPI) -> None:
    """The OpenAPI document lists the API's routes and says how to authenticate."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
            _document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


_ERRORS = {
    "400": "a bad parameter, cursor or query",
    "401": "no token, or not the server's",
    "503": "the database is down or a statement ran past NEWSMON_WEB_QUERY_TIMEOUT",
}


def _document_errors(schema: dict[str, Any]) -> None:
    """What the API really answers when it refuses: ``{"error": ...}`` with 400 (where
    FastAPI would have documented its 422), 401, 404 for a path with an id, and 503."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            wanted = dict(_ERRORS)
            if "{" in path:
                wanted["404"] = "nothing has this id or name"
            for code, description in wanted.items():
                responses[code] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _status(exc: NewsmonError) -> int:
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StorageError | ConfigError):
        return 503
    return 500


def _message(exc: NewsmonError) -> str:
    if isinstance(exc, StorageError) and not isinstance(exc, NotFound):
        # The driver's text may name hosts and statements: it goes to the log only.
        return "the database is unavailable or did not answer in time; try again shortly"
    return str(exc)


async def _newsmon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NewsmonError)
    status, message = _status(exc), _message(exc)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return pages.error_page(request, status, message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if request.url.path.startswith("/api/") or exc.status_code == 401:
        return JSONResponse(
            {"error": message}, status_code=exc.status_code, headers=exc.headers or None
        )
    return pages.error_page(request, exc.status_code, message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}" for e in exc.errors()
    )
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": problems}, status_code=400)
    return pages.error_page(request, 400, problems)


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(pages.login_url(target), status_code=303)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                message["headers"] = headers + list(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            {"error": f"request body over {self.max_bytes} bytes"}, status_code=413
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [*response.raw_headers, *SECURITY_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
