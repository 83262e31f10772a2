"""The FastAPI application factory."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from backend import __version__
from backend.config import ServerSettings
from backend.db import Database
from backend.deps import StateDep
from backend.routes import audit, auth, consults, persistence, signal, store_forward, teaching, users
from backend.routes.study_links import router as study_links_router
from backend.schemas import HealthOut
from backend.security import FailureLimiter
from backend.state import AppState

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"

health_router = APIRouter(tags=["health"])


@health_router.get("/health", response_model=HealthOut)
def health(state: StateDep) -> HealthOut:
    return HealthOut.model_validate({"status": "ok", "version": __version__, "database": state.db.backend})


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback here; the client gets a generic body, never the trace.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def create_app(settings: ServerSettings, *, database: Database | None = None) -> FastAPI:
    """Build the app. The database must already be migrated (backend.migrate.prepare)."""
    db = database if database is not None else Database(settings.database_url)
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
    for router in (
        health_router,
        auth.router,
        users.router,
        consults.router,
        store_forward.router,
        teaching.router,
        study_links_router,
        persistence.router,
        audit.router,
        signal.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.add_exception_handler(Exception, _unhandled)
    return app
