"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import __version__
from backend import audit as audit_chain
from backend.config import ServerSettings
from backend.db import Database
from backend.deps import StateDep
from backend.ratelog import RateLimitedLog
from backend.routes import (
    audit,
    auth,
    consults,
    persistence,
    pki,
    reports,
    signal,
    store_forward,
    teaching,
    users,
)
from backend.routes.study_links import router as study_links_router
from backend.schemas import HealthOut
from backend.security import FailureLimiter
from backend.state import AppState

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"

# Request bodies: a small default, more where files are uploaded. Enforced before the body is read.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
AUTH_MAX_BODY_BYTES = 16 * 1024
PHOTO_MAX_BODY_BYTES = 5 * 1024 * 1024 + 64 * 1024
# A signed report: the PDF (the CJK font embedded), and at co-signing the DICOM SR, KOS and FHIR bundle,
# base64 in JSON (backend/schemas.py bounds each file at 16 MiB).
REPORT_MAX_BODY_BYTES = 48 * 1024 * 1024
BODY_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"^{API_PREFIX}/auth/"), AUTH_MAX_BODY_BYTES),
    (re.compile(rf"^{API_PREFIX}/consults/[^/]+/photos/?$"), PHOTO_MAX_BODY_BYTES),
    (re.compile(rf"^{API_PREFIX}/reports/[^/]+/(sign|cosign)/?$"), REPORT_MAX_BODY_BYTES),
)
MAX_JSON_DEPTH = 32


def body_limit(path: str) -> int:
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return DEFAULT_MAX_BODY_BYTES


bad_input_log = RateLimitedLog(log)


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why a parsed JSON value is refused (too deep, a lone surrogate), or None."""
    if depth > MAX_JSON_DEPTH:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "invalid Unicode (lone surrogate) in JSON"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = json_problem(key, depth + 1) or json_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = json_problem(item, depth + 1)
            if problem:
                return problem
    return None


def check_json(raw: bytes | str) -> str | None:
    """Why a JSON document is refused (not UTF-8, not JSON, too deep, lone surrogate), or None."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "body is not valid UTF-8"
    try:
        value = json.loads(raw)
    except RecursionError:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    except ValueError:
        return None  # FastAPI answers malformed JSON with its own 422
    return json_problem(value)


class BodyLimitMiddleware:
    """Refuses a body over the route's limit with 413 before reading it (Content-Length), or as soon as
    the streamed chunks pass it; refuses a JSON body that is too deep or holds a lone surrogate with 400.
    Pure ASGI: nothing is buffered beyond the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = body_limit(path)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        client = (scope.get("client") or ("unknown",))[0]
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                bad_input_log.warning("refused a body over %d bytes on %s from %s", limit, path, client)
                await _reply(send, 413, f"request body larger than {limit} bytes")
                return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        chunks: list[bytes] = []
        size = 0
        more = True
        # A JSON body is read here (bounded) so it can be checked, then replayed to the app.
        while is_json and more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                bad_input_log.warning("refused a body over %d bytes on %s from %s", limit, path, client)
                await _reply(send, 413, f"request body larger than {limit} bytes")
                return
            chunks.append(body)
            more = message.get("more_body", False)
        if is_json:
            raw = b"".join(chunks)
            problem = check_json(raw) if raw else None
            if problem:
                bad_input_log.warning("refused a JSON body on %s from %s: %s", path, client, problem)
                await _reply(send, 400, problem)
                return
            replayed: Message = {"type": "http.request", "body": raw, "more_body": False}
            await self.app(scope, _replay([replayed], receive), send)
            return
        counting = _Counting(receive, send, limit, path, client)
        await self.app(scope, counting.receive, counting.send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class _Counting:
    """Counts the streamed chunks of a body without Content-Length; past the limit it answers 413 itself,
    tells the app the client left, and drops whatever the app sends after that."""

    def __init__(self, receive: Receive, send: Send, limit: int, path: str, client: str) -> None:
        self._receive, self._send = receive, send
        self.limit, self.path, self.client = limit, path, client
        self.size = 0
        self.refused = False
        self.started = False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                self.refused = True
                bad_input_log.warning(
                    "refused a body over %d bytes on %s from %s", self.limit, self.path, self.client
                )
                if not self.started:
                    await _reply(self._send, 413, f"request body larger than {self.limit} bytes")
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        self.started = True
        await self._send(message)


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


health_router = APIRouter(tags=["health"])
HEALTH_TIMEOUT_S = 2.0  # a dependency slower than this counts as down
HEALTH_CACHE_S = 1.0  # however often load balancers poll, each dependency is queried at most this often
health_log = RateLimitedLog(log)


class DependencyProbe:
    """One dependency's health for GET /health: ``check`` (raises when the dependency fails) runs on a
    thread of its own, at most one at a time and at most once per ``cache_s``; no answer within
    ``timeout_s`` counts as a failure. A hung dependency therefore ties up one thread, not one per poll.
    The reason reported is generic: the exception (which may name hosts) goes to the server's log only."""

    def __init__(
        self,
        name: str,
        check: Callable[[], None],
        timeout_s: float = HEALTH_TIMEOUT_S,
        cache_s: float = HEALTH_CACHE_S,
    ) -> None:
        self.name, self.check, self.timeout_s, self.cache_s = name, check, timeout_s, cache_s
        self._lock = threading.Lock()
        self._running: Future[str | None] | None = None
        self._last: tuple[float, str | None] | None = None

    def _run(self, future: Future[str | None]) -> None:
        reason: str | None = None
        try:
            self.check()
        except Exception as exc:  # any failure of the dependency: reported, never raised
            health_log.warning("health: %s failed: %s: %s", self.name, type(exc).__name__, exc)
            reason = "not reachable"
        with self._lock:
            self._last = (time.monotonic(), reason)
        future.set_result(reason)

    def _start(self) -> Future[str | None]:
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.cache_s:
                cached: Future[str | None] = Future()
                cached.set_result(self._last[1])
                return cached
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(
                    target=self._run, args=(self._running,), name=f"health-{self.name}", daemon=True
                ).start()
            return self._running

    async def failure(self) -> str | None:
        """None when the dependency answered, else why not."""
        future = asyncio.wrap_future(self._start())
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError:
            return f"no answer within {self.timeout_s:g} s"


def health_probes(state: AppState) -> list[DependencyProbe]:
    """What the service needs in order to answer requests; GET /health queries each.

    Redis: there is no Redis setting yet. When ServerSettings gains one (e.g. ``redis_url``), append
    ``DependencyProbe("redis", client.ping)`` here when it is set; /health then reports it as well."""
    return [DependencyProbe("database", state.db.ping)]


class HealthFailOut(BaseModel):
    status: Literal["unavailable"]
    version: str
    database: Literal["sqlite", "postgresql"]
    failed: dict[str, str]  # dependency name -> why (no hosts, no connection strings)


@health_router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthFailOut, "description": "a dependency (the database) does not answer"}},
)
async def health(request: Request, state: StateDep) -> HealthOut | JSONResponse:
    """Unauthenticated and cheap (load balancers poll it): 200 when every dependency answers, else 503
    naming the ones that did not."""
    probes: list[DependencyProbe] = request.app.state.health_probes
    reasons = await asyncio.gather(*(probe.failure() for probe in probes))
    failed = {probe.name: reason for probe, reason in zip(probes, reasons, strict=True) if reason is not None}
    if failed:
        body = HealthFailOut.model_validate(
            {"status": "unavailable", "version": __version__, "database": state.db.backend, "failed": failed}
        )
        return JSONResponse(body.model_dump(), status_code=503, headers={"Cache-Control": "no-store"})
    return HealthOut.model_validate({"status": "ok", "version": __version__, "database": state.db.backend})


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback here; the client gets a generic body, never the trace.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


_STATUS_TEXT = {
    400: "the body is not valid UTF-8, holds a lone surrogate, or its JSON is nested too deep",
    401: "missing, invalid or expired access token",
    403: "the signed-in user's role may not do this",
    404: "no such resource",
    413: "request body larger than the route's limit",
    422: "validation error",
    429: "too many attempts; retry after the Retry-After header's seconds",
}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _calls(dependant: Dependant) -> list[Any]:
    found: list[Any] = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(_calls(sub))
    return found


def route_statuses(route: APIRoute) -> set[int]:
    """The error statuses a route can answer, from its dependencies, parameters and methods."""
    from backend import deps

    calls = _calls(route.dependant)
    found: set[int] = set()
    if deps._current_user in calls:
        found.add(401)
    if any(getattr(call, "__qualname__", "").startswith("require_roles.") for call in calls):
        found.add(403)
    if route.dependant.path_params:
        found.update((404, 422))
    if route.dependant.query_params or route.dependant.body_params:
        found.add(422)
    if (route.methods or set()) & _BODY_METHODS:
        found.update((400, 413, 422) if route.dependant.body_params else (413,))
    return found


def _document_statuses(app: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """Every route's OpenAPI operation lists the error statuses it can answer (route_statuses)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault(
            "ErrorOut",
            {"title": "ErrorOut", "type": "object", "properties": {"detail": {"title": "Detail"}},
             "required": ["detail"]},
        )  # fmt: skip
        # The routers' own routes (app.routes wraps included routers in FastAPI's private types).
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            path = schema.get("paths", {}).get(API_PREFIX + route.path_format, {})
            for method in route.methods or ():
                operation = path.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for code in sorted(route_statuses(route) | {int(c) for c in responses if str(c).isdigit()}):
                    entry = responses.setdefault(str(code), {})
                    if code >= 400 and code in _STATUS_TEXT:
                        entry.setdefault("description", _STATUS_TEXT[code])
                        if code != 422:
                            entry.setdefault(
                                "content",
                                {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                            )
                operation["responses"] = dict(sorted(responses.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: ServerSettings, *, database: Database | None = None) -> FastAPI:
    """Build the app. The database must already be migrated (backend.migrate.prepare)."""
    db = database if database is not None else Database(settings.database_url)
    audit_chain.configure_from_settings(db.engine, settings)  # the chain's key and checkpoints
    app = FastAPI(
        title="Teleconsult backend",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.backend = AppState(
        settings=settings, db=db, limiter=FailureLimiter(settings.login_failure_window_seconds)
    )
    app.state.health_probes = health_probes(app.state.backend)
    routers = (
        health_router,
        auth.router,
        users.router,
        consults.router,
        store_forward.router,
        teaching.router,
        study_links_router,
        persistence.router,
        reports.router,
        pki.router,
        audit.router,
        signal.router,
    )
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    app.add_exception_handler(Exception, _unhandled)
    app.add_middleware(BodyLimitMiddleware)
    _document_statuses(app, routers)
    return app
